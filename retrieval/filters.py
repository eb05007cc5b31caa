"""Hard constraints on candidates: year range, genres in or out, ids out.

The same ``Filters`` value becomes a Chroma ``where`` clause for the vector store
and a boolean mask over catalog positions for the MF and popularity retrievers,
so every source honours exactly the same constraints.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from rapidfuzz import process

from recagent.errors import UserError
from recagent.retrieval.catalog import Catalog


class InvalidFilterError(UserError):
    code = "invalid_filter"
    status = 422


class Filters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year_min: int | None = None
    year_max: int | None = None
    genres: list[str] = Field(default_factory=list, description="keep items with at least one of these")
    exclude_genres: list[str] = Field(default_factory=list, description="drop items with any of these")
    exclude_ids: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_range(self) -> Filters:
        if self.year_min is not None and self.year_max is not None and self.year_min > self.year_max:
            raise ValueError(f"year_min {self.year_min} is after year_max {self.year_max}")
        return self

    @property
    def is_empty(self) -> bool:
        return not (self.year_min or self.year_max or self.genres or self.exclude_genres or self.exclude_ids)

    @property
    def states_a_filter(self) -> bool:
        """Whether a period, a genre or a genre against is set (what a person states; not the items left out)."""
        return self.year_min is not None or self.year_max is not None or bool(self.genres or self.exclude_genres)

    def normalized(self, catalog: Catalog) -> Filters:
        """Map genre names onto the catalog's vocabulary (case-insensitive); unknown ones are an error."""
        vocab = {g.lower(): g for g in catalog.genre_vocab}

        def fix(names: list[str]) -> list[str]:
            out = []
            for name in names:
                key = name.strip().lower()
                if key in vocab:
                    out.append(vocab[key])
                    continue
                close = [m[0] for m in process.extract(name, catalog.genre_vocab, limit=3, score_cutoff=60)]
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise InvalidFilterError(f"unknown genre {name!r}{hint} (known: {', '.join(catalog.genre_vocab)})")
            return out

        return self.model_copy(update={"genres": fix(self.genres), "exclude_genres": fix(self.exclude_genres)})

    def merged(self, other: Filters) -> Filters:
        """Both sets of constraints at once (the tighter year range, the union of exclusions)."""

        def tighter(a, b, pick):
            return b if a is None else a if b is None else pick(a, b)

        return Filters(
            year_min=tighter(self.year_min, other.year_min, max),
            year_max=tighter(self.year_max, other.year_max, min),
            genres=list(dict.fromkeys(self.genres + other.genres)),
            exclude_genres=list(dict.fromkeys(self.exclude_genres + other.exclude_genres)),
            exclude_ids=list(dict.fromkeys(self.exclude_ids + other.exclude_ids)),
        )

    def to_where(self) -> dict[str, Any] | None:
        """The Chroma ``where`` clause (metadata: ``year`` int, ``genres`` string array)."""
        clauses: list[dict[str, Any]] = []
        if self.year_min is not None:
            clauses.append({"year": {"$gte": self.year_min}})
        if self.year_max is not None:
            clauses.append({"year": {"$lte": self.year_max}})
        if self.genres:
            anyof = [{"genres": {"$contains": g}} for g in self.genres]
            clauses.append(anyof[0] if len(anyof) == 1 else {"$or": anyof})
        for g in self.exclude_genres:
            clauses.append({"genres": {"$not_contains": g}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def mask(self, catalog: Catalog) -> np.ndarray | None:
        """Boolean mask of allowed catalog positions, or None when nothing is filtered."""
        if self.is_empty:
            return None
        keep = np.ones(len(catalog), dtype=bool)
        years = catalog.years
        with np.errstate(invalid="ignore"):
            if self.year_min is not None:
                keep &= years >= self.year_min  # unknown year (NaN) never passes a year filter
            if self.year_max is not None:
                keep &= years <= self.year_max
        col = {g: j for j, g in enumerate(catalog.genre_vocab)}
        gm = catalog.genre_matrix
        if self.genres:
            idx = [col[g] for g in self.genres if g in col]
            keep &= gm[:, idx].any(axis=1) if idx else False
        for g in self.exclude_genres:
            if g in col:
                keep &= ~gm[:, col[g]]
        for iid in self.exclude_ids:
            if iid in catalog:
                keep[catalog.position(iid)] = False
        return keep
