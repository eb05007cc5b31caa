"""Retrievers for a conversation, and the ReDial evaluation (protocol: ``evals/protocols/redial.py``).

Each source scores the whole catalog for a case from its dialogue so far:

* ``popularity``: how often each movie was suggested in ``train_data_subset500`` (not ReDial's
  ``nbMentions``, which counts over every split, test included);
* ``text``: the MiniLM embedding of the context turns (each turn embedded alone, recent turns weighted
  up by ``recency`` per turn back) against the title vectors of the Chroma store (exact search);
* ``items``: vector neighbours of the movies mentioned in the context (recent mentions weighted up);
* ``cooc``: movies co-mentioned with the context's movies in the train dialogues (counts of dialogues
  mentioning both, divided by the square roots of each movie's dialogue count);
* ``movielens``: rating-vector cosine neighbours of the context's movies in MovieLens
  (``retrieval/redial_bridge.py``: external data, matched by title and year);
* ``dialogues``: the suggestions of the 50 train contexts most similar to this one (same text embedding).

A variant ranks with one source (``vector`` is ``text`` and ``items`` averaged into one query vector)
or fuses them all by weighted reciprocal-rank fusion (``hybrid``). Ties, and cases a source knows
nothing about (no context, no mentioned movie), fall back to train popularity. Weights and
``recency`` were tuned on ``valid_data_subset100`` only (see ``ConversationalFusion``).

``RedialEvaluator`` holds the fitted sources for one run; ``evaluate_redial`` is the one-call entry
point; ``RedialEvaluator.candidates`` gives an LLM reranking variant its request and top-N.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from recagent.evals.beyond import BEYOND_K, ItemFacts, catalog_facts
from recagent.evals.cases import CaseResult
from recagent.evals.metrics import score
from recagent.evals.protocols.redial import RedialCase, RedialData, Targets, dialogue_cases
from recagent.retrieval.base import Scored, top_k
from recagent.retrieval.embeddings import Embedder
from recagent.retrieval.progress import progress_bar
from recagent.retrieval.redial_bridge import MovieLensSimilarity
from recagent.retrieval.redial_data import Dialogue
from recagent.retrieval.vector_store import VectorStore, collection_name, connect

DEPTH = 100  # ranks deeper than this count as "not ranked"; every reported metric is @50 or less
REDIAL_METRICS = ["recall@1", "recall@10", "recall@50"]
SOURCES = ("popularity", "text", "items", "cooc", "movielens", "dialogues")
NEIGHBOURS = 50  # similar train contexts that vote in the dialogues source
TIE_BREAK = 1e-6  # popularity, scaled to [0, TIE_BREAK], is added to every source's scores


class ConversationalFusion(BaseModel):
    """Weighted reciprocal-rank fusion of the sources, ``sum(weight / (rrf_k + rank))``."""

    model_config = ConfigDict(extra="forbid")

    # Tuned on valid_data_subset100 (362 cases; never test) over a grid of recency {0.5, 0.7},
    # rrf_k {10, 20, 40}, popularity {0.25, 0.5}, text {0, 0.25}, items {0.5, 1}, movielens {0.5, 1},
    # dialogues {0, 0.25, 0.5, 1}, cooc 1, by recall@10 + new/recall@10 + (recall@50 + new/recall@50) / 2.
    # The best dozen settings are within noise of each other (one case is 0.003 of recall here).
    popularity: float = Field(0.25, ge=0)
    text: float = Field(0.25, ge=0)
    items: float = Field(1.0, ge=0)
    cooc: float = Field(1.0, ge=0)
    movielens: float = Field(1.0, ge=0)
    dialogues: float = Field(0.5, ge=0)
    rrf_k: float = Field(20.0, gt=0)
    per_source: int = Field(200, ge=1, description="ranks taken from each source before fusion")

    def weights(self) -> dict[str, float]:
        return {s: getattr(self, s) for s in SOURCES}


class ConversationalVariant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    retriever: Literal["popularity", "text", "items", "vector", "cooc", "movielens", "dialogues", "hybrid"]
    recency: float = Field(0.7, gt=0, le=1, description="weight of a turn (or mention) per turn back")
    fusion: ConversationalFusion = Field(default_factory=ConversationalFusion)


DEFAULT_VARIANTS = [
    ConversationalVariant(name=name, retriever=name)
    for name in ("popularity", "text", "items", "vector", "cooc", "movielens", "dialogues", "hybrid")
]


class RedialCaseResult(CaseResult):
    """A case's target rank (``user`` is ``dialogue_id:turn``); ``rank_new`` ranks without earlier mentions."""

    new: bool
    rank_new: int | None = None  # for new targets: the rank once the context's movies are removed


