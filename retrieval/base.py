"""The one contract every retriever shares.

A retriever answers a :class:`RetrievalQuery` with :class:`Scored` catalog
positions, best first. ``exclude`` removes positions (items already seen);
``items`` restricts scoring to a given candidate set, which is what a
reranking or sampled-candidates evaluation needs. What retrieval hands on (to
the reranker, the prompts and the evals) is a list of :class:`Candidate`, each
with its :class:`SourceHit` per source that returned it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from recagent.retrieval.filters import Filters

CritiqueAttribute = Literal["violence", "darkness", "humor", "scariness", "family", "recency", "popularity"]


class Critique(BaseModel):
    """A wish to move along an item attribute: "less violent" is (violence, -1), "funnier" (humor, +1),
    "lighter" (darkness, -1), "for kids" (family, +1), "more recent" (recency, +1), "older" (recency, -1),
    "something less known" (popularity, -1). A soft preference: it re-ranks, it never filters."""

    model_config = ConfigDict(extra="forbid")

    attribute: CritiqueAttribute
    direction: Literal[-1, 1]
    weight: float = Field(1.0, gt=0, description="strength; later or repeated critiques may weigh more")


class ContextText(BaseModel):
    """A piece of what the user said (a turn, a topical wish), with its weight: recent turns weigh more."""

    model_config = ConfigDict(extra="forbid")

    text: str
    weight: float = Field(1.0, gt=0)


class Preferences(BaseModel):
    """Soft evidence about what the user wants. Every field boosts or penalises candidates; none filters.

    Hard constraints (what the user explicitly asked for now: "only comedies", "nothing before 2000")
    live in :class:`~recagent.retrieval.filters.Filters` instead."""

    model_config = ConfigDict(extra="forbid")

    genres: dict[str, float] = Field(
        default_factory=dict, description="catalog genre -> weight in [-1, 1]: >0 wanted, <0 not wanted (soft)"
    )
    critiques: list[Critique] = Field(default_factory=list)
    topics: list[str] = Field(
        default_factory=list, description='topical wishes in words: "a heist", "set in space", "based on a true story"'
    )
    context: list[ContextText] = Field(
        default_factory=list, description="the conversation's recent user turns, newest last, weighted by recency"
    )
    avoid_ids: list[str] = Field(
        default_factory=list, description="items the user spoke against but that are not excluded outright"
    )
    shown_ids: list[str] = Field(
        default_factory=list,
        description="items already shown in this conversation that the user gave no stance on, newest last: "
        "weak item-to-item anchors (what the conversation is steering towards); never re-offered by this field",
    )
    named_ids: list[str] = Field(
        default_factory=list,
        description='items named without a stance or as seen ("have you seen Heat?", "I saw Heat"): their titles '
        "are taken out of the context turns the text source embeds (they would pull look-alike titles); neither "
        "anchors nor filters (a seen item is left out by the filters' exclude_ids)",
    )

    people: list[str] = Field(
        default_factory=list,
        description="people the user asked about; a catalog without cast matches them only to user tags of the name",
    )

    def is_empty(self) -> bool:
        return not (self.genres or self.critiques or self.topics or self.context or self.avoid_ids)


class RetrievalQuery(BaseModel):
    """Who is asking and what for. Any combination of fields may be set."""

    model_config = ConfigDict(extra="forbid")

    user_id: str | None = None
    liked_ids: list[str] = Field(default_factory=list)
    disliked_ids: list[str] = Field(default_factory=list)
    text: str | None = None
    filters: Filters = Field(default_factory=Filters)
    preferences: Preferences = Field(
        default_factory=Preferences, description="soft evidence (genres, critiques, topics, recent turns): re-ranks"
    )


class SourceHit(BaseModel):
    rank: int = Field(description="1-based rank within the source")
    score: float


class Candidate(BaseModel):
    item_id: str
    title: str
    year: int | None = None
    genres: list[str] = Field(default_factory=list)
    score: float = Field(description="fused score (weighted reciprocal rank, or the learned ranker's score)")
    sources: dict[str, SourceHit] = Field(default_factory=dict)
    anchor_id: str | None = Field(None, description="the liked item this candidate is most similar to")
    anchor_title: str | None = None
    on_request: bool | None = Field(
        None, description="whether it meets every facet the request named (None: the request named none)"
    )
    matched: list[str] = Field(default_factory=list, description="the request's facets it meets")

    @classmethod
    def from_item(cls, item, score: float, sources: dict[str, SourceHit] | None = None, title: str | None = None):
        """A catalog item as a candidate (``title`` overrides the catalog's, e.g. with the year added)."""
        return cls(
            item_id=item.id,
            title=title or item.title,
            year=item.year,
            genres=list(item.genres),
            score=score,
            sources=sources or {},
        )


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
