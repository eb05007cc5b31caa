"""Popularity retriever: the cold-start fallback when nothing is known about a user."""

from __future__ import annotations

import numpy as np

from recagent.retrieval.base import RetrievalQuery, Scored, allowed_mask, top_k
from recagent.retrieval.catalog import Catalog, InteractionLog


class PopularityRetriever:
    name = "popularity"

    def __init__(self, catalog: Catalog, counts: np.ndarray):
        if len(counts) != len(catalog):
            raise ValueError("one count per catalog item is needed")
        self.catalog = catalog
        self.counts = np.asarray(counts, dtype=np.float64)

    @classmethod
    def from_log(cls, log: InteractionLog | None, catalog: Catalog) -> PopularityRetriever:
        counts = log.item_counts if log is not None else np.zeros(len(catalog))
        return cls(catalog, counts)

    def retrieve(
        self,
        query: RetrievalQuery,
        k: int,
        exclude: np.ndarray | None = None,
        items: np.ndarray | None = None,
    ) -> Scored:
        mask = allowed_mask(len(self.catalog), query.filters.mask(self.catalog), exclude, items)
        return top_k(self.counts, k, mask)
