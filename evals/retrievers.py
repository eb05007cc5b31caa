"""Evaluate retrievers on a leave-one-out split: each variant ranks the full catalog for each user."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from recagent.evals.beyond import BEYOND_K
from recagent.evals.cases import CaseResult
from recagent.evals.metrics import score
from recagent.evals.protocols.loo import LooSplit
from recagent.retrieval.base import Candidate, RetrievalQuery, Scored, SourceHit
from recagent.retrieval.catalog import InteractionLog
from recagent.retrieval.ease import EASERetriever
from recagent.retrieval.embeddings import Embedder
from recagent.retrieval.hybrid import HybridRetriever
from recagent.retrieval.learned_ranker import DEFAULT_MODEL as LEARNED_RANKER_MODEL
from recagent.retrieval.learned_ranker import LearnedRanker
from recagent.retrieval.mf import MFRetriever
from recagent.retrieval.popularity import PopularityRetriever
from recagent.retrieval.progress import progress_bar
from recagent.retrieval.sequential import SequentialRetriever
from recagent.retrieval.sources import fusion_sources
from recagent.retrieval.vector_store import VectorStore, connect
from recagent.settings import EASESettings, FusionSettings, MFSettings, SequentialSettings

DEPTH = 100  # ranks deeper than this count as "not ranked"; every reported metric is @20 or less


class RetrieverVariant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    retriever: str = Field(pattern="^(popularity|als|vector|ease|sequential|hybrid)$")
    mf: MFSettings = Field(default_factory=MFSettings)
    ease: EASESettings = Field(default_factory=EASESettings)
    sequential: SequentialSettings = Field(default_factory=SequentialSettings)
    fusion: FusionSettings = Field(default_factory=FusionSettings)


def _rank(scored: Scored, target: int) -> int | None:
    hit = np.flatnonzero(scored.positions == target)
    return int(hit[0]) + 1 if len(hit) else None


def _with_inputs(model, inputs: InteractionLog, params=None):
    """A fitted model that sees users only through ``inputs`` (their input at query time): ALS factors
    re-solved from the input items with the item factors fixed; item-to-item models queried with it."""
    if isinstance(model, MFRetriever):
        user_items = inputs.matrix.copy()
        user_items.data = np.ones_like(user_items.data)
        model.model.partial_fit_users(np.arange(inputs.n_users), user_items)
        return MFRetriever(model.model, inputs.catalog, inputs.users, user_items)
    return type(model).from_arrays(inputs, params, model.active, model.weights)


class RetrieverBench:
    """The models a leave-one-out stage needs, fitted once per variant, and one user's ranking.

    ``fit_log`` is what the models are fitted on; ``log`` is each user's input at query time (what
    their ranking is computed from and excludes). They are one log unless the protocol fits on the
    training part only or caps the input (ml-latest-small-loo)."""

    def __init__(self, split: LooSplit, stage: str, data_dir: Path, embedder: Embedder, show_progress: bool = True):
        self.fit_log, self.targets = split.stage(stage)
        self.log = split.inputs(stage)
        self.catalog = self.log.catalog
        self._store_from = (data_dir, embedder, show_progress)
        self._store: VectorStore | None = None
        self.popularity = PopularityRetriever.from_log(self.fit_log, self.catalog)
        self._hybrids: dict[str, HybridRetriever] = {}
        self._ranker: LearnedRanker | None | bool = False  # False: not loaded yet

    @property
    def store(self) -> VectorStore:
        """The catalog's vector store, embedded on first use (variants without the vector source never wait)."""
        if self._store is None:
            data_dir, embedder, show_progress = self._store_from
            self._store = VectorStore(
                connect(path=str(data_dir / "chroma")), f"eval-{self.catalog.name}", self.catalog, embedder
            )
            self._store.sync(show_progress=show_progress)
        return self._store

    @property
    def built_store(self) -> VectorStore | None:
        """The store if a variant has already needed it (its vectors then cost nothing), else None."""
        return self._store

    @property
    def ranker(self) -> LearnedRanker | None:
        """The shipped learned ranker with the FIT log's statistics, as the Recommender attaches it (None when
        the catalog is not the one it was learned on)."""
        if self._ranker is False:
            ranker = LearnedRanker.load(LEARNED_RANKER_MODEL, self.catalog)
            self._ranker = ranker and ranker.attach(self.fit_log, self.store.embeddings(self.catalog.ids))
        return self._ranker

    @staticmethod
    def _key(variant: RetrieverVariant) -> str:
        """Variants with the same retriever and settings share their fitted models (names and LLMs aside)."""
        return variant.model_dump_json(include={"retriever", "mf", "ease", "sequential", "fusion"})

    def forget(self, variant: RetrieverVariant) -> None:
        """Drop the variant's fitted models (their dense weights can be large)."""
        self._hybrids.pop(self._key(variant), None)

    def hybrid(self, variant: RetrieverVariant) -> HybridRetriever:
        """The variant's fitted models (fitted on first use)."""
        key = self._key(variant)
        if key not in self._hybrids:
            r, f = variant.retriever, variant.fusion
            needs_mf = r in ("als", "hybrid")
            needs_ease = r == "ease" or (r == "hybrid" and f.ease_weight > 0)
            needs_seq = r == "sequential" or (r == "hybrid" and f.sequential_weight > 0)
            needs_vector = r == "vector" or (r == "hybrid" and f.vector_weight > 0)
            mf = MFRetriever.fit(self.fit_log, variant.mf, show_progress=False) if needs_mf else None
            ease = EASERetriever.fit(self.fit_log, variant.ease, show_progress=False) if needs_ease else None
            seq = SequentialRetriever.fit(self.fit_log, variant.sequential, show_progress=False) if needs_seq else None
            if self.log is not self.fit_log:
                mf = mf and _with_inputs(mf, self.log)
                ease = ease and _with_inputs(ease, self.log, variant.ease)
                seq = seq and _with_inputs(seq, self.log, variant.sequential)
            sources = fusion_sources(
                self.catalog,
                vector=self.store if needs_vector else None,
                mf=mf,
                popularity=self.popularity,
                log=self.log,
                ease=ease,
                sequential=seq,
            )
            self._hybrids[key] = HybridRetriever(
                self.catalog,
                sources,
                variant.fusion,
                log=self.log,
                ranker=self.ranker if r == "hybrid" and f.learned_ranker and needs_vector and needs_seq else None,
            )
        return self._hybrids[key]

    def ranking(self, variant: RetrieverVariant, user: str, depth: int = DEPTH) -> Scored:
        """The user's ranking of the catalog (history excluded), best first."""
        hybrid = self.hybrid(variant)
        seen = self.log.seen_positions(user)
        query = RetrievalQuery(user_id=user)
        if variant.retriever == "popularity":
            return self.popularity.retrieve(query, depth, exclude=seen)
        if variant.retriever == "als":
            return hybrid.model("mf").retrieve(query, depth, exclude=seen)
        if variant.retriever == "vector":
            anchors = RetrievalQuery(liked_ids=hybrid.history_anchors(user))
            return self.store.retrieve(anchors, depth, exclude=seen)
        if variant.retriever in ("ease", "sequential"):
            return hybrid.model(variant.retriever).retrieve(query, depth, exclude=seen)
        cands = hybrid.candidates(query, depth)
        return Scored(self.catalog.positions(c.item_id for c in cands), np.array([c.score for c in cands]))

    def candidates(self, variant: RetrieverVariant, user: str, n: int) -> list[Candidate]:
        """The top ``n`` as rerank candidates (title, genres, retrieval score and source)."""
        if variant.retriever == "hybrid":
            return self.hybrid(variant).candidates(RetrievalQuery(user_id=user), n)
        scored = self.ranking(variant, user, n)
        return [
            Candidate.from_item(
                self.catalog.items[pos], float(sc), {variant.retriever: SourceHit(rank=r, score=float(sc))}
            )
            for r, (pos, sc) in enumerate(zip(scored.positions.tolist(), scored.scores.tolist()), start=1)
        ]


