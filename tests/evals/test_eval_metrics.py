"""Metrics against hand-computed values, and the leave-one-out split on a toy log."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recagent.evals.metrics import ndcg_at, parse_metric, recall_at, score
from recagent.evals.protocols.loo import split_leave_one_out
from recagent.retrieval.catalog import Catalog, InteractionLog, Item


def test_single_target_metrics_by_hand():
    assert (
        recall_at(1, 10) == 1.0 and recall_at(10, 10) == 1.0 and recall_at(11, 10) == 0.0 and recall_at(None, 10) == 0.0
    )
    assert ndcg_at(1, 10) == 1.0
    assert ndcg_at(3, 10) == pytest.approx(0.5)  # 1 / log2(4)
    assert ndcg_at(7, 10) == pytest.approx(1 / 3)  # 1 / log2(8)
    assert ndcg_at(11, 10) == 0.0
    # ranks 1, 3, missing, 12: recall@10 = 2/4, ndcg@10 = (1 + 0.5) / 4, mrr@10 = (1 + 1/3) / 4
    got = score([1, 3, None, 12], ["recall@10", "ndcg@10", "mrr@10", "recall@20"])
    assert got == pytest.approx({"recall@10": 0.5, "ndcg@10": 0.375, "mrr@10": (4 / 3) / 4, "recall@20": 0.75})
    assert score([2], ["ndcg@5"])["ndcg@5"] == pytest.approx(1 / math.log2(3))


def test_metric_names_are_checked():
    assert parse_metric("ndcg@10")[1] == 10
    for bad in ("ndcg", "hits@10", "ndcg@0", "ndcg@x"):
        with pytest.raises(ValueError, match="unknown metric"):
            parse_metric(bad)


def test_leave_one_out_split_on_a_toy_log():
    catalog = Catalog([Item(id=str(i), title=f"t{i}", text=f"t{i}") for i in range(6)])
    # user a: items 0..4 at times 5,1,3,4,2 -> by time: 1(t1) 4(t2) 2(t3) 3(t4) 0(t5)
    # user b: two interactions only -> skipped; user c: ties in time are broken by item id
    rows = [
        ("a", 0, 5),
        ("a", 1, 1),
        ("a", 2, 3),
        ("a", 3, 4),
        ("a", 4, 2),
        ("b", 0, 1),
        ("b", 1, 2),
        ("c", 5, 7),
        ("c", 2, 7),
        ("c", 3, 7),
    ]
    log = InteractionLog(
        catalog,
        [r[0] for r in rows],
        np.array([r[1] for r in rows]),
        np.ones(len(rows)),
        np.array([r[2] for r in rows]),
    )
    split = split_leave_one_out(log)
    assert split.test == {"a": 0, "c": 5} and split.valid == {"a": 3, "c": 3}
    assert sorted(split.train.seen_positions("a").tolist()) == [1, 2, 4]
    assert split.train.seen_positions("c").tolist() == [2]
    assert "b" not in split.train and "b" not in split.test
    assert sorted(split.history("a", "test").tolist()) == [1, 2, 3, 4]
    assert sorted(split.history("a", "valid").tolist()) == [1, 2, 4]
    log_test, targets = split.stage("test")
    assert sorted(log_test.seen_positions("a").tolist()) == [1, 2, 3, 4] and targets == split.test
    assert split.stage("valid")[0] is split.train
