"""The similar-dialogue source: train contexts that read like this conversation vote for what was suggested."""

from __future__ import annotations

import re

import numpy as np
import pytest

from recagent.retrieval.base import ContextText, Preferences, RetrievalQuery
from recagent.retrieval.catalog import Catalog, Item
from recagent.retrieval.comentions import DATA_DIR
from recagent.retrieval.dialogues import VECTORS_FILE, DialogueRetriever, read_dialogues

TRAIN = [  # two dialogues: a horror seeker, then a seeker after a light romantic comedy
    {"dialogue": "a", "seeker": ["hi there", "I love scary horror movies with ghosts and demons"],
     "suggested": [[2, ["10"]]]},
    {"dialogue": "b", "seeker": ["hello", "something light, a romantic comedy for date night"],
     "suggested": [[2, ["20"]]]},
    {"dialogue": "c", "seeker": ["any sci-fi with spaceships?"], "suggested": [[1, ["30"]], [0, ["40"]]]},
]


@pytest.fixture(scope="module")
def tiny_catalog() -> Catalog:
    return Catalog([Item(id=i, title=f"Movie {i}", text=f"Movie {i}") for i in ("10", "20", "30", "40", "50")], "t")


def said(*turns: str) -> Preferences:
    n = len(turns)
    return Preferences(context=[ContextText(text=t, weight=0.6 ** (n - 1 - i)) for i, t in enumerate(turns)])


def source(catalog, embedder, **kw) -> DialogueRetriever:
    return DialogueRetriever(catalog, TRAIN, embedder.embed, embedder.embed_queries, **kw)


def test_contexts_are_the_seeker_turns_before_each_suggestion(tiny_catalog, embedder):
    s = source(tiny_catalog, embedder)
    # "c" suggested 40 before any seeker turn: no context, no vote
    assert s.contexts == [(0, 2), (2, 4), (4, 5)]
    assert [p.tolist() for p in s.suggested] == [[0], [1], [2]]
    assert s.context_vectors.shape == (3, embedder.dimension)
    np.testing.assert_allclose(np.linalg.norm(s.context_vectors, axis=1), 1.0, rtol=1e-5)


def test_the_nearest_dialogues_vote_for_their_suggestions(tiny_catalog, embedder):
    s = source(tiny_catalog, embedder)
    horror = s.retrieve(RetrievalQuery(preferences=said("got any good ghost horror films? I want to be scared")), 5)
    assert tiny_catalog.ids[int(horror.positions[0])] == "10"
    date = s.retrieve(RetrievalQuery(preferences=said("a romantic comedy to watch with my girlfriend")), 5)
    assert tiny_catalog.ids[int(date.positions[0])] == "20"
    assert "50" not in {tiny_catalog.ids[p] for p in date.positions.tolist()}, "only suggested movies get votes"


def test_the_latest_turn_weighs_most(tiny_catalog, embedder):
    s = source(tiny_catalog, embedder)
    got = s.retrieve(RetrievalQuery(preferences=said("I love scary horror movies", "actually tonight a romantic comedy")), 5)
    assert tiny_catalog.ids[int(got.positions[0])] == "20"


def test_seen_and_filtered_items_are_not_offered(tiny_catalog, embedder):
    s = source(tiny_catalog, embedder, neighbours=3, sharpness=0.0)  # every neighbour votes 1
    q = RetrievalQuery(preferences=said("scary horror please"))
    everything = {tiny_catalog.ids[p] for p in s.retrieve(q, 5).positions.tolist()}
    assert everything == {"10", "20", "30"}
    got = s.retrieve(q, 5, exclude=np.array([tiny_catalog.position("10")]))
    assert "10" not in {tiny_catalog.ids[p] for p in got.positions.tolist()}
    assert len(s.retrieve(RetrievalQuery(), 5)) == 0, "nothing said, nothing to match"


def test_vectors_are_cached_per_model(tmp_path, tiny_catalog, embedder):
    path = tmp_path / "dialogues-x.npy"
    first = source(tiny_catalog, embedder, cache_path=path).turn_vectors
    assert path.exists()

    def no_embedding(texts):
        raise AssertionError("the cached vectors should have been used")

    again = DialogueRetriever(tiny_catalog, TRAIN, no_embedding, embedder.embed_queries, cache_path=path)
    np.testing.assert_array_equal(again.turn_vectors, first)


def test_shipped_vectors_are_the_bundled_models_vectors_of_the_shipped_turns(embedder, rec):
    turns = [t for d in read_dialogues() for t in d["seeker"]]
    with np.load(DATA_DIR / VECTORS_FILE) as f:
        vectors, model = f["vectors"], str(f["model"])
    assert model == embedder.name and vectors.shape == (len(turns), embedder.dimension)
    pick = np.random.default_rng(0).choice(len(turns), 8, replace=False)
    fresh = embedder.embed([turns[i] for i in pick])
    cos = np.sum(fresh * vectors[pick].astype(np.float32), axis=1)
    assert np.all(cos > 0.999)
    loaded = rec.dialogues
    assert loaded is not None and loaded.shipped is not None, "the bundled model uses the shipped vectors"


def test_the_shipped_file_has_no_recommender_text_or_worker_ids():
    rows = read_dialogues()
    assert len(rows) > 400 and all(set(r) == {"dialogue", "seeker", "suggested"} for r in rows)
    assert not any(re.search(r"@\d+", t) for r in rows for t in r["seeker"]), "mentions are rendered as titles"
    assert "dialogues.jsonl" in (DATA_DIR / "ATTRIBUTION.md").read_text()


def test_another_catalog_does_not_use_the_file(embedder, tmp_path):
    other = Catalog([Item(id=str(i), title=f"Product {i}", text=f"Product {i}") for i in range(1, 200)], "shop")
    assert DialogueRetriever.load(other, embedder.embed, embedder.embed_queries, tmp_path, embedder.name) is None


def test_the_hybrid_uses_it_for_conversations_only(rec):
    assert rec.hybrid.model("dialogues") is not None
    chat = RetrievalQuery(preferences=said("hi", "I like funny animated movies for the whole family"))
    cands = rec.hybrid.candidates(chat, k=50)
    assert "dialogues" in {s for c in cands for s in c.sources}
    liked = rec.hybrid.candidates(chat.model_copy(update={"liked_ids": ["1"]}), k=50)
    assert "dialogues" not in {s for c in liked for s in c.sources}, "named liked titles anchor instead"
    user = rec.dataset.interactions.users[0]
    known = rec.hybrid.candidates(RetrievalQuery(user_id=user), k=50)
    assert "dialogues" not in {s for c in known for s in c.sources}

