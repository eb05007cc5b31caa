"""Critique probes (evals/probes.py): the probe file, the TMDB judges, and a run of two probes through
the product path on the slice; skipped without ../shared/data/tmdb-5000."""

from __future__ import annotations

import json

import pytest

from recagent.evals.probes import PROBES, Probe, judge, list_score, load_probes, load_tmdb, run, score_probe
from tests.support.data import SHARED_DATA, shared_dataset


@pytest.fixture(scope="module")
def tmdb():
    shared_dataset("tmdb-5000")
    return load_tmdb(SHARED_DATA)


def test_probe_file_has_twenty_pairs_over_every_attribute():
    probes = load_probes(PROBES).probes
    assert len(probes) >= 20 and len({p.id for p in probes}) == len(probes)
    assert {"violence", "darkness", "humor", "scariness", "family", "recency", "popularity"} <= {
        p.attribute for p in probes
    }
    assert any(p.attribute.startswith("topic:") for p in probes)
    assert all(p.base != p.wish for p in probes)


def test_judges_read_tmdb_through_links(tmdb):
    toy_story, heat, shining = tmdb["1"], tmdb["1036"], tmdb["1258"]  # MovieLens ids (1036: Die Hard)
    assert toy_story.title == "Toy Story" and heat.title == "Die Hard" and "6" not in tmdb  # Heat: not in TMDB 5000
    assert judge(toy_story, "family") > judge(heat, "family")
    assert judge(heat, "violence") > judge(toy_story, "violence")
    assert judge(shining, "scariness") > judge(heat, "scariness")
    assert judge(heat, "recency") == 1988
    assert list_score(["1", "1036", "6"], tmdb, "recency") == ((1995 + 1988) / 2, 2)


def test_moved_follows_the_direction(tmdb):
    probe = Probe(id="p", base="b", wish="w", attribute="family", direction=1)
    ids = lambda n: [i for i in ("1", "1036", "1258", "2", "3") if i in tmdb][:n]  # noqa: E731
    moved = score_probe(probe, "chat", ["1036", "1258", "1036"], ["1", "1", "1"], tmdb, str)
    assert moved.moved is True and moved.overlap == 0
    same = score_probe(probe, "chat", ids(3), ids(3), tmdb, str)
    assert same.moved is False  # an unchanged list did not move
    few = score_probe(probe, "chat", ["1"], ["1"], tmdb, str)
    assert few.moved is None  # unjudged: too few movies TMDB knows


def test_run_two_probes_through_the_chat(tmdb, settings, tmp_path):
    summary, files = run(settings.model_copy(update={"shared_data": SHARED_DATA}), tmp_path, PROBES, limit=2,
                         show_progress=False)  # fmt: skip
    cases = [json.loads(line) for line in files["cases"].read_text().splitlines()]
    assert len(cases) == 4 and {c["system"] for c in cases} == {"chat", "recommend"}
    assert all(len(c["base_ids"]) == 10 and len(c["wish_ids"]) == 10 for c in cases)
    assert summary["chat"]["probes"] == 2 and "violence" in summary["chat"]["attributes"]
    assert "| system | probes |" in files["report"].read_text()