def _normalise(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    return v / n if n > 0 else v


class ConversationalSources:
    """The sources, fitted on the train dialogues (and MovieLens), scoring the catalog for a ReDial case."""

    def __init__(self, data: RedialData, store: VectorStore, embedder: Embedder, train: Sequence[Dialogue]):
        self.catalog = data.catalog
        self.embedder = embedder
        n = len(self.catalog)
        self.vectors = store.embeddings(self.catalog.ids)  # (n, dim), unit rows, from the Chroma store
        train_cases = [c for d in train for c in dialogue_cases(d, data.catalog)]
        self.popularity = np.bincount(self.catalog.positions(c.target for c in train_cases), minlength=n).astype(float)
        self.cooc = _co_mentions(train, self.catalog, n)
        self.movielens = MovieLensSimilarity(self.catalog)
        self._train_cases = [c for c in train_cases if c.context]
        self._train_targets = self.catalog.positions(c.target for c in self._train_cases)
        self._train_matrix: dict[float, np.ndarray] = {}
        top = self.popularity.max() or 1.0
        self.tie_break = TIE_BREAK * self.popularity / top
        self._turns: dict[str, np.ndarray] = {}

    def embed_turns(self, cases: Iterable[RedialCase], show_progress: bool = False) -> None:
        """Embed every context turn not yet embedded, in batches (a dialogue's cases share turns)."""
        todo = list(dict.fromkeys(t for c in cases for t in c.context if t not in self._turns))
        batch = 256
        with progress_bar("embedding dialogue turns", len(todo), show_progress) as advance:
            for start in range(0, len(todo), batch):
                chunk = todo[start : start + batch]
                for text, vec in zip(chunk, self.embedder.embed(chunk)):
                    self._turns[text] = vec
                advance(len(chunk))

    def _turn_weights(self, case: RedialCase, recency: float) -> np.ndarray:
        ages = np.arange(len(case.context))[::-1]  # the last context turn is 0 turns back
        return recency**ages

    def text_query(self, case: RedialCase, recency: float) -> np.ndarray | None:
        if not case.context:
            return None
        self.embed_turns([case])
        vecs = np.stack([self._turns[t] for t in case.context])
        return _normalise(self._turn_weights(case, recency) @ vecs)

    def train_contexts(self, recency: float) -> np.ndarray:
        """Text query vectors of the train cases (for the dialogues source), one row per case."""
        if recency not in self._train_matrix:
            self.embed_turns(self._train_cases)
            self._train_matrix[recency] = np.stack([self.text_query(c, recency) for c in self._train_cases])
        return self._train_matrix[recency]

    def mention_weights(self, case: RedialCase, recency: float) -> np.ndarray:
        ages = case.turn - 1 - np.asarray(case.mention_turns)
        return recency**ages

    def items_query(self, case: RedialCase, recency: float) -> np.ndarray | None:
        if not case.mentioned:
            return None
        pos = self.catalog.positions(case.mentioned)
        return _normalise(self.mention_weights(case, recency) @ self.vectors[pos])

    def scores(self, case: RedialCase, source: str, recency: float) -> np.ndarray | None:
        """Dense scores over the catalog, higher is better; None when the source knows nothing of the case."""
        if source == "popularity":
            return self.popularity + self.tie_break
        if source == "text":
            q = self.text_query(case, recency)
        elif source == "items":
            q = self.items_query(case, recency)
        elif source == "vector":
            parts = [p for p in (self.text_query(case, recency), self.items_query(case, recency)) if p is not None]
            q = _normalise(np.mean(parts, axis=0)) if parts else None
        elif source == "cooc":
            if not case.mentioned:
                return None
            pos = self.catalog.positions(case.mentioned)
            s = np.asarray(self.cooc[pos].T @ self.mention_weights(case, recency)).ravel()
            return s + self.tie_break if s.any() else None
        elif source == "dialogues":
            q = self.text_query(case, recency)
            if q is None:
                return None
            sims = self.train_contexts(recency) @ q
            top = top_k(sims, NEIGHBOURS)
            s = np.bincount(
                self._train_targets[top.positions], weights=np.maximum(top.scores, 0), minlength=len(self.catalog)
            )
            return s + self.tie_break
        elif source == "movielens":
            if not case.mentioned:
                return None
            s = self.movielens.scores(self.catalog.positions(case.mentioned), self.mention_weights(case, recency))
            return None if s is None else s + self.tie_break
        else:
            raise ValueError(f"unknown source {source!r}")
        return None if q is None else self.vectors @ q + self.tie_break

    def rank(self, case: RedialCase, variant: ConversationalVariant, k: int) -> Scored:
        """The top k catalog positions for the case, best first (earlier mentions included)."""
        if variant.retriever != "hybrid":
            s = self.scores(case, variant.retriever, variant.recency)
            return top_k(self.popularity + self.tie_break if s is None else s, k)
        fusion = variant.fusion
        fused = np.zeros(len(self.catalog))
        for source, weight in fusion.weights().items():
            s = self.scores(case, source, variant.recency) if weight > 0 else None
            if s is None:
                continue
            top = top_k(s, fusion.per_source)
            fused[top.positions] += weight / (fusion.rrf_k + np.arange(1, len(top) + 1))
        return top_k(fused + self.tie_break, k)


def _co_mentions(dialogues: Sequence[Dialogue], catalog, n: int) -> sp.csr_matrix:
    """Symmetric count of train dialogues mentioning both movies, normalised by sqrt of each one's count."""
    rows, cols = [], []
    for d in dialogues:
        movies = catalog.positions(dict.fromkeys(m for t in d.turns for m in t.movies if m in catalog))
        a, b = np.meshgrid(movies, movies)
        off = a != b
        rows.append(a[off])
        cols.append(b[off])
    r, c = (np.concatenate(x) if x else np.empty(0, dtype=np.int64) for x in (rows, cols))
    m = sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(n, n))
    m.sum_duplicates()
    df = np.zeros(n)
    for d in dialogues:
        for p in set(catalog.positions(m for t in d.turns for m in t.movies if m in catalog)):
            df[p] += 1
    inv = sp.diags(1.0 / np.sqrt(np.maximum(df, 1)))
    return (inv @ m @ inv).tocsr()


