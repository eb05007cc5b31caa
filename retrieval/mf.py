"""Matrix-factorization retriever: implicit's ALS on the user-item matrix.

* known users are scored with their trained factors, their seen items excluded;
* users not in training are *folded in* from the items they like (one
  least-squares solve against the fixed item factors, no retraining);
* new interactions update a user's factors online the same way
  (``partial_fit_users``).

implicit does the learning; ranking uses the shared ``top_k`` so that filters,
exclusions and ``items=`` behave as in every other retriever.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recagent.errors import ConfigError, UnknownUserError
from recagent.retrieval.base import RetrievalQuery, Scored, allowed_mask, top_k
from recagent.retrieval.catalog import Catalog, InteractionLog
from recagent.retrieval.progress import progress_bar
from recagent.settings import MFSettings


def _als(params: MFSettings):
    from implicit.cpu.als import AlternatingLeastSquares

    # implicit runs its own threads; a BLAS threadpool beside them only slows it down
    with threadpool_limits(1, "blas"):
        return AlternatingLeastSquares(
            factors=params.factors,
            regularization=params.regularization,
            alpha=params.alpha,
            iterations=params.iterations,
            random_state=params.seed,
        )


def log_fingerprint(log: InteractionLog, params: MFSettings) -> str:
    h = hashlib.sha1(log.catalog.fingerprint.encode())
    h.update(params.model_dump_json().encode())
    for arr in (log.user_positions, log.item_positions, log.values):
        h.update(np.ascontiguousarray(arr).tobytes())
    h.update("\0".join(log.users).encode())
    return h.hexdigest()[:16]


class MFRetriever:
    name = "mf"

    def __init__(self, model, catalog: Catalog, users: list[str], user_items: sp.csr_matrix):
        # Serving solves one user at a time: OpenMP threads cost ~15 ms of start-up for a 40 µs solve.
        model.num_threads = 1
        self.model = model
        self.catalog = catalog
        self.users = list(users)
        self._upos = {u: i for i, u in enumerate(self.users)}
        self.user_items = user_items.tocsr().astype(np.float32)
        if model.item_factors.shape[0] != len(catalog):
            raise ConfigError(
                f"MF model has {model.item_factors.shape[0]} items but the catalog has {len(catalog)}; retrain it"
            )

    # ------------------------------------------------------------------ training and persistence

    @classmethod
    def fit(cls, log: InteractionLog, params: MFSettings | None = None, show_progress: bool = True) -> MFRetriever:
        params = params or MFSettings()
        user_items = log.matrix.copy()
        user_items.data = np.ones_like(user_items.data)  # every interaction counts; alpha sets its confidence
        model = _als(params)
        with threadpool_limits(1, "blas"), progress_bar("fitting ALS", params.iterations, show_progress) as advance:
            model.fit(user_items, show_progress=False, callback=lambda *_: advance(1))
        return cls(model, log.catalog, log.users, user_items)

    def save(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        self.model.save(str(tmp))
        tmp.replace(path)
        path.with_suffix(".json").write_text(json.dumps({"users": self.users, "catalog": self.catalog.fingerprint}))

    @classmethod
    def load(cls, path: Path, log: InteractionLog) -> MFRetriever:
        from implicit.cpu.als import AlternatingLeastSquares

        path = Path(path)
        meta = json.loads(path.with_suffix(".json").read_text())
        if meta["catalog"] != log.catalog.fingerprint or meta["users"] != log.users:
            raise ConfigError(f"MF model {path} was trained on other data; retrain it")
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares.load(str(path))
        user_items = log.matrix.copy()
        user_items.data = np.ones_like(user_items.data)
        return cls(model, log.catalog, meta["users"], user_items)

    @classmethod
    def fit_or_load(
        cls, log: InteractionLog, params: MFSettings, models_dir: Path, show_progress: bool = True
    ) -> MFRetriever:
        """Load the model trained on exactly this log and these parameters, or train and save it."""
        path = Path(models_dir) / f"als-{log_fingerprint(log, params)}.npz"
        if path.exists() and path.with_suffix(".json").exists():
            return cls.load(path, log)
        mf = cls.fit(log, params, show_progress)
        mf.save(path)
        return mf

    # ------------------------------------------------------------------ users

    def knows(self, user_id: str | None) -> bool:
        return user_id is not None and user_id in self._upos

    def _row(self, positions: np.ndarray, values: np.ndarray | None = None) -> sp.csr_matrix:
        positions = np.asarray(positions, dtype=np.int64)
        data = np.ones(len(positions), dtype=np.float32) if values is None else np.asarray(values, np.float32)
        row = sp.csr_matrix((data, (np.zeros(len(positions), dtype=np.int64), positions)), shape=(1, len(self.catalog)))
        row.sum_duplicates()
        row.data = np.minimum(row.data, 1.0) if values is None else row.data
        return row

    def seen(self, user_id: str) -> np.ndarray:
        u = self._upos[user_id]
        return self.user_items.indices[self.user_items.indptr[u] : self.user_items.indptr[u + 1]]

    def fold_in(self, liked_positions: np.ndarray) -> np.ndarray:
        """Factors for a user not in training, from the items they like."""
        return np.asarray(self.model.recalculate_user(0, self._row(liked_positions)), dtype=np.float32)

    def user_vector(self, query: RetrievalQuery) -> np.ndarray | None:
        liked = self.catalog.positions(i for i in query.liked_ids if i in self.catalog)
        if query.user_id is not None and query.user_id not in self._upos and not len(liked):
            raise UnknownUserError(query.user_id)
        if self.knows(query.user_id):
            if not len(liked):
                return np.asarray(self.model.user_factors[self._upos[query.user_id]], dtype=np.float32)
            liked = np.union1d(self.seen(query.user_id), liked)
        return self.fold_in(liked) if len(liked) else None

    def add_interactions(self, user_id: str, item_ids: list[str], values: list[float] | None = None) -> None:
        """Apply new interactions online: the user's factors are re-solved, new users are added."""
        new = self.catalog.positions(item_ids)
        if user_id in self._upos:
            u = self._upos[user_id]
            positions = np.union1d(self.seen(user_id), new)
        else:
            u = len(self.users)
            self.users.append(user_id)
            self._upos[user_id] = u
            positions = np.unique(new)
            self.user_items = sp.vstack(
                [self.user_items, sp.csr_matrix((1, len(self.catalog)), dtype=np.float32)]
            ).tocsr()
        row = self._row(positions)
        self.model.partial_fit_users(np.array([u]), row)
        lil = self.user_items.tolil()
        lil[u] = row
        self.user_items = lil.tocsr()

    # ------------------------------------------------------------------ retrieval

    def retrieve(
        self,
        query: RetrievalQuery,
        k: int,
        exclude: np.ndarray | None = None,
        items: np.ndarray | None = None,
    ) -> Scored:
        vec = self.user_vector(query)
        if vec is None:
            return Scored.empty()
        if self.knows(query.user_id):
            seen = self.seen(query.user_id)
            exclude = seen if exclude is None else np.union1d(exclude, seen)
        mask = allowed_mask(len(self.catalog), query.filters.mask(self.catalog), exclude, items)
        if items is not None and mask is not None:
            cand = np.flatnonzero(mask)
            scores = self.model.item_factors[cand] @ vec
            order = np.argsort(-scores, kind="stable")[:k]
            return Scored(cand[order], scores[order].astype(np.float32))
        return top_k(self.model.item_factors @ vec, k, mask)
