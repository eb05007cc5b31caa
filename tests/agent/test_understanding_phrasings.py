"""The hand-written phrasings set (evals/data/understanding/phrasings.jsonl) is valid, covers what issue 19
asks for, and is disjoint from the ReDial sets.

Fast: every row parses against a strict pydantic model of the schema (the ReDial label schema plus
``group``, ``previous_list`` and ``references``), ids are unique, genres, stances and critiques are in their
vocabularies, every ``ml_id`` is a movie of the bundled catalog with that exact title, the coverage counts
meet the issue's minimums, and no id or text is shared with labels.jsonl or heldout.jsonl.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, model_validator

from recagent.agent.vocabulary import Stance

from .test_understanding_labels import SET_DIR, Critique, Genre, Hard, Soft

CATALOG = Path(__file__).resolve().parents[2] / "retrieval" / "data" / "ml-latest-small" / "movies.csv"
GROUPS = ("years", "genres", "combos", "negation", "negatives", "critiques", "style", "followups")


class Mention(BaseModel):
    model_config = ConfigDict(extra="forbid")
    redial_id: None
    title: str = Field(pattern=r"\(\d{4}\)$")
    ml_id: str = Field(pattern=r"^\d+$")
    stance: Stance


class Shown(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    ml_id: str = Field(pattern=r"^\d+$")


class Reference(BaseModel):
    model_config = ConfigDict(extra="forbid")
    position: int = Field(ge=-1)
    stance: Stance
    more_like: bool


class Phrasing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^ph:[a-z]+:\d{3}$")
    split: Literal["phrasings"]
    group: Literal[GROUPS]  # type: ignore[valid-type]
    context: list[str]
    previous_list: list[Shown]
    text: str = Field(min_length=1)
    hard: Hard
    soft: Soft
    mentions: list[Mention]
    critiques: list[Critique]
    topics: list[str]
    people: list[str]
    references: list[Reference]
    notes: str | None

    @model_validator(mode="after")
    def _consistent(self) -> Phrasing:
        assert self.id.split(":")[1] == self.group
        assert all(c.startswith(("SEEKER: ", "RECOMMENDER: ")) for c in self.context)
        assert bool(self.previous_list) == bool(self.context), "a follow-up has its turns and the list shown"
        assert all(len(self.previous_list) >= r.position for r in self.references)
        assert self.people == [p.lower() for p in self.people] and self.topics == [t.lower() for t in self.topics]
        assert not set(self.hard.genres) & set(self.hard.exclude_genres)
        return self


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text.lower()).split())


def _has_hard(row: Phrasing) -> bool:
    h = row.hard
    return bool(h.genres or h.exclude_genres or h.year_min is not None or h.year_max is not None)


@pytest.fixture(scope="module")
def rows() -> list[Phrasing]:
    with open(SET_DIR / "phrasings.jsonl", encoding="utf-8") as f:
        return [Phrasing.model_validate_json(line) for line in f if line.strip()]


def test_the_set_parses_with_unique_ids_and_texts(rows):
    assert len(rows) >= 400
    assert len({r.id for r in rows}) == len(rows), "duplicate ids"
    texts = [(r.text, tuple(r.context)) for r in rows]  # "ONLY COMEDIES" is a phrasing of its own
    assert len(set(texts)) == len(texts), "the same message twice in the same context"
    assert set(Genre.__args__) >= {g for r in rows for g in r.hard.genres + r.soft.liked_genres}


def test_every_title_is_a_catalog_movie_with_that_title(rows):
    with CATALOG.open(encoding="utf-8") as f:
        titles = {r["movieId"]: r["title"] for r in csv.DictReader(f)}
    for r in rows:
        for m in [*r.mentions, *r.previous_list]:
            assert titles.get(m.ml_id) == m.title, (r.id, m.ml_id, m.title)


def test_coverage_meets_the_issue_minimums(rows):
    years = [r for r in rows if r.hard.year_min is not None or r.hard.year_max is not None]
    only = [r for r in rows if r.hard.genres]
    excluded = [r for r in rows if r.hard.exclude_genres]
    combos = [r for r in years if r.hard.genres or r.hard.exclude_genres or r.soft.liked_genres]
    follow = [r for r in rows if r.previous_list]
    assert sum(not _has_hard(r) for r in rows) >= 100, "negatives: messages with no hard constraint"
    assert len(years) >= 100 and sum(r.hard.year_min is not None for r in years) >= 40
    assert sum(r.hard.year_max is not None for r in years) >= 40
    assert len(only) >= 30 and len(excluded) >= 40 and len(combos) >= 15
    assert len(follow) >= 50 and sum(bool(r.references) for r in follow) >= 20
    assert sum(bool(r.critiques) for r in rows) >= 50 and sum(bool(r.mentions) for r in rows) >= 30
    assert sum(r.group == "negation" for r in rows) >= 25 and sum(r.group == "style" for r in rows) >= 40


def test_the_issue_examples_are_in_the_set(rows):
    by_text = {r.text: r for r in rows}
    expect = {
        "nothing released after 2010": (None, 2010),
        "movies that came out after 2015 only": (2016, None),
        "it has to be from the nineties": (1990, 1999),
        "Nothing from before the 2000s": (2000, None),
        "Only 90s comedies": (1990, 1999),
        "comedies from 2000 onwards only": (2000, None),
        "a thriller, but it must be from the 70s": (1970, 1979),
        "the 90s had great action movies": (None, None),
    }
    for text, (lo, hi) in expect.items():
        assert (by_text[text].hard.year_min, by_text[text].hard.year_max) == (lo, hi), text
    assert by_text["Only 90s comedies"].hard.genres == ["Comedy"]
    assert by_text["a thriller, but it must be from the 70s"].soft.liked_genres == ["Thriller"]
    assert by_text["please don't suggest any horror movies"].hard.exclude_genres == ["Horror"]
    assert by_text["exclude documentaries"].hard.exclude_genres == ["Documentary"]
    follow = [r for r in rows if r.text == "Only movies released before 1995 please." and r.previous_list]
    assert follow and follow[0].hard.year_max == 1994
    assert follow[0].context[0] == "SEEKER: I loved Toy Story and Finding Nemo. Recommend something similar."


def test_the_set_is_disjoint_from_the_redial_sets(rows):
    for name in ("labels.jsonl", "heldout.jsonl"):
        with open(SET_DIR / name, encoding="utf-8") as f:
            other = [json.loads(line) for line in f if line.strip()]
        assert not {r.id for r in rows} & {o["id"] for o in other}, name
        assert not {_norm(r.text) for r in rows} & {_norm(o["text"]) for o in other}, name
