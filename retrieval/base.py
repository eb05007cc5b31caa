"""The one contract every retriever shares.

A retriever answers a :class:`RetrievalQuery` with :class:`Scored` catalog
positions, best first. ``exclude`` removes positions (items already seen);
``items`` restricts scoring to a given candidate set, which is what a
reranking or sampled-candidates evaluation needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from recagent.retrieval.filters import Filters


class RetrievalQuery(BaseModel):
    """Who is asking and what for. Any combination of fields may be set."""

    model_config = ConfigDict(extra="forbid")

    user_id: str | None = None
    liked_ids: list[str] = Field(default_factory=list)
    disliked_ids: list[str] = Field(default_factory=list)
    text: str | None = None
    filters: Filters = Field(default_factory=Filters)


@dataclass(frozen=True)
class Scored:
    """Catalog positions and their scores, best first."""

    positions: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.positions)

    @classmethod
    def empty(cls) -> Scored:
        return cls(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32))


@runtime_checkable
class Retriever(Protocol):
    name: str

    def retrieve(
        self,
        query: RetrievalQuery,
        k: int,
        exclude: np.ndarray | None = None,
        items: np.ndarray | None = None,
    ) -> Scored: ...


def allowed_mask(
    n_items: int,
    filter_mask: np.ndarray | None,
    exclude: np.ndarray | None,
    items: np.ndarray | None,
) -> np.ndarray | None:
    """Combine a filter mask, excluded positions and an ``items`` restriction into one mask."""
    if filter_mask is None and (exclude is None or len(exclude) == 0) and items is None:
        return None
    mask = np.ones(n_items, dtype=bool) if filter_mask is None else filter_mask.copy()
    if items is not None:
        restrict = np.zeros(n_items, dtype=bool)
        restrict[items] = True
        mask &= restrict
    if exclude is not None and len(exclude):
        mask[exclude] = False
    return mask


def top_k(scores: np.ndarray, k: int, mask: np.ndarray | None = None) -> Scored:
    """The k best positions of a dense score vector, restricted to ``mask``."""
    if mask is not None:
        candidates = np.flatnonzero(mask)
        sub = scores[candidates]
    else:
        candidates = None
        sub = scores
    k = min(k, len(sub))
    if k <= 0:
        return Scored.empty()
    part = np.argpartition(-sub, k - 1)[:k] if k < len(sub) else np.arange(len(sub))
    order = part[np.argsort(-sub[part], kind="stable")]
    positions = order if candidates is None else candidates[order]
    return Scored(positions.astype(np.int64), scores[positions].astype(np.float32))
