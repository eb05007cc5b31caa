"""Ranking metrics for one relevant item per case (leave-one-out, sampled candidates, ReDial turns).

Each metric takes the 1-based rank of the target (``None`` when it was not ranked at all)
and returns the case's value; the score of a run is the mean over cases. Metrics are
registered by name with whether higher is better, and reported as ``name@k``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    fn: Callable[[int | None, int], float]
    higher_is_better: bool = True


def recall_at(rank: int | None, k: int) -> float:
    """1 when the target is in the top k (hit rate, for a single target)."""
    return 1.0 if rank is not None and rank <= k else 0.0


def ndcg_at(rank: int | None, k: int) -> float:
    """1 / log2(rank + 1) within the top k; the ideal DCG of one target is 1."""
    return 1.0 / math.log2(rank + 1) if rank is not None and rank <= k else 0.0


def mrr_at(rank: int | None, k: int) -> float:
    return 1.0 / rank if rank is not None and rank <= k else 0.0


METRICS: dict[str, Metric] = {
    m.name: m for m in (Metric("recall", recall_at), Metric("ndcg", ndcg_at), Metric("mrr", mrr_at))
}


def parse_metric(spec: str) -> tuple[Metric, int]:
    """'ndcg@10' -> (the ndcg metric, 10)."""
    name, _, k = spec.partition("@")
    if name not in METRICS or not k.isdigit() or int(k) < 1:
        raise ValueError(f"unknown metric {spec!r}: use one of {', '.join(METRICS)} as name@k, e.g. ndcg@10")
    return METRICS[name], int(k)


def score(ranks: Iterable[int | None], specs: Iterable[str]) -> dict[str, float]:
    """Mean of each metric over the cases' target ranks."""
    ranks = list(ranks)
    out = {}
    for spec in specs:
        metric, k = parse_metric(spec)
        out[spec] = sum(metric.fn(r, k) for r in ranks) / len(ranks) if ranks else 0.0
    return out
