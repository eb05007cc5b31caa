"""The shipped ReDial co-mention source: its files, its attribution, its mapping onto a catalog, its scores."""

from __future__ import annotations

import numpy as np
import pytest

from recagent.retrieval.base import RetrievalQuery
from recagent.retrieval.catalog import Catalog, Item
from recagent.retrieval.comentions import DATA_DIR, MOVIES_FILE, PAIRS_FILE, CoMentionRetriever, read_movies
from recagent.retrieval.dialogues import DIALOGUES_FILE, VECTORS_FILE
from recagent.retrieval.redial_build import build_comentions
from tests.support.data import shared_dataset


def test_shipped_files_carry_the_attribution():
    for name in (MOVIES_FILE, PAIRS_FILE, "ATTRIBUTION.md"):
        assert (DATA_DIR / name).is_file(), name
    note = (DATA_DIR / "ATTRIBUTION.md").read_text()
    assert "CC BY 4.0" in note and "Li" in note and "NeurIPS 2018" in note and "train_data_subset500" in note
    assert not (DATA_DIR / "test").exists()


def test_loads_onto_the_slice_and_scores_co_mentions(rec):
    com = CoMentionRetriever.load(rec.catalog)
    assert com is not None and com.matrix.shape == (len(rec.catalog), len(rec.catalog))
    assert (com.matrix != com.matrix.T).nnz == 0, "symmetric"
    row = com.matrix[rec.catalog.position("1")]  # Toy Story
    assert row.nnz > 0, "Toy Story is co-mentioned in the train dialogues"
    got = com.retrieve(RetrievalQuery(liked_ids=["1"]), 20)
    assert len(got) == min(20, row.nnz)
    assert np.all(np.diff(got.scores) <= 1e-9)
    best = int(got.positions[0])
    assert row[0, best] == pytest.approx(row.max(), rel=1e-5)
    # the weight is count / sqrt(dialogues(a) * dialogues(b)), as in the eval's co-occurrence source
    movies = {m["movieId"]: m for m in read_movies()}
    a, b = movies["1"], movies[rec.catalog.ids[best]]
    assert row[0, best] <= 1.0 + 1e-9 and row[0, best] >= 1 / np.sqrt(float(a["dialogues"]) * float(b["dialogues"])) - 1e-6


def test_recent_likes_weigh_more(rec):
    com = CoMentionRetriever.load(rec.catalog, half_life=1.0)
    liked = [m for m in ("1", "6", "47", "32", "50") if com.matrix[rec.catalog.position(m)].nnz][:2]
    old, new = liked
    s = com.scores([old, new])
    only_old = com.scores([old])
    only_new = com.scores([new])
    np.testing.assert_allclose(s, 0.5 * only_old + only_new, rtol=1e-6)


def test_another_catalog_does_not_use_the_file():
    other = Catalog([Item(id=str(i), title=f"Product {i}", text=f"Product {i}") for i in range(1, 200)], "shop")
    assert CoMentionRetriever.load(other) is None


def test_hybrid_uses_co_mentions_for_liked_items_only(rec):
    assert rec.hybrid.model("comentions") is not None
    cands = rec.hybrid.candidates(RetrievalQuery(liked_ids=["1"]), k=50)
    assert "comentions" in {s for c in cands for s in c.sources}
    user = rec.dataset.interactions.users[0]
    known = rec.hybrid.candidates(RetrievalQuery(user_id=user), k=50)
    assert "comentions" not in {s for c in known for s in c.sources}


def test_the_builder_rebuilds_the_shipped_files(tmp_path):
    """Co-mentions and the similar-dialogue turns (their vectors are checked in test_dialogues.py), as
    ``recagent data build-comentions --skip-vectors`` writes them."""
    report = build_comentions(shared_dataset("redial"), tmp_path, vectors=False)
    assert (report.dialogues, report.out) == (500, tmp_path)
    assert (tmp_path / MOVIES_FILE).read_text() == (DATA_DIR / MOVIES_FILE).read_text()
    with np.load(tmp_path / PAIRS_FILE) as new, np.load(DATA_DIR / PAIRS_FILE) as shipped:
        for key in ("rows", "cols", "counts"):
            np.testing.assert_array_equal(new[key], shipped[key])
    assert (tmp_path / DIALOGUES_FILE).read_text() == (DATA_DIR / DIALOGUES_FILE).read_text()
    assert not (tmp_path / VECTORS_FILE).exists(), "--skip-vectors"


def test_shown_items_anchor_a_co_mention_source(rec):
    """Items shown in the conversation that the user said nothing about steer retrieval through their
    co-mentions (``preferences.shown_ids``), and are themselves never re-offered (they are excluded)."""
    from recagent.retrieval.base import Preferences
    from recagent.retrieval.filters import Filters

    com = rec.hybrid.model("comentions")
    shown = [m for m in ("1", "6", "47", "32", "50") if com.matrix[rec.catalog.position(m)].nnz][:2]
    q = RetrievalQuery(filters=Filters(exclude_ids=shown), preferences=Preferences(shown_ids=shown))
    cands = rec.hybrid.candidates(q, k=20)
    assert "shown" in {s for c in cands for s in c.sources}
    assert not set(shown) & {c.item_id for c in cands}
    direct = com.retrieve(RetrievalQuery(liked_ids=shown), 5, exclude=rec.catalog.positions(shown))
    np.testing.assert_array_equal(
        com.retrieve(q, 5, exclude=rec.catalog.positions(shown), anchors=shown).positions, direct.positions
    )
    assert "shown" not in {s for c in rec.hybrid.candidates(RetrievalQuery(liked_ids=["1"]), k=20) for s in c.sources}


def test_dialogue_popularity_leans_to_the_wanted_genres(rec):
    from recagent.retrieval.base import ContextText, Preferences

    com = rec.hybrid.model("comentions")
    plain = RetrievalQuery(preferences=Preferences(context=[ContextText(text="hi")]))
    comedy = RetrievalQuery(preferences=Preferences(context=[ContextText(text="hi")], genres={"Comedy": 1.0}))
    share = lambda got: np.mean(["Comedy" in rec.catalog.items[p].genres for p in got.positions])  # noqa: E731
    assert share(com.popular(comedy, 20, genre_boost=1.0)) > share(com.popular(plain, 20, genre_boost=1.0))
    np.testing.assert_array_equal(com.popular(comedy, 20).positions, com.popular(plain, 20).positions)
