"""The labelled understanding set (evals/data/understanding/labels.jsonl) is valid, real and never from test.

Fast: parses the file against a pydantic model of the schema in the set's README; where
../shared/data/redial is present, checks every utterance against the ReDial train/valid file it
names (a seeker message, text rendered from it) and that no conversation comes from the test split.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from recagent.agent.vocabulary import Stance
from recagent.retrieval.base import CritiqueAttribute
from tests.support.data import shared_dataset

SET_DIR = Path(__file__).resolve().parents[2] / "evals" / "data" / "understanding"
GENRES = {
    "Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
    "Film-Noir", "Horror", "IMAX", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
}  # fmt: skip
Genre = Literal[tuple(sorted(GENRES))]  # type: ignore[valid-type]


class Hard(BaseModel):
    model_config = ConfigDict(extra="forbid")
    genres: list[Genre]
    exclude_genres: list[Genre]
    year_min: int | None
    year_max: int | None

    @model_validator(mode="after")
    def _range(self) -> Hard:
        if self.year_min is not None and self.year_max is not None:
            assert self.year_min <= self.year_max, "inverted year range"
        return self


class Soft(BaseModel):
    model_config = ConfigDict(extra="forbid")
    liked_genres: list[Genre]
    disliked_genres: list[Genre]


class Mention(BaseModel):
    model_config = ConfigDict(extra="forbid")
    redial_id: str = Field(pattern=r"^\d+$")
    title: str = Field(min_length=1)
    ml_id: str | None
    stance: Stance


class Critique(BaseModel):
    model_config = ConfigDict(extra="forbid")
    attribute: CritiqueAttribute
    direction: Literal[-1, 1]


class Label(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^(train|valid):\d+:\d+$")
    split: Literal["train", "valid"]
    context: list[str] = Field(max_length=2)
    text: str = Field(min_length=1)
    hard: Hard
    soft: Soft
    mentions: list[Mention]
    critiques: list[Critique]
    topics: list[str]
    people: list[str]
    notes: str | None = None

    @field_validator("context")
    @classmethod
    def _speakers(cls, v: list[str]) -> list[str]:
        assert all(c.startswith(("SEEKER: ", "RECOMMENDER: ")) for c in v), "context lines need a speaker prefix"
        return v

    @model_validator(mode="after")
    def _split_matches_id(self) -> Label:
        assert self.id.split(":")[0] == self.split
        assert self.people == [p.lower() for p in self.people], "people are lowercased"
        return self


def read_labels(name: str) -> list[Label]:
    """A label file of SET_DIR (labels.jsonl, heldout.jsonl), validated row by row."""
    with open(SET_DIR / name, encoding="utf-8") as f:
        return [Label.model_validate_json(line) for line in f if line.strip()]


@pytest.fixture(scope="module")
def labels() -> list[Label]:
    return read_labels("labels.jsonl")


def test_the_set_parses_and_is_large_enough(labels):
    assert len(labels) >= 300
    ids = [lab.id for lab in labels]
    assert len(set(ids)) == len(ids), "duplicate utterance ids"
    assert sum(bool(lab.mentions) for lab in labels) >= 60
    assert sum(bool(lab.soft.liked_genres or lab.soft.disliked_genres) for lab in labels) >= 60
    # The set also scores not inventing constraints: most utterances carry no hard constraint at all.
    hard = [lab for lab in labels if lab.hard != Hard(genres=[], exclude_genres=[], year_min=None, year_max=None)]
    assert 10 <= len(hard) <= len(labels) // 4


def test_every_labelled_utterance_is_in_the_sample(labels):
    with open(SET_DIR / "sample.jsonl", encoding="utf-8") as f:
        sample = {row["id"]: row for row in map(json.loads, f)}
    for lab in labels:
        assert lab.id in sample, lab.id
        assert (lab.text, lab.context) == (sample[lab.id]["text"], sample[lab.id]["context"]), lab.id
        typed = {m["redial_id"] for m in sample[lab.id]["mentions"]}
        # each @mention of the utterance is labelled (or dropped with a note saying why)
        assert typed <= {m.redial_id for m in lab.mentions} or lab.notes, lab.id


def assert_real_seeker_messages(labels: list[Label]) -> None:
    """Each row is a seeker message of the ReDial train/valid file it names (its text rendered from it),
    never a test conversation, and its mentions carry the bridged ids (needs ../shared/data/redial)."""
    from recagent.evals.protocols.redial import display_title
    from recagent.evals.understanding_sample import seeker_utterances
    from recagent.retrieval.redial_bridge import match_movielens
    from recagent.retrieval.redial_data import SPLITS, load_catalog

    redial = shared_dataset("redial")
    with open(redial / SPLITS["test"], encoding="utf-8") as f:
        test_ids = {str(json.loads(line)["conversationId"]) for line in f if line.strip()}
    catalog = load_catalog(redial)
    titles = {it.id: it.title for it in catalog}
    real = {u["id"]: u for split in ("train", "valid") for u in seeker_utterances(redial, split, titles)}
    ml = {catalog.ids[pos]: ml_id for pos, ml_id in match_movielens(catalog).items()}
    for lab in labels:
        assert lab.id.split(":")[1] not in test_ids, f"{lab.id} is a test conversation"
        assert lab.id in real, f"{lab.id} is not a seeker message of ReDial {lab.split}"
        assert lab.text == real[lab.id]["text"]
        for m in lab.mentions:
            assert m.title == display_title(catalog.get(m.redial_id))
            assert m.ml_id == ml.get(m.redial_id), (lab.id, m.redial_id)


def test_utterances_are_real_seeker_messages_from_train_or_valid_never_test(labels):
    assert_real_seeker_messages(labels)
