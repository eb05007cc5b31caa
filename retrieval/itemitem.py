"""Item-to-item retrievers: a dense item x item weight matrix applied to a user's recent items.

EASE (``retrieval/ease.py``) and the next-item model (``retrieval/sequential.py``) both
learn a matrix ``B`` in closed form and score a user as ``x @ B``, where ``x`` weights the
items of the user's history by recency: an item ``a`` positions before the latest one
weighs ``0.5 ** (a / half_life)``. Histories are ordered by time, ties by catalog position
(as the leave-one-out protocol orders them).

The matrix covers the ``max_items`` most-interacted items (the active items), which bounds
the cost of the dense solve on large catalogs; other items are never returned by these
sources. A known user's query is their history, with any liked ids appended as the most
recent; a new user's is their liked ids in the order given. The items of the query are
excluded from the results.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from recagent.errors import ConfigError, UnknownUserError
from recagent.retrieval.base import RetrievalQuery, Scored, allowed_mask, top_k
from recagent.retrieval.catalog import Catalog, InteractionLog

MIN_WEIGHT = 1e-4  # history items weighing less than this (14 half-lives back) are left out of queries


def recency_weights(n: int, half_life: float | None) -> np.ndarray:
    """Weights of a sequence of ``n`` items, oldest first: the latest weighs 1, halving every ``half_life`` items."""
    age = np.arange(n - 1, -1, -1, dtype=np.float64)
    if not half_life:
        return np.ones(n)
    return 0.5 ** (age / half_life)


class Sequences:
    """Each user's item positions ordered by time, ties broken by catalog position."""

    def __init__(self, log: InteractionLog):
        order = np.lexsort((log.item_positions, log.timestamps, log.user_positions))
        self.users = list(log.users)
        self._upos = {u: i for i, u in enumerate(self.users)}
        self.items = log.item_positions[order]
        self.bounds = np.searchsorted(log.user_positions[order], np.arange(len(self.users) + 1))

    def __contains__(self, user_id: object) -> bool:
        return user_id in self._upos

    def __len__(self) -> int:
        return len(self.users)

    def __iter__(self):
        return (self.items[self.bounds[u] : self.bounds[u + 1]] for u in range(len(self.users)))

    def of(self, user_id: str) -> np.ndarray:
        u = self._upos[user_id]
        return self.items[self.bounds[u] : self.bounds[u + 1]]


def active_items(log: InteractionLog, max_items: int) -> np.ndarray:
    """Catalog positions of the ``max_items`` most-interacted items (with at least one interaction), sorted."""
    counts = log.item_counts
    have = np.flatnonzero(counts > 0)
    if len(have) > max_items:
        have = have[np.argsort(-counts[have], kind="stable")[:max_items]]
    return np.sort(have)


def model_fingerprint(kind: str, log: InteractionLog, params: BaseModel) -> str:
    """Identifies a model fitted on exactly this log (order included) with these parameters."""
    h = hashlib.sha1(f"{kind}\0{log.catalog.fingerprint}\0{params.model_dump_json()}".encode())
    for arr in (log.user_positions, log.item_positions, log.timestamps):
        h.update(np.ascontiguousarray(arr).tobytes())
    h.update("\0".join(log.users).encode())
    return h.hexdigest()[:16]


