"""EASE (Steck, 2019): a closed-form item-item regression, queried with recency-weighted histories.

``B = I - P / diag(P)`` with ``P = (XᵀX + λI)⁻¹`` on the binarised user-item matrix ``X``
(every interaction counts), so ``B`` has a zero diagonal. A user is scored ``x @ B``, where
``x`` weighs their items by recency (the latest 1, halving every ``half_life`` items back),
which on sequential logs such as MovieLens is worth far more than the uniform ``x`` of the
paper. One dense solve on the active items: about a second for 1,682 items.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from recagent.retrieval import itemitem
from recagent.retrieval.catalog import InteractionLog
from recagent.retrieval.itemitem import ItemItemRetriever, Sequences, active_items
from recagent.retrieval.progress import progress_bar
from recagent.settings import EASESettings


def ease_weights(gram: np.ndarray, l2: float) -> np.ndarray:
    """EASE's closed form from the Gram matrix ``XᵀX``."""
    p = np.linalg.inv(gram + l2 * np.eye(len(gram)))
    b = -p / np.diag(p)
    np.fill_diagonal(b, 0.0)
    return b


class EASERetriever(ItemItemRetriever):
    name = "ease"
    kind = "ease"

    @classmethod
    def from_arrays(
        cls, log: InteractionLog, params: EASESettings, active: np.ndarray, weights: np.ndarray
    ) -> EASERetriever:
        # a user's items are a set for EASE: a repeated item keeps its most recent weight
        return cls(log.catalog, active, weights, Sequences(log), params.half_life or None, aggregate="max")

    @classmethod
    def fit(cls, log: InteractionLog, params: EASESettings | None = None, show_progress: bool = True) -> EASERetriever:
        params = params or EASESettings()
        active = active_items(log, params.max_items)
        x = log.matrix[:, active].astype(np.float64)
        x.data = np.ones_like(x.data)
        with progress_bar(f"fitting EASE on {len(active)} items", 1, show_progress) as advance:
            weights = ease_weights((x.T @ x).toarray(), params.l2)
            advance(1)
        return cls.from_arrays(log, params, active, weights)

    @classmethod
    def fit_or_load(
        cls, log: InteractionLog, params: EASESettings, models_dir: Path, show_progress: bool = True
    ) -> EASERetriever:
        return itemitem.fit_or_load(cls, log, params, models_dir, show_progress)
