"""The next-item model on tiny logs: the closed form, what it learns, ordering and window."""

from __future__ import annotations

import numpy as np
import pytest

from recagent.errors import UnknownUserError
from recagent.retrieval.base import RetrievalQuery
from recagent.retrieval.catalog import Catalog, InteractionLog, Item
from recagent.retrieval.itemitem import Sequences, recency_weights
from recagent.retrieval.sequential import SequentialRetriever
from recagent.settings import SequentialSettings


def make_log(
    histories: dict[str, list[int]], n_items: int, times: dict[str, list[int]] | None = None
) -> InteractionLog:
    catalog = Catalog([Item(id=str(i), title=f"Film {i}", text=f"Film {i}.") for i in range(n_items)])
    users, items, ts = [], [], []
    for user, seq in histories.items():
        users += [user] * len(seq)
        items += seq
        ts += times[user] if times else list(range(len(seq)))
    return InteractionLog(catalog, users, np.array(items), np.ones(len(items)), np.array(ts))


def test_ranks_the_item_that_followed_first():
    # item 2 always comes right after item 0; item 3 comes after item 1
    histories = {f"a{i}": [4, 0, 2] for i in range(5)} | {f"b{i}": [1, 3, 4] for i in range(5)}
    histories |= {"c": [1, 0, 2, 3]}
    seq = SequentialRetriever.fit(make_log(histories, 6), SequentialSettings(l2=0.5), show_progress=False)
    assert seq.retrieve(RetrievalQuery(liked_ids=["0"]), k=3).positions[0] == 2
    assert seq.retrieve(RetrievalQuery(liked_ids=["1"]), k=3).positions[0] == 3
    # the latest item leads: after 1 then 0, what follows 0 comes first
    assert seq.retrieve(RetrievalQuery(liked_ids=["1", "0"]), k=3).positions[0] == 2


def test_closed_form_matches_numpy_ridge():
    histories = {"u": [0, 1, 2], "v": [1, 2, 0, 3], "w": [3, 0]}
    log = make_log(histories, 4)
    params = SequentialSettings(window=2, half_life=1.0, l2=0.7)
    got = SequentialRetriever.fit(log, params, show_progress=False)
    rows, targets = [], []
    for s in histories.values():
        for t in range(1, len(s)):
            x = np.zeros(4)
            x[s[t - 1]] += 1.0
            if t >= 2:
                x[s[t - 2]] += 0.5  # one step further back, one half-life
            rows.append(x)
            targets.append(np.eye(4)[s[t]])
    x, y = np.array(rows), np.array(targets)
    expected = np.linalg.solve(x.T @ x + 0.7 * np.eye(4), x.T @ y)
    np.testing.assert_allclose(got.weights, expected, rtol=1e-5, atol=1e-6)


def test_query_uses_the_latest_window_with_recency_weights():
    histories = {"u": [0, 1, 2, 3], "v": [3, 2, 1, 0], "w": [1, 3, 0, 2, 4]}
    seq = SequentialRetriever.fit(make_log(histories, 6), SequentialSettings(window=2, half_life=1.0, l2=1.0), False)
    # u's query: the last two items, 2 (weight 1/2) then 3 (weight 1)
    np.testing.assert_allclose(
        seq.scores(seq.sequence(RetrievalQuery(user_id="u")))[:5], 0.5 * seq.weights[2] + seq.weights[3], rtol=1e-6
    )
    # the history is excluded, and item 5 (never seen in training) is outside the model
    assert seq.retrieve(RetrievalQuery(user_id="u"), k=10).positions.tolist() == [4]
    with pytest.raises(UnknownUserError):
        seq.retrieve(RetrievalQuery(user_id="nobody"), k=5)
    np.testing.assert_allclose(recency_weights(3, 2.0), [0.5, 0.5**0.5, 1.0])
    np.testing.assert_allclose(recency_weights(3, None), [1.0, 1.0, 1.0])


def test_time_ties_are_ordered_by_catalog_position():
    # items 3, 1, 2 at the same second, logged out of order: the sequence is 0, 1, 2, 3
    log = make_log({"u": [0, 3, 1, 2]}, 4, times={"u": [5, 9, 9, 9]})
    assert Sequences(log).of("u").tolist() == [0, 1, 2, 3]