def evaluate(
    split: LooSplit,
    stage: str,
    variants: Iterable[RetrieverVariant],
    metrics: list[str],
    data_dir: Path,
    embedder: Embedder,
    users: list[str] | None = None,
    show_progress: bool = True,
    bench: RetrieverBench | None = None,
) -> tuple[dict[str, dict[str, float]], list[CaseResult]]:
    bench = bench or RetrieverBench(split, stage, data_dir, embedder, show_progress)
    targets, catalog = bench.targets, bench.catalog
    users = users or sorted(targets)
    summary: dict[str, dict[str, float]] = {}
    cases: list[CaseResult] = []
    for variant in variants:
        t0 = time.perf_counter()
        bench.hybrid(variant)  # fit before the clock of the first user
        ranks = []
        with progress_bar(f"{variant.name} ({stage})", len(users), show_progress) as advance:
            for user in users:
                ranked = bench.ranking(variant, user)
                rank = _rank(ranked, targets[user])
                ranks.append(rank)
                top = [catalog.ids[p] for p in ranked.positions[:BEYOND_K].tolist()]
                cases.append(
                    CaseResult(variant=variant.name, user=user, target=catalog.ids[targets[user]], rank=rank, top=top)
                )
                advance(1)
        summary[variant.name] = {
            **score(ranks, metrics),
            "users": len(users),
            "seconds": round(time.perf_counter() - t0, 2),
        }
    return summary, cases
