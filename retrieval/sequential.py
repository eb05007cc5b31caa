"""A next-item linear model: "users who watched these recently watched that next".

For every step of every training history, the preceding ``window`` items, weighted by
recency (the latest 1, halving every ``half_life`` steps back), form a row of ``X`` and the
item that came next a row of ``Y``; the transition weights are the ridge regression
``B = (XᵀX + λI)⁻¹ XᵀY`` (the closed form of SLIT, Choi et al., SIGIR 2021). A user is
scored ``x @ B`` with ``x`` built the same way from their latest items. Histories are
ordered by time, ties by catalog position. One dense solve on the active items.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recagent.retrieval import itemitem
from recagent.retrieval.catalog import InteractionLog
from recagent.retrieval.itemitem import ItemItemRetriever, Sequences, active_items
from recagent.retrieval.progress import progress_bar
from recagent.settings import SequentialSettings


def transition_design(
    sequences, index: np.ndarray, n_active: int, window: int, half_life: float | None
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """(X, Y): one row per step with a predecessor; items outside ``index`` (-1) are dropped."""
    rows, cols, vals, targets = [], [], [], []
    step = 0
    for seq in sequences:
        seq = index[seq]
        n = len(seq)
        if n < 2:
            continue
        t = np.arange(1, n)  # the steps that have a predecessor
        for lag in range(1, min(window, n - 1) + 1):
            tt = t[lag - 1 :]
            rows.append(step + tt - 1)
            cols.append(seq[tt - lag])
            vals.append(np.full(len(tt), 0.5 ** ((lag - 1) / half_life) if half_life else 1.0))
        targets.append(seq[1:])
        step += n - 1
    if not step:
        empty = sp.csr_matrix((0, n_active))
        return empty, empty
    r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    keep = c >= 0
    x = sp.csr_matrix((v[keep], (r[keep], c[keep])), shape=(step, n_active))
    y_items = np.concatenate(targets)
    has = y_items >= 0
    y = sp.csr_matrix((np.ones(has.sum()), (np.flatnonzero(has), y_items[has])), shape=(step, n_active))
    # steps whose next item is not modelled would only teach "predict nothing"
    return x[has], y[has]


class SequentialRetriever(ItemItemRetriever):
    name = "sequential"
    kind = "sequential"

    @classmethod
    def from_arrays(
        cls, log: InteractionLog, params: SequentialSettings, active: np.ndarray, weights: np.ndarray
    ) -> SequentialRetriever:
        return cls(log.catalog, active, weights, Sequences(log), params.half_life or None, window=params.window)

    @classmethod
    def fit(
        cls, log: InteractionLog, params: SequentialSettings | None = None, show_progress: bool = True
    ) -> SequentialRetriever:
        params = params or SequentialSettings()
        active = active_items(log, params.max_items)
        index = np.full(len(log.catalog), -1, dtype=np.int64)
        index[active] = np.arange(len(active))
        with progress_bar(f"fitting next-item model on {len(active)} items", 2, show_progress) as advance:
            x, y = transition_design(Sequences(log), index, len(active), params.window, params.half_life or None)
            advance(1)
            gram = (x.T @ x).toarray() + params.l2 * np.eye(len(active))
            weights = np.linalg.solve(gram, (x.T @ y).toarray())
            advance(1)
        return cls.from_arrays(log, params, active, weights)

    @classmethod
    def fit_or_load(
        cls, log: InteractionLog, params: SequentialSettings, models_dir: Path, show_progress: bool = True
    ) -> SequentialRetriever:
        return itemitem.fit_or_load(cls, log, params, models_dir, show_progress)
