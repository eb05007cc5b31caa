"""The held-out understanding set (evals/data/understanding/heldout.jsonl) is valid and disjoint from labels.jsonl.

Fast: the held-out rows parse against the same pydantic model as the labelled set, none shares an id (or a
text) with labels.jsonl, each is a row of its sample, and where ../shared/data/redial is present each is a
real seeker message of the train/valid file it names, never a test conversation, with bridged mentions.
"""

from __future__ import annotations

import json
import re

import pytest

from .test_understanding_labels import SET_DIR, Label, assert_real_seeker_messages, read_labels


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text.lower()).split())


@pytest.fixture(scope="module")
def heldout() -> list[Label]:
    return read_labels("heldout.jsonl")


def test_the_heldout_set_parses_and_is_disjoint_from_the_labelled_set(heldout):
    assert len(heldout) >= 120
    ids = [lab.id for lab in heldout]
    assert len(set(ids)) == len(ids), "duplicate utterance ids"
    with open(SET_DIR / "labels.jsonl", encoding="utf-8") as f:
        labelled = [json.loads(line) for line in f if line.strip()]
    assert not set(ids) & {row["id"] for row in labelled}, "held-out ids also in labels.jsonl"
    assert not {_norm(lab.text) for lab in heldout} & {_norm(row["text"]) for row in labelled}, "shared texts"


def test_every_heldout_row_is_in_its_sample(heldout):
    with open(SET_DIR / "heldout-sample.jsonl", encoding="utf-8") as f:
        sample = {row["id"]: row for row in map(json.loads, f)}
    for lab in heldout:
        assert lab.id in sample, lab.id
        assert (lab.text, lab.context) == (sample[lab.id]["text"], sample[lab.id]["context"]), lab.id
        assert {m["redial_id"] for m in sample[lab.id]["mentions"]} <= {m.redial_id for m in lab.mentions}, lab.id


def test_heldout_rows_are_real_seeker_messages_from_train_or_valid_never_test(heldout):
    assert_real_seeker_messages(heldout)
