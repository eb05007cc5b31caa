"""The one ``Recommender`` that the CLI, the Python API and (later) HTTP are thin shells over.

It owns the loaded catalog and the retrieval components, built lazily from a
:class:`~recagent.settings.Settings`, so a command only pays for what it uses.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import cached_property

from pydantic import BaseModel, Field

from recagent.errors import ConfigError
from recagent.settings import Settings
from recagent.retrieval.attributes import ItemAttributes
from recagent.retrieval.base import RetrievalQuery
from recagent.retrieval.comentions import CoMentionRetriever
from recagent.retrieval.ease import EASERetriever
from recagent.retrieval.embeddings import Embedder
from recagent.retrieval.filters import Filters
from recagent.retrieval.hybrid import Candidate, HybridRetriever
from recagent.retrieval.loaders import ColumnMapping, Dataset, load_dataset
from recagent.retrieval.mf import MFRetriever
from recagent.retrieval.popularity import PopularityRetriever
from recagent.retrieval.preferences import PreferenceScorer
from recagent.retrieval.sequential import SequentialRetriever
from recagent.retrieval.titles import TitleMatch, TitleResolver
from recagent.retrieval.vector_store import IndexReport, VectorStore, collection_name, connect


class SearchHit(BaseModel):
    item_id: str
    title: str
    year: int | None = None
    genres: list[str] = Field(default_factory=list)
    score: float


class CandidateSet(BaseModel):
    """What retrieval returns for one request: the resolved context and the fused candidates."""

    query: RetrievalQuery
    resolved: list[TitleMatch] = Field(default_factory=list)
    candidates: list[Candidate]
    latency_ms: float


class IndexResult(BaseModel):
    vector: IndexReport
    mf_trained_on: int | None = Field(None, description="interactions the MF model was fitted on (None: no log)")


class Recommender:
    def __init__(self, settings: Settings | None = None, dataset: Dataset | None = None, show_progress: bool = False):
        self.settings = settings or Settings()
        self._dataset = dataset
        self.show_progress = show_progress
        if self.settings.blas_threads is not None:
            from threadpoolctl import threadpool_limits

            threadpool_limits(self.settings.blas_threads, "blas")  # process-wide, see Settings.blas_threads

    @classmethod
    def from_settings(cls, settings: Settings | None = None, show_progress: bool = False, **overrides) -> Recommender:
        """``Recommender.from_settings(catalog="products.csv", data_dir="/tmp/x")``: overrides beat env vars."""
        if settings is None:
            settings = Settings(**overrides)
        elif overrides:
            settings = settings.model_copy(update=overrides)
        return cls(settings, show_progress=show_progress)

    # ------------------------------------------------------------------ components (lazy)

    @property
    def dataset(self) -> Dataset:
        if self._dataset is None:
            s = self.settings
            try:
                columns = ColumnMapping(**s.columns)
            except ValueError as e:
                raise ConfigError(f"invalid column mapping {s.columns}: {e}") from None
            self._dataset = load_dataset(s.catalog, s.catalog_format, s.interactions, columns)
        return self._dataset

    @property
    def catalog(self):
        return self.dataset.catalog

    @cached_property
    def embedder(self) -> Embedder:
        return Embedder(self.settings.embedding_model, self.settings.embedding_batch_size)

    @cached_property
    def store(self) -> VectorStore:
        s = self.settings
        client = connect(path=str(s.chroma_path), host=s.chroma_host, port=s.chroma_port)
        name = s.collection or collection_name(self.catalog.name, self.embedder.name)
        return VectorStore(client, name, self.catalog, self.embedder)

    @cached_property
    def mf(self) -> MFRetriever | None:
        log = self.dataset.interactions
        if log is None or len(log) == 0:
            return None
        return MFRetriever.fit_or_load(log, self.settings.mf, self.settings.models_dir, self.show_progress)

    @cached_property
    def popularity(self) -> PopularityRetriever:
        return PopularityRetriever.from_log(self.dataset.interactions, self.catalog)

    @cached_property
    def ease(self) -> EASERetriever | None:
        log = self.dataset.interactions
        if log is None or len(log) == 0:
            return None
        return EASERetriever.fit_or_load(log, self.settings.ease, self.settings.models_dir, self.show_progress)

    @cached_property
    def sequential(self) -> SequentialRetriever | None:
        log = self.dataset.interactions
        if log is None or len(log) == 0:
            return None
        s = self.settings
        return SequentialRetriever.fit_or_load(log, s.sequential, s.models_dir, self.show_progress)

    @cached_property
    def hybrid(self) -> HybridRetriever:
        self.store.ensure_built()
        f = self.settings.fusion
        return HybridRetriever(
            self.catalog,
            self.store,
            self.mf,
            self.popularity,
            self.dataset.interactions,
            f,
            ease=self.ease if f.ease_weight > 0 else None,  # fitted (or loaded) only when fused
            sequential=self.sequential if f.sequential_weight > 0 else None,
            preferences=self.preference_scorer,
            comentions=CoMentionRetriever.load(self.catalog, half_life=f.comention_half_life),
        )

    @cached_property
    def preference_scorer(self) -> PreferenceScorer:
        """Soft preferences: context turns, topics, critiques (item attributes computed on first use)."""

        def attributes() -> ItemAttributes:
            s = self.settings
            return ItemAttributes.fit_or_load(
                self.catalog,
                lambda: self.store.embeddings(self.catalog.ids),
                self.embedder.embed,
                self.dataset.interactions,
                s.models_dir,
                self.embedder.name,
            )

        return PreferenceScorer(self.catalog, self.store, self.embedder, attributes, self.settings.fusion)

    @cached_property
    def resolver(self) -> TitleResolver:
        def vector_lookup(text: str, k: int) -> list[str]:
            if self.store.count() == 0:
                return []
            scored = self.store.search(self.embedder.embed_query(text), k)
            return [self.catalog.ids[p] for p in scored.positions]

        return TitleResolver(self.catalog, self.popularity.counts, vector_lookup)

    # ------------------------------------------------------------------ operations

    def index(self) -> IndexResult:
        """Embed new or changed items into the vector store and fit (or load) the MF model and the
        item-to-item models the fusion uses."""
        report = self.store.sync(show_progress=self.show_progress)
        mf = self.mf
        if self.settings.fusion.ease_weight > 0:
            _ = self.ease
        if self.settings.fusion.sequential_weight > 0:
            _ = self.sequential
        _ = self.preference_scorer.attributes  # computed (and cached) now, not on the first critique
        return IndexResult(vector=report, mf_trained_on=None if mf is None else int(mf.user_items.nnz))

    def search(self, text: str, k: int = 10, filters: Filters | None = None) -> list[SearchHit]:
        """Items whose text is nearest to ``text``."""
        if not text.strip():
            raise ConfigError("the search text is empty")
        self.store.ensure_built()
        query = RetrievalQuery(text=text, filters=(filters or Filters()).normalized(self.catalog))
        scored = self.store.retrieve(query, k)
        return [
            SearchHit(
                item_id=self.catalog.ids[p],
                title=self.catalog.items[p].title,
                year=self.catalog.items[p].year,
                genres=list(self.catalog.items[p].genres),
                score=round(float(s), 6),
            )
            for p, s in zip(scored.positions, scored.scores)
        ]

    def resolve_titles(self, titles: Sequence[str]) -> list[TitleMatch]:
        return self.resolver.resolve(titles)

    def query_filters(self, query: str | None, filters: Filters | None = None) -> Filters:
        """Constraints stated in a query ("from the 90s", "no horror", "only comedies") as hard filters,
        read by the same deterministic parser the chat uses, combined with explicit filters."""
        filters = filters or Filters()
        if not query:
            return filters
        from recagent.agent.understanding import parse_message

        u = parse_message(query, self.catalog.genre_vocab)
        stated = Filters(year_min=u.year_min, year_max=u.year_max, genres=u.genres, exclude_genres=u.exclude_genres)
        return stated.merged(filters)

    def candidates(
        self,
        user_id: str | int | None = None,
        likes: Sequence[str] = (),
        liked_ids: Sequence[str] = (),
        query: str | None = None,
        k: int | None = None,
        filters: Filters | None = None,
    ) -> CandidateSet:
        """Fused candidates for a known user, a new user's liked titles or ids, and/or a text query."""
        t0 = time.perf_counter()
        filters = self.query_filters(query, filters)
        resolved = self.resolve_titles(likes) if likes else []
        ids = list(dict.fromkeys([*map(str, liked_ids), *(m.item_id for m in resolved)]))
        for iid in ids:
            self.catalog.get(iid)  # UnknownItemError for an id not in the catalog
        rq = RetrievalQuery(
            user_id=None if user_id is None else str(user_id),
            liked_ids=ids,
            text=query or None,
            filters=filters or Filters(),
        )
        cands = self.hybrid.candidates(rq, k or self.settings.candidates)
        return CandidateSet(
            query=rq, resolved=resolved, candidates=cands, latency_ms=round((time.perf_counter() - t0) * 1000, 2)
        )

    # ------------------------------------------------------------------ the LLM side (lazy)

    @cached_property
    def backend(self):
        from recagent.agent.backends import create_backend

        return create_backend(self.settings)

    @cached_property
    def aux_backend(self):
        """A second backend for understanding and summaries: with llama.cpp, its own context, so
        the reranker's cached prompt prefix survives from one turn to the next."""
        from recagent.agent.backends import create_backend

        return create_backend(self.settings) if self.settings.llm_backend == "llama_cpp" else self.backend

    @cached_property
    def llm_cache(self):
        from recagent.agent.cache import DiskCache

        return DiskCache(self.settings.llm_cache_dir / "cache.sqlite")

    @cached_property
    def reranker(self):
        from recagent.agent.rerank import Reranker

        return Reranker(self.backend, self.settings.rerank, self.settings.llm.temperature, self.settings.llm.seed)

    @cached_property
    def summarizer(self):
        from recagent.agent.history import HistorySummarizer

        s = self.settings.rerank
        return HistorySummarizer(self.aux_backend, self.llm_cache, s.history_summary, s.domain)

    @cached_property
    def sessions(self):
        from recagent.agent.session import SessionStore

        return SessionStore(self.settings.sessions_url or self.settings.sessions_path)

    def history_summary(self, user_id: str | None, liked_ids: Sequence[str] = ()) -> str:
        """The user's taste in words, from the log (known users) and liked items."""
        from recagent.agent.history import history_facts

        log = self.dataset.interactions
        history = log.history(user_id) if user_id is not None and log is not None and user_id in log else None
        summary, _ = self.summarizer.summarize(history_facts(self.catalog, history, list(liked_ids)))
        return summary

    @cached_property
    def agent(self):
        from recagent.agent.chat import ChatAgent, ChatTools

        tools = ChatTools(
            candidates=lambda q, k: self.hybrid.candidates(q, k),
            resolve=self.resolver.resolve_all,
            summarize=self.history_summary,
            item_year=lambda iid: self.catalog.get(iid).year,
            genre_vocab=self.catalog.genre_vocab,
        )
        return ChatAgent(
            tools,
            self.reranker,
            self.sessions,
            understanding_backend=self.aux_backend if self.settings.understanding == "hybrid" else None,
            max_message_chars=self.settings.max_message_chars,
            candidates=self.settings.rerank.candidates,
        )

    def recommend(
        self,
        user_id: str | int | None = None,
        likes: Sequence[str] = (),
        liked_ids: Sequence[str] = (),
        query: str | None = None,
        k: int = 10,
        filters: Filters | None = None,
        rerank: bool = True,
        mode: str | None = None,
        bootstrap: int | None = None,
    ):
        """Ranked recommendations with explanations: retrieval, then (by default) the LLM reranker."""
        from recagent.agent.rerank import RerankRequest
        from recagent.agent.safety import clean_message

        t0 = time.perf_counter()
        if query:
            query = clean_message(query, self.settings.max_message_chars)
        n = max(k, self.settings.rerank.candidates) if rerank else k
        cs = self.candidates(user_id=user_id, likes=likes, liked_ids=liked_ids, query=query, k=n, filters=filters)
        request = RerankRequest(candidates=cs.candidates, request=query or "", k=k)
        if rerank:  # the history summary is prompt material: only the LLM path needs it (and may pay an LLM call)
            request.history = self.history_summary(cs.query.user_id, cs.query.liked_ids)
            response = self.reranker.rerank(request, mode=mode, bootstrap=bootstrap)
        else:
            from recagent.agent.rerank import Reranker

            response = Reranker(None).rerank(request)
        return response.model_copy(update={"latency_ms": round((time.perf_counter() - t0) * 1000, 2)})

    def chat(self, session_id: str, message: str, k: int = 5, user_id: str | int | None = None):
        """One chat turn in a persisted session; returns the same response model as ``recommend``."""
        return self.agent.turn(session_id, message, k=k, user_id=None if user_id is None else str(user_id))

    def feedback(self, session_id: str, item_id: str, kind: str):
        """Record a like, dislike or "seen" on one catalog item in a chat session; returns the new state."""
        self.catalog.get(item_id)  # UnknownItemError for an id not in the catalog
        return self.agent.feedback(session_id, item_id, kind)
