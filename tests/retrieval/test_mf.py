"""The ALS retriever (real implicit): known users, fold-in, online updates, save/load."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from recagent.errors import UnknownUserError
from recagent.retrieval.base import RetrievalQuery
from recagent.retrieval.filters import Filters
from recagent.retrieval.mf import MFRetriever
from recagent.settings import MFSettings


@pytest.fixture(scope="module")
def mf(rec) -> MFRetriever:
    return rec.mf


def _ids(rec, scored):
    return [rec.catalog.ids[p] for p in scored.positions]


def test_known_user_never_gets_seen_items(rec, mf):
    log = rec.dataset.interactions
    for user in log.users[:20]:
        got = mf.retrieve(RetrievalQuery(user_id=user), k=20)
        assert len(got) == 20
        assert not set(got.positions.tolist()) & set(log.seen_positions(user).tolist())
        assert np.all(np.diff(got.scores) <= 1e-6)


def test_fold_in_reproduces_a_trained_user(rec, mf):
    """A training user's items, folded in as if new, give nearly the same recommendations."""
    log = rec.dataset.interactions
    user = max(log.users[:50], key=lambda u: len(log.seen_positions(u)))
    seen = [rec.catalog.ids[p] for p in log.seen_positions(user)]
    trained = set(_ids(rec, mf.retrieve(RetrievalQuery(user_id=user), k=20)))
    folded = mf.retrieve(RetrievalQuery(liked_ids=seen), k=20, exclude=log.seen_positions(user))
    overlap = len(trained & set(_ids(rec, folded))) / 20
    assert overlap >= 0.7, overlap


def test_new_user_from_liked_items(rec, mf):
    liked = ["1", "2", "34"]  # Toy Story, Jumanji, Babe
    got = mf.retrieve(RetrievalQuery(liked_ids=liked), k=10, exclude=rec.catalog.positions(liked))
    ids = _ids(rec, got)
    assert len(ids) == 10 and not set(ids) & set(liked)
    kids = sum("Children" in rec.catalog.get(i).genres for i in ids)
    assert kids >= 3, [rec.catalog.get(i).title for i in ids]


def test_unknown_user_without_likes_is_an_error(mf):
    with pytest.raises(UnknownUserError, match="--likes"):
        mf.retrieve(RetrievalQuery(user_id="no-such-user"), k=5)


def test_online_interactions_update_the_user(rec, mf):
    fresh = MFRetriever(copy.deepcopy(mf.model), mf.catalog, list(mf.users), mf.user_items.copy())
    fresh.add_interactions("chat-user", ["1", "2"])
    assert fresh.knows("chat-user")
    first = fresh.retrieve(RetrievalQuery(user_id="chat-user"), k=5)
    assert not {"1", "2"} & set(_ids(rec, first))
    top = _ids(rec, first)[0]
    fresh.add_interactions("chat-user", [top])
    again = _ids(rec, fresh.retrieve(RetrievalQuery(user_id="chat-user"), k=5))
    assert top not in again
    np.testing.assert_allclose(
        fresh.model.user_factors[fresh.users.index("chat-user")],
        fresh.fold_in(rec.catalog.positions(["1", "2", top])),
        rtol=1e-4,
        atol=1e-5,
    )


def test_filters_and_items_restriction(rec, mf):
    q = RetrievalQuery(user_id=rec.dataset.interactions.users[0], filters=Filters(genres=["Comedy"], year_max=1995))
    got = mf.retrieve(q, k=15)
    for p in got.positions:
        item = rec.catalog.items[p]
        assert "Comedy" in item.genres and item.year <= 1995
    items = rec.catalog.positions(["1", "2", "3", "5", "7"])
    restricted = mf.retrieve(RetrievalQuery(liked_ids=["34"]), k=10, items=items)
    assert set(restricted.positions.tolist()) <= set(items.tolist()) and len(restricted) == 5


def test_save_and_load_round_trip(rec, mf, tmp_path):
    path = tmp_path / "als.npz"
    mf.save(path)
    loaded = MFRetriever.load(path, rec.dataset.interactions)
    q = RetrievalQuery(user_id=rec.dataset.interactions.users[3])
    a, b = mf.retrieve(q, k=10), loaded.retrieve(q, k=10)
    assert a.positions.tolist() == b.positions.tolist()
    np.testing.assert_allclose(a.scores, b.scores, rtol=1e-6)


def test_fit_or_load_reuses_the_saved_model(rec, tmp_path):
    log = rec.dataset.interactions
    params = MFSettings(factors=8, iterations=2)
    first = MFRetriever.fit_or_load(log, params, tmp_path, show_progress=False)
    saved = list(tmp_path.glob("als-*.npz"))
    assert len(saved) == 1
    second = MFRetriever.fit_or_load(log, params, tmp_path, show_progress=False)
    np.testing.assert_array_equal(first.model.item_factors, second.model.item_factors)
    MFRetriever.fit_or_load(log, MFSettings(factors=8, iterations=3), tmp_path, show_progress=False)
    assert len(list(tmp_path.glob("als-*.npz"))) == 2, "other parameters train a new model"
