"""The catalog of items and the log of user-item interactions.

``Item`` and ``Interaction`` are the pydantic boundary models. ``Catalog`` and
``InteractionLog`` hold many of them in the array form retrievers need
(positions, numpy masks, a sparse user-item matrix).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from recagent.errors import UnknownItemError, UnknownUserError

MetadataValue = str | int | float | bool


class Item(BaseModel):
    """One catalog item. ``text`` is what gets embedded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    text: str = Field(min_length=1)
    year: int | None = None
    genres: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    metadata: dict[str, MetadataValue] = Field(default_factory=dict)

    @property
    def text_hash(self) -> str:
        return hashlib.sha1(self.text.encode("utf-8")).hexdigest()


class Interaction(BaseModel):
    """One user-item event: a rating, a click, a purchase."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: str = Field(min_length=1)
    item_id: str = Field(min_length=1)
    value: float = 1.0
    timestamp: int | None = None


def build_item_text(
    title: str,
    year: int | None = None,
    genres: Sequence[str] = (),
    tags: Sequence[str] = (),
    description: str | None = None,
) -> str:
    """The text embedded for an item: title, year, genres, frequent tags, description."""
    head = title if (year is None or str(year) in title) else f"{title} ({year})"
    parts = [head.strip() + "."]
    if genres:
        parts.append("Genres: " + ", ".join(genres) + ".")
    if tags:
        parts.append("Tags: " + ", ".join(tags) + ".")
    if description:
        parts.append(description.strip())
    return " ".join(parts)


class Catalog:
    """An ordered, id-unique collection of items with array views for filtering."""

    def __init__(self, items: Sequence[Item], name: str = "catalog"):
        self.name = name
        self.items: list[Item] = list(items)
        self.ids: list[str] = [it.id for it in self.items]
        self._pos: dict[str, int] = {iid: i for i, iid in enumerate(self.ids)}
        if len(self._pos) != len(self.ids):
            raise ValueError("catalog item ids must be unique")  # loaders report this per line

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self):
        return iter(self.items)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._pos

    def get(self, item_id: str) -> Item:
        try:
            return self.items[self._pos[item_id]]
        except KeyError:
            raise UnknownItemError(item_id) from None

    def position(self, item_id: str) -> int:
        try:
            return self._pos[item_id]
        except KeyError:
            raise UnknownItemError(item_id) from None

    def positions(self, item_ids: Iterable[str]) -> np.ndarray:
        return np.fromiter((self.position(i) for i in item_ids), dtype=np.int64)

    @cached_property
    def years(self) -> np.ndarray:
        """Year per item as float, NaN where unknown."""
        return np.array([np.nan if it.year is None else it.year for it in self.items], dtype=np.float64)

    @cached_property
    def genre_vocab(self) -> list[str]:
        return sorted({g for it in self.items for g in it.genres})

    @cached_property
    def genre_matrix(self) -> np.ndarray:
        """Boolean (n_items, n_genres) membership, columns in ``genre_vocab`` order."""
        col = {g: j for j, g in enumerate(self.genre_vocab)}
        m = np.zeros((len(self.items), len(col)), dtype=bool)
        for i, it in enumerate(self.items):
            for g in it.genres:
                m[i, col[g]] = True
        return m

    @cached_property
    def fingerprint(self) -> str:
        h = hashlib.sha1()
        for it in self.items:
            h.update(it.id.encode())
            h.update(b"\0")
            h.update(it.text_hash.encode())
        return h.hexdigest()[:16]


@dataclass(frozen=True)
class UserHistory:
    """A user's interactions, oldest first."""

    user_id: str
    item_positions: np.ndarray
    values: np.ndarray
    timestamps: np.ndarray


class InteractionLog:
    """Interactions in columnar form, aligned with a catalog's positions."""

    def __init__(
        self,
        catalog: Catalog,
        user_ids: Sequence[str],
        item_positions: np.ndarray,
        values: np.ndarray,
        timestamps: np.ndarray | None = None,
    ):
        self.catalog = catalog
        self.users: list[str] = list(dict.fromkeys(user_ids))
        self._user_pos = {u: i for i, u in enumerate(self.users)}
        self.user_positions = np.fromiter((self._user_pos[u] for u in user_ids), dtype=np.int64, count=len(user_ids))
        self.item_positions = np.asarray(item_positions, dtype=np.int64)
        self.values = np.asarray(values, dtype=np.float32)
        n = len(self.item_positions)
        self.timestamps = np.zeros(n, dtype=np.int64) if timestamps is None else np.asarray(timestamps, dtype=np.int64)

    @classmethod
    def from_interactions(cls, catalog: Catalog, interactions: Iterable[Interaction]) -> InteractionLog:
        rows = list(interactions)
        return cls(
            catalog,
            [r.user_id for r in rows],
            catalog.positions(r.item_id for r in rows),
            np.array([r.value for r in rows], dtype=np.float32),
            np.array([r.timestamp or 0 for r in rows], dtype=np.int64),
        )

    def __len__(self) -> int:
        return len(self.item_positions)

    def __contains__(self, user_id: object) -> bool:
        return user_id in self._user_pos

    @property
    def n_users(self) -> int:
        return len(self.users)

    def user_position(self, user_id: str) -> int:
        try:
            return self._user_pos[user_id]
        except KeyError:
            raise UnknownUserError(user_id) from None

    @cached_property
    def matrix(self) -> sp.csr_matrix:
        """(n_users, n_items) matrix of values; repeated pairs keep their maximum."""
        m = sp.coo_matrix(
            (self.values, (self.user_positions, self.item_positions)),
            shape=(self.n_users, len(self.catalog)),
        ).tocsr()
        # coo->csr sums duplicates; recompute with max for repeated (user, item) pairs.
        if m.nnz != len(self):
            order = np.lexsort((self.values, self.item_positions, self.user_positions))
            u, i, v = self.user_positions[order], self.item_positions[order], self.values[order]
            last = np.ones(len(u), dtype=bool)
            last[:-1] = (u[1:] != u[:-1]) | (i[1:] != i[:-1])
            m = sp.csr_matrix((v[last], (u[last], i[last])), shape=(self.n_users, len(self.catalog)))
        m.sort_indices()
        return m

    @cached_property
    def item_counts(self) -> np.ndarray:
        return np.asarray((self.matrix > 0).sum(axis=0)).ravel().astype(np.float64)

    @cached_property
    def _by_user(self) -> np.ndarray:
        return np.lexsort((self.timestamps, self.user_positions))

    @cached_property
    def _user_bounds(self) -> np.ndarray:
        return np.searchsorted(self.user_positions[self._by_user], np.arange(self.n_users + 1))

    def history(self, user_id: str) -> UserHistory:
        u = self.user_position(user_id)
        sel = self._by_user[self._user_bounds[u] : self._user_bounds[u + 1]]
        return UserHistory(user_id, self.item_positions[sel], self.values[sel], self.timestamps[sel])

    def seen_positions(self, user_id: str) -> np.ndarray:
        u = self.user_position(user_id)
        m = self.matrix
        return m.indices[m.indptr[u] : m.indptr[u + 1]]