class ItemItemRetriever:
    """Scores ``x @ B`` for a recency-weighted history ``x``; subclasses fit ``B`` and choose the query."""

    name = "itemitem"
    kind = "itemitem"

    def __init__(
        self,
        catalog: Catalog,
        active: np.ndarray,
        weights: np.ndarray,
        sequences: Sequences,
        half_life: float | None,
        window: int | None = None,
        aggregate: str = "sum",
    ):
        if weights.shape != (len(active), len(active)):
            raise ConfigError(f"{self.kind} model has {weights.shape} weights for {len(active)} items; refit it")
        self.catalog = catalog
        self.active = np.asarray(active, dtype=np.int64)
        self.weights = np.asarray(weights, dtype=np.float32)
        self.sequences = sequences
        self.half_life = half_life
        self.window = window
        self.aggregate = aggregate
        self._index = np.full(len(catalog), -1, dtype=np.int64)
        self._index[self.active] = np.arange(len(self.active))
        self._active_mask = np.zeros(len(catalog), dtype=bool)
        self._active_mask[self.active] = True

    # ------------------------------------------------------------------ persistence

    def save(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, active=self.active, weights=self.weights)
        tmp.replace(path)

    @staticmethod
    def load_arrays(path: Path, catalog: Catalog) -> tuple[np.ndarray, np.ndarray]:
        with np.load(Path(path)) as f:
            active, weights = f["active"], f["weights"]
        if len(active) and active.max() >= len(catalog):
            raise ConfigError(f"{path} was fitted on another catalog; refit it")
        return active, weights

    # ------------------------------------------------------------------ queries

    def knows(self, user_id: str | None) -> bool:
        return user_id is not None and user_id in self.sequences

    def sequence(self, query: RetrievalQuery) -> np.ndarray:
        """The query's items, oldest first: a known user's history, then liked ids."""
        liked = self.catalog.positions(i for i in query.liked_ids if i in self.catalog)
        if query.user_id is not None and not self.knows(query.user_id) and not len(liked):
            raise UnknownUserError(query.user_id)
        if self.knows(query.user_id):
            return np.concatenate([self.sequences.of(query.user_id), liked]).astype(np.int64)
        return np.asarray(liked, dtype=np.int64)

    def query_vector(self, sequence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(active indices, weights) of the recency-weighted query, duplicates combined."""
        if self.window:
            sequence = sequence[-self.window :]
        if self.half_life:  # items whose weight would fall below MIN_WEIGHT change nothing but the cost
            sequence = sequence[-int(np.ceil(self.half_life * np.log2(1 / MIN_WEIGHT))) :]
        w = recency_weights(len(sequence), self.half_life)
        idx = self._index[sequence]
        keep = idx >= 0
        idx, w = idx[keep], w[keep]
        uniq, inv = np.unique(idx, return_inverse=True)
        out = np.zeros(len(uniq))
        (np.add if self.aggregate == "sum" else np.maximum).at(out, inv, w)
        return uniq, out

    def scores(self, sequence: np.ndarray) -> np.ndarray:
        """Dense catalog scores for a sequence (zero outside the active items)."""
        idx, w = self.query_vector(sequence)
        out = np.zeros(len(self.catalog), dtype=np.float32)
        if len(idx):
            out[self.active] = w.astype(np.float32) @ self.weights[idx]
        return out

    def retrieve(
        self,
        query: RetrievalQuery,
        k: int,
        exclude: np.ndarray | None = None,
        items: np.ndarray | None = None,
    ) -> Scored:
        seq = self.sequence(query)
        if not len(seq) or not np.any(self._index[seq] >= 0):
            return Scored.empty()
        exclude = seq if exclude is None else np.union1d(exclude, seq)
        mask = allowed_mask(len(self.catalog), query.filters.mask(self.catalog), exclude, items)
        mask = self._active_mask if mask is None else mask & self._active_mask
        return top_k(self.scores(seq), k, mask)


def fit_or_load(cls, log: InteractionLog, params: BaseModel, models_dir: Path, show_progress: bool = True):
    """Load ``cls``'s model fitted on exactly this log with these parameters, or fit and save it."""
    path = Path(models_dir) / f"{cls.kind}-{model_fingerprint(cls.kind, log, params)}.npz"
    if path.exists():
        active, weights = ItemItemRetriever.load_arrays(path, log.catalog)
        return cls.from_arrays(log, params, active, weights)
    model = cls.fit(log, params, show_progress)
    model.save(path)
    path.with_suffix(".json").write_text(json.dumps({"params": params.model_dump(), "items": len(model.active)}))
    return model