def _rank_of(positions: np.ndarray, target: int) -> int | None:
    hit = np.flatnonzero(positions == target)
    return int(hit[0]) + 1 if len(hit) else None


class RedialEvaluator:
    """The ReDial data, the Chroma store of titles and the fitted sources, for evaluating variants."""

    def __init__(self, data: RedialData, data_dir: Path, embedder: Embedder, show_progress: bool = False):
        self.data = data
        self.catalog = data.catalog
        client = connect(path=str(Path(data_dir) / "chroma"))
        self.store = VectorStore(
            client, collection_name(f"eval-{self.catalog.name}", embedder.name), self.catalog, embedder
        )
        self.store.sync(show_progress=show_progress)
        self.sources = ConversationalSources(data, self.store, embedder, data.dialogues("train"))

    @classmethod
    def load(cls, redial_dir: Path, data_dir: Path, embedder: Embedder, show_progress: bool = False) -> RedialEvaluator:
        return cls(RedialData.load(redial_dir), data_dir, embedder, show_progress)

    def cases(
        self, split: str = "test", limit: int | None = None, seed: int = 0, targets: Targets = "suggested"
    ) -> list[RedialCase]:
        if split == "train":
            raise ValueError("the train dialogues fit popularity and co-occurrence: evaluate on 'valid' or 'test'")
        return self.data.cases(split, limit, seed, targets)

    def candidates(self, case: RedialCase, variant: ConversationalVariant, n: int = 20) -> tuple[str, np.ndarray]:
        """(the dialogue so far as one text, the top n catalog positions) for reranking with an LLM.

        Movies mentioned earlier are removed from the candidates (a reranker should suggest something
        new; for repeated targets use ``rank``).
        """
        ranked = self.sources.rank(case, variant, n + len(case.mentioned)).positions
        if case.mentioned:
            ranked = ranked[~np.isin(ranked, self.catalog.positions(case.mentioned))]
        return case.context_text, ranked[:n]

    def rank(self, case: RedialCase, variant: ConversationalVariant) -> tuple[int | None, int | None]:
        """(rank of the target among all movies, rank once earlier mentions are removed), 1-based, to DEPTH."""
        return self.ranked(case, variant)[:2]

    def ranked(self, case: RedialCase, variant: ConversationalVariant) -> tuple[int | None, int | None, list[str]]:
        """``rank`` and the top BEYOND_K ids with earlier mentions removed (what a recommender that does not
        repeat the dialogue shows: the list of the beyond-accuracy metrics)."""
        ranked = self.sources.rank(case, variant, DEPTH + len(case.mentioned)).positions
        target = self.catalog.position(case.target)
        rank = _rank_of(ranked[:DEPTH], target)
        if case.mentioned:
            ranked = ranked[~np.isin(ranked, self.catalog.positions(case.mentioned))]
        top = [self.catalog.ids[p] for p in ranked[:BEYOND_K].tolist()]
        return rank, _rank_of(ranked[:DEPTH], target), top

    def item_facts(self) -> ItemFacts:
        """The catalog for the beyond-accuracy metrics: ReDial's mention counts, the MovieLens genres of the
        films the bridge matches, the store's title vectors."""
        facts = catalog_facts(
            self.catalog,
            self.data.mention_counts(),
            "ReDial's nbMentions (mentions over all ReDial dialogues, test included; never used to rank)",
            store=self.store,
        )
        facts.genres = self.data.movielens_genres()
        facts.genre_source = (
            f"MovieLens genres of the films the title/year bridge matches ({len(facts.genres):,} of "
            f"{len(self.catalog):,}); pairs with an unmatched film are left out"
        )
        return facts

    def evaluate(
        self,
        cases: list[RedialCase],
        variants: Iterable[ConversationalVariant] = DEFAULT_VARIANTS,
        metrics: Sequence[str] = REDIAL_METRICS,
        show_progress: bool = True,
    ) -> tuple[dict[str, dict[str, float]], list[RedialCaseResult]]:
        """Per variant: ``metrics`` over all cases, ``new/<metric>`` over new cases, case and dialogue counts."""
        self.sources.embed_turns(cases, show_progress=show_progress)
        summary: dict[str, dict[str, float]] = {}
        results: list[RedialCaseResult] = []
        for variant in variants:
            t0 = time.perf_counter()
            ranks, new_ranks = [], []
            with progress_bar(f"{variant.name} (redial)", len(cases), show_progress) as advance:
                for case in cases:
                    rank, rank_new, top = self.ranked(case, variant)
                    ranks.append(rank)
                    if case.new:
                        new_ranks.append(rank_new)
                    results.append(
                        RedialCaseResult(
                            variant=variant.name,
                            user=case.user,
                            target=case.target,
                            rank=rank,
                            new=case.new,
                            rank_new=rank_new if case.new else None,
                            top=top,
                        )
                    )
                    advance(1)
            summary[variant.name] = {
                **score(ranks, metrics),
                **{f"new/{k}": v for k, v in score(new_ranks, metrics).items()},
                "users": len(cases),
                "new_users": len(new_ranks),
                "dialogues": len({c.dialogue_id for c in cases}),
                "seconds": round(time.perf_counter() - t0, 2),
            }
        return summary, results


def evaluate_redial(
    redial_dir: Path,
    data_dir: Path,
    embedder: Embedder,
    split: str = "test",
    variants: Iterable[ConversationalVariant] = DEFAULT_VARIANTS,
    metrics: Sequence[str] = REDIAL_METRICS,
    limit: int | None = None,
    seed: int = 0,
    targets: Targets = "suggested",
    show_progress: bool = True,
) -> tuple[dict[str, dict[str, float]], list[RedialCaseResult]]:
    """Evaluate variants on a ReDial split ('valid' to tune, 'test' to report).

    ``redial_dir`` is ``settings.shared_data / "redial"`` (DatasetMissing when absent); ``data_dir`` holds
    the eval Chroma store (``settings.data_dir / "evals"``); ``limit`` samples that many dialogues.
    """
    evaluator = RedialEvaluator.load(redial_dir, data_dir, embedder, show_progress)
    cases = evaluator.cases(split, limit, seed, targets)
    return evaluator.evaluate(cases, variants, metrics, show_progress)
