"""The request probe sets (evals/data/request_probes): they parse, have the counts issue 20 asks for, share
no request with each other, and name only TMDB keywords and genres that exist (when TMDB 5000 is present)."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter

import pytest
from pydantic import ValidationError

from recagent.evals.request_probes import RequestProbe, load_set
from recagent.retrieval.loaders import BUNDLED_CATALOG
from tests.support.data import SHARED_DATA, shared_dataset


@pytest.fixture(scope="module")
def sets():
    return {name: load_set(name) for name in ("dev", "dev2", "test", "followups-dev", "followups")}


def test_test_set_has_the_counts_issue_20_asks_for(sets):
    test = sets["test"]
    kinds = Counter(p.kind for p in test.requests)
    assert len(test.requests) >= 60 and len(test.critiques) >= 20
    assert kinds["genre"] >= 15 and kinds["topic"] >= 25 and kinds["mood"] >= 12
    assert len({g for p in test.requests if p.kind == "genre" for g in p.genres}) >= 15
    assert sum(p.years is not None for p in test.requests) >= 5
    assert {c.attribute for c in test.critiques} >= {"violence", "humor", "darkness", "scariness", "family", "recency"}
    assert {c.direction for c in test.critiques} == {-1, 1}


def test_dev_set_holds_the_issue_examples(sets):
    dev = sets["dev"]
    assert 20 <= len(dev.requests) <= 30 and len(dev.critiques) == 8
    texts = {p.text for p in dev.requests}
    assert {"Animation movies from the 1990s", "Action movies from the 2000s", "a classic film noir"} <= texts
    assert "something like Heat but less violent, from the 90s" in {c.wish for c in dev.critiques}


def test_no_two_sets_share_a_request(sets):
    names = sorted(sets)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not sets[a].texts() & sets[b].texts(), (a, b)
            assert not {p.id for p in sets[a].requests} & {p.id for p in sets[b].requests}, (a, b)


def test_dev2_has_enough_topic_requests_to_tune_on_and_none_of_tests_topics(sets):
    """dev2 tunes topic ordering: no request of it shares a content word with a test request."""
    kinds = Counter(p.kind for p in sets["dev2"].requests)
    assert kinds["topic"] >= 30
    generic = set("a an the to for movie movies film films about with i want please something good some any got set in on and story".split())
    content = lambda text: set(re.findall(r"[a-z]+", text.lower())) - generic  # noqa: E731
    test_words = set().union(*(content(p.text) for p in sets["test"].requests))
    shared = {p.id: content(p.text) & test_words for p in sets["dev2"].requests}
    assert not any(shared.values()), {k: v for k, v in shared.items() if v}


def test_catalog_genres_exist(sets):
    with open(BUNDLED_CATALOG / "movies.csv", newline="", encoding="utf-8") as f:
        vocab = {g for r in csv.DictReader(f) for g in r["genres"].split("|")}
    for s in sets.values():
        assert all(set(p.genres) <= vocab for p in s.requests), [p.id for p in s.requests if set(p.genres) - vocab]


def test_tmdb_keywords_and_genres_exist(sets):
    shared_dataset("tmdb-5000")
    keywords, genres = set(), set()
    with open(SHARED_DATA / "tmdb-5000" / "tmdb_5000_movies.csv", newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            keywords |= {k["name"].lower() for k in json.loads(r["keywords"] or "[]")}
            genres |= {g["name"] for g in json.loads(r["genres"] or "[]")}
    for s in sets.values():
        for p in s.requests:
            assert set(p.keywords) <= keywords, (p.id, set(p.keywords) - keywords)
            assert set(p.tmdb_genres) | set(p.exclude_tmdb_genres) <= genres, p.id


def test_a_probe_must_name_an_oracle_its_kind_can_use():
    with pytest.raises(ValidationError):
        RequestProbe(id="x", kind="topic", text="a prison movie", genres=["Drama"])  # no TMDB oracle
    with pytest.raises(ValidationError):
        RequestProbe(id="x", kind="genre", text="a comedy", genres=["Comedy"], keywords=["comedy"])


def test_followups_are_conversations_judged_after_the_last_turn(sets):
    fu = sets["followups"]
    assert len(fu.requests) >= 24 and all(p.before for p in fu.requests) and not fu.critiques
    assert sum(len(p.before) > 1 for p in fu.requests) >= 1
    assert sum(p.years is not None for p in fu.requests) >= 8 and sum(bool(p.genres) for p in fu.requests) >= 10


def test_the_follow_up_tuning_set_shares_no_topic_with_the_frozen_one(sets):
    first = lambda s: {p.before[0].lower() for p in s.requests}  # noqa: E731
    keywords = lambda s: {k for p in s.requests for k in p.keywords}  # noqa: E731
    assert not first(sets["followups-dev"]) & first(sets["followups"])
    assert keywords(sets["followups-dev"]) & keywords(sets["followups"]) == {"detective"}  # a cop, a detective
