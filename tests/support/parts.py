"""Sharing one Recommender's loaded parts with another built on the same data."""

from __future__ import annotations

from recagent.recommender import Recommender

RETRIEVAL_PARTS = ("embedder", "store", "mf", "popularity", "ease", "sequential", "dialogues", "hybrid", "resolver")


def retrieval_parts(rec: Recommender) -> dict:
    """``rec``'s loaded retrieval components (index, ALS, EASE, next-item, MiniLM), to build another
    Recommender on the same data with :meth:`Recommender.from_parts` without loading them again."""
    return {name: getattr(rec, name) for name in RETRIEVAL_PARTS}
