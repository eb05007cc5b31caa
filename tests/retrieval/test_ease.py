"""EASE on a tiny log: the closed form, recency-weighted queries, exclusions, the active-item cap, persistence."""

from __future__ import annotations

import numpy as np
import pytest

from recagent.errors import UnknownUserError
from recagent.retrieval.base import RetrievalQuery
from recagent.retrieval.catalog import Catalog, InteractionLog, Item
from recagent.retrieval.ease import EASERetriever
from recagent.retrieval.filters import Filters
from recagent.settings import EASESettings

# users x items, with the order each user met the items (1 = first); 0 = no interaction
ORDER = np.array(
    [
        [1, 2, 0, 3, 0, 0],
        [0, 1, 2, 0, 3, 0],
        [2, 0, 1, 0, 0, 3],
        [1, 2, 3, 4, 0, 0],
        [0, 0, 1, 2, 3, 0],
        [3, 1, 0, 0, 2, 4],
        [1, 0, 0, 2, 0, 0],
    ]
)


def toy_log(order: np.ndarray = ORDER) -> InteractionLog:
    n_items = order.shape[1]
    catalog = Catalog(
        [
            Item(id=str(i), title=f"Film {i}", text=f"Film {i}.", genres=("Drama",) if i % 2 else ())
            for i in range(n_items)
        ]
    )
    users, items, times = [], [], []
    for u, row in enumerate(order):
        for i in np.flatnonzero(row):
            users.append(f"u{u}")
            items.append(i)
            times.append(1000 * u + int(row[i]))
    return InteractionLog(catalog, users, np.array(items), np.ones(len(items)), np.array(times))


def reference_ease(x: np.ndarray, l2: float) -> np.ndarray:
    """B = I - P diagMat(1 / diag(P)), P = (XᵀX + λI)⁻¹ (Steck 2019, eq. 8)."""
    p = np.linalg.inv(x.T @ x + l2 * np.eye(x.shape[1]))
    return np.eye(x.shape[1]) - p @ np.diag(1 / np.diag(p))


def test_closed_form_matches_numpy():
    log = toy_log()
    ease = EASERetriever.fit(log, EASESettings(l2=2.0), show_progress=False)
    x = (ORDER > 0).astype(float)
    np.testing.assert_allclose(ease.weights, reference_ease(x, 2.0), rtol=1e-5, atol=1e-6)
    assert np.allclose(np.diag(ease.weights), 0)


def test_query_weights_recent_items_by_half_life():
    log = toy_log()
    flat = EASERetriever.fit(log, EASESettings(l2=2.0, half_life=0), show_progress=False)
    decayed = EASERetriever.fit(log, EASESettings(l2=2.0, half_life=1), show_progress=False)
    b = reference_ease((ORDER > 0).astype(float), 2.0)
    # u3 met items 0, 1, 2, 3 in that order: weights 1/8, 1/4, 1/2, 1 with a half-life of one item
    np.testing.assert_allclose(
        flat.scores(flat.sequence(RetrievalQuery(user_id="u3"))), b[[0, 1, 2, 3]].sum(0), rtol=1e-5
    )
    expected = np.array([0.125, 0.25, 0.5, 1.0]) @ b[[0, 1, 2, 3]]
    np.testing.assert_allclose(decayed.scores(decayed.sequence(RetrievalQuery(user_id="u3"))), expected, rtol=1e-5)


def test_history_is_excluded_and_new_users_come_from_likes():
    ease = EASERetriever.fit(toy_log(), EASESettings(l2=1.0), show_progress=False)
    got = ease.retrieve(RetrievalQuery(user_id="u0"), k=10)
    assert set(got.positions.tolist()) == {2, 4, 5} and np.all(np.diff(got.scores) <= 0)
    new = ease.retrieve(RetrievalQuery(liked_ids=["0", "3"]), k=10)
    assert not {0, 3} & set(new.positions.tolist()) and len(new) == 4
    # u6 met 0 then 3, exactly as the new user's likes: same query, same ranking
    assert new.positions.tolist() == ease.retrieve(RetrievalQuery(user_id="u6"), k=10).positions.tolist()
    with pytest.raises(UnknownUserError):
        ease.retrieve(RetrievalQuery(user_id="nobody"), k=5)
    assert len(ease.retrieve(RetrievalQuery(liked_ids=[]), k=5)) == 0


def test_filters_items_and_the_active_item_cap():
    log = toy_log()
    ease = EASERetriever.fit(log, EASESettings(l2=1.0), show_progress=False)
    drama = ease.retrieve(
        RetrievalQuery(liked_ids=["0"], filters=Filters(genres=["Drama"]).normalized(log.catalog)), k=10
    )
    assert set(drama.positions.tolist()) <= {1, 3, 5}
    restricted = ease.retrieve(RetrievalQuery(liked_ids=["0"]), k=10, items=np.array([2, 4]))
    assert set(restricted.positions.tolist()) == {2, 4}
    capped = EASERetriever.fit(log, EASESettings(l2=1.0, max_items=3), show_progress=False)
    counts = log.item_counts
    top3 = set(np.argsort(-counts, kind="stable")[:3].tolist())
    assert set(capped.active.tolist()) == top3
    assert set(capped.retrieve(RetrievalQuery(liked_ids=["4"]), k=10).positions.tolist()) <= top3


def test_fit_or_load_reuses_the_saved_model(tmp_path):
    log = toy_log()
    params = EASESettings(l2=3.0)
    first = EASERetriever.fit_or_load(log, params, tmp_path, show_progress=False)
    saved = list(tmp_path.glob("ease-*.npz"))
    assert len(saved) == 1
    again = EASERetriever.fit_or_load(log, params, tmp_path, show_progress=False)
    np.testing.assert_array_equal(first.weights, again.weights)
    EASERetriever.fit_or_load(log, EASESettings(l2=4.0), tmp_path, show_progress=False)
    assert len(list(tmp_path.glob("ease-*.npz"))) == 2, "other parameters, another model"
