"""Evaluate retrievers on a leave-one-out split: each variant ranks the full catalog for each user."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from evals.metrics import score
from evals.protocols.loo import LooSplit
from recagent.settings import FusionSettings, MFSettings
from retrieval.base import RetrievalQuery, Scored
from retrieval.embeddings import Embedder
from retrieval.hybrid import HybridRetriever
from retrieval.mf import MFRetriever
from retrieval.popularity import PopularityRetriever
from retrieval.progress import progress_bar
from retrieval.vector_store import VectorStore, connect

DEPTH = 100  # ranks deeper than this count as "not ranked"; every reported metric is @20 or less


class RetrieverVariant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    retriever: str = Field(pattern="^(popularity|als|vector|hybrid)$")
    mf: MFSettings = Field(default_factory=MFSettings)
    fusion: FusionSettings = Field(default_factory=FusionSettings)


class CaseResult(BaseModel):
    variant: str
    user: str
    target: str
    rank: int | None


def _rank(scored: Scored, target: int) -> int | None:
    hit = np.flatnonzero(scored.positions == target)
    return int(hit[0]) + 1 if len(hit) else None


def evaluate(
    split: LooSplit,
    stage: str,
    variants: Iterable[RetrieverVariant],
    metrics: list[str],
    data_dir: Path,
    embedder: Embedder,
    users: list[str] | None = None,
    show_progress: bool = True,
) -> tuple[dict[str, dict[str, float]], list[CaseResult]]:
    log, targets = split.stage(stage)
    catalog = log.catalog
    users = users or sorted(targets)
    store = VectorStore(connect(path=str(data_dir / "chroma")), f"eval-{catalog.name}", catalog, embedder)
    store.sync(show_progress=show_progress)
    popularity = PopularityRetriever.from_log(log, catalog)
    summary: dict[str, dict[str, float]] = {}
    cases: list[CaseResult] = []
    for variant in variants:
        t0 = time.perf_counter()
        mf = MFRetriever.fit(log, variant.mf, show_progress=False) if variant.retriever in ("als", "hybrid") else None
        hybrid = HybridRetriever(catalog, store, mf, popularity, log, variant.fusion)
        ranks = []
        with progress_bar(f"{variant.name} ({stage})", len(users), show_progress) as advance:
            for user in users:
                seen = log.seen_positions(user)
                query = RetrievalQuery(user_id=user)
                if variant.retriever == "popularity":
                    scored = popularity.retrieve(query, DEPTH, exclude=seen)
                elif variant.retriever == "als":
                    scored = mf.retrieve(query, DEPTH, exclude=seen)
                elif variant.retriever == "vector":
                    anchors = RetrievalQuery(liked_ids=hybrid.history_anchors(user))
                    scored = store.retrieve(anchors, DEPTH, exclude=seen)
                else:
                    cands = hybrid.candidates(query, DEPTH)
                    scored = Scored(catalog.positions(c.item_id for c in cands), np.array([c.score for c in cands]))
                rank = _rank(scored, targets[user])
                ranks.append(rank)
                cases.append(CaseResult(variant=variant.name, user=user, target=catalog.ids[targets[user]], rank=rank))
                advance(1)
        summary[variant.name] = {
            **score(ranks, metrics),
            "users": len(users),
            "seconds": round(time.perf_counter() - t0, 2),
        }
    return summary, cases
