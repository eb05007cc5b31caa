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
from recagent.retrieval.base import Candidate, RetrievalQuery
from recagent.retrieval.comentions import CoMentionRetriever
from recagent.retrieval.dialogues import DialogueRetriever
from recagent.retrieval.ease import EASERetriever
from recagent.retrieval.embeddings import Embedder
from recagent.retrieval.filters import Filters
from recagent.retrieval.hybrid import HybridRetriever
from recagent.retrieval.learned_ranker import DEFAULT_MODEL as LEARNED_RANKER_MODEL, LearnedRanker
from recagent.retrieval.loaders import ColumnMapping, Dataset, load_dataset
from recagent.retrieval.mf import MFRetriever
from recagent.retrieval.popularity import PopularityRetriever
from recagent.retrieval.preferences import PreferenceScorer
from recagent.retrieval.sequential import SequentialRetriever
from recagent.retrieval.sources import fusion_sources
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
        # no process-wide settings here (BLAS threads): the CLI and the server apply Settings.blas_threads

    @classmethod
    def from_parts(
        cls, settings: Settings | None = None, dataset: Dataset | None = None, show_progress: bool = False, **parts
    ) -> Recommender:
        """A Recommender with some components given rather than built, e.g. an already loaded embedder
        or LLM backend: ``Recommender.from_parts(settings, embedder=e, backend=b)``. Any lazy component
        (see :meth:`part_names`) may be given; the others are built from the settings when first used."""
        unknown = set(parts) - set(cls.part_names())
        if unknown:
            raise TypeError(f"not Recommender parts: {sorted(unknown)}; parts are {cls.part_names()}")
        rec = cls(settings, dataset=dataset, show_progress=show_progress)
        for name, value in parts.items():
            rec.__dict__[name] = value  # where functools.cached_property keeps a built value
        return rec

    @classmethod
    def part_names(cls) -> list[str]:
        """The lazily built components, which :meth:`from_parts` accepts and :meth:`built_parts` reports."""
        names = {n: None for k in reversed(cls.__mro__) for n, v in vars(k).items() if isinstance(v, cached_property)}
        return list(names)

    def built_parts(self) -> dict:
        """The components built (or given) so far, by name."""
        return {n: self.__dict__[n] for n in self.part_names() if n in self.__dict__}

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
        f, log = self.settings.fusion, self.dataset.interactions
        sources = fusion_sources(
            self.catalog,
            vector=self.store,
            mf=self.mf,
            popularity=self.popularity,
            log=log,
            ease=self.ease if f.ease_weight > 0 else None,  # fitted (or loaded) only when fused
            sequential=self.sequential if f.sequential_weight > 0 else None,
            preferences=self.preference_scorer,
            comentions=CoMentionRetriever.load(self.catalog, half_life=f.comention_half_life),
            dialogues=self.dialogues if f.dialogue_weight > 0 else None,
        )
        return HybridRetriever(
            self.catalog,
            sources,
            f,
            log=log,
            preferences=self.preference_scorer,
            ranker=lambda: self.learned_ranker,  # attached (about 1 s) on the first known-user history query
        )

    @cached_property
    def learned_ranker(self) -> LearnedRanker | None:
        """The shipped learned ranker for a known user's history query (bundled MovieLens catalogs only),
        with the statistics of the interaction log the models are fitted on; None when off or not applicable."""
        log, f = self.dataset.interactions, self.settings.fusion
        if not f.learned_ranker or log is None or len(log) == 0 or f.sequential_weight <= 0:
            return None
        ranker = LearnedRanker.load(LEARNED_RANKER_MODEL, self.catalog)
        if ranker is None:
            return None
        self.store.ensure_built()
        return ranker.attach(log, self.store.embeddings(self.catalog.ids))

    @cached_property
    def dialogues(self) -> DialogueRetriever | None:
        """The similar-dialogue source (ReDial train, bundled catalog only): the bundled MiniLM's turn vectors
        ship with it, another model's are embedded on first use (``index`` does it). Its train contexts are
        weighted as the chat weighs its own context turns."""
        from recagent.agent.state import CONTEXT_DECAY, CONTEXT_TURNS

        f = self.settings.fusion
        return DialogueRetriever.load(
            self.catalog,
            self.embedder.embed,
            self.embedder.embed_queries,
            self.settings.models_dir,
            self.embedder.name,
            neighbours=f.dialogue_neighbours,
            sharpness=f.dialogue_sharpness,
            decay=CONTEXT_DECAY,
            max_turns=CONTEXT_TURNS,
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
        if self.settings.fusion.dialogue_weight > 0 and self.dialogues is not None:
            _ = self.dialogues.context_vectors  # likewise, not on the first chat turn
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

    def read_query(self, query: str):
        """The deterministic parser's reading of a one-shot query (what ``query_filters`` and
        ``query_preferences`` take from it; pass it to both to read the query once)."""
        from recagent.agent.understanding import parse_message

        return parse_message(query, self.catalog.genre_vocab)

    def query_filters(self, query: str | None, filters: Filters | None = None, reading=None) -> Filters:
        """Constraints stated explicitly in a query ("from the 90s", "no horror", "only comedies") as hard
        filters, read by the same deterministic parser the chat uses, combined with explicit filters.
        Genres and years mentioned in passing ("I love horror", "I grew up in the 80s") are not filters.
        A query that contradicts itself ("before 1980 and after 2000") is an ``InvalidFilterError``."""
        filters = filters or Filters()
        if not query:
            return filters
        from recagent.retrieval.filters import InvalidFilterError

        u = reading or self.read_query(query)
        if u.year_min is not None and u.year_max is not None and u.year_min > u.year_max:
            said = " and ".join(c.phrase for c in u.hard if c.kind in ("year_min", "year_max"))
            raise InvalidFilterError(f"the query asks for {said}: no item can be both; ask for one year range")
        stated = Filters(
            year_min=u.year_min,
            year_max=u.year_max,
            genres=u.hard_values("genre"),
            exclude_genres=u.hard_values("exclude_genre"),
        )
        return stated.merged(filters)

    def query_preferences(self, query: str | None, reading=None):
        """The soft wishes of a one-shot query (genre weights, critiques, topics, the query as context):
        they re-rank, they never filter. See :func:`recagent.agent.state.preferences`."""
        from recagent.retrieval.base import ContextText, Preferences

        if not query:
            return Preferences()
        u = reading or self.read_query(query)
        return Preferences(
            genres=dict(u.genres),
            critiques=list(u.critiques),
            topics=list(u.topics),
            context=[ContextText(text=query)],
        )

    def query_mentions(self, query: str | None) -> tuple[list[str], list[str], list[str]]:
        """The catalog titles a one-shot query names, read as the chat reads a message: (ids the user
        liked or wants, "something like Heat", which anchor the item-to-item sources; ids they disliked,
        which are avoided; ids only asked about or named in passing, "have you seen Heat?", which are
        neither, but whose titles are kept out of the text source, as in the chat)."""
        if not query:
            return [], [], []
        from recagent.agent.understanding import parse_message

        u = parse_message(query, self.catalog.genre_vocab, self.resolver.spot)
        liked = list(dict.fromkeys(m.item_id for m in u.mentions if m.item_id and m.stance in ("liked", "want")))
        disliked = [m.item_id for m in u.mentions if m.item_id and m.stance == "disliked"]
        disliked = [i for i in dict.fromkeys(disliked) if i not in liked]
        named = [m.item_id for m in u.mentions if m.item_id and m.stance in ("asking", "neutral")]
        return liked, disliked, [i for i in dict.fromkeys(named) if i not in liked and i not in disliked]

    def understand(self, text: str, mode: str = "parser"):
        """The chat's reading of one message, with the catalog's titles spotted and resolved: an
        :class:`~recagent.agent.understanding.Understanding` (``.as_labels()`` gives the understanding-eval
        fields) and the checks of the LLM calls made for it. ``mode``: ``parser`` (no LLM), ``hybrid`` or
        ``llm`` (see :mod:`recagent.agent.llm_reading`), whatever ``Settings.understanding`` says."""
        from recagent.agent.chat import resolve_mentions
        from recagent.agent.llm_reading import llm_reading, merge
        from recagent.agent.understanding import parse_message

        tools = self.chat_tools
        reading = parse_message(text, tools.genre_vocab, tools.spot)
        checks = []
        if mode != "parser":
            result = llm_reading(self.aux_backend, text, tools.genre_vocab)
            reading, checks = merge(reading, result.reading, text, mode), [result.check]
        return resolve_mentions(reading, tools.resolve)[0], checks

    def fold_dialogue(self, query: str) -> tuple[str, list[str]]:
        """A dialogue too long for one query: (its recent turns as text, the ids of titles the user liked in
        the older turns). Turns are lines; a dialogue on one line is cut into sentences."""
        import re

        from recagent.agent.understanding import parse_message

        turns = [t.strip() for t in query.splitlines() if t.strip()]
        if len(turns) <= 1:
            turns = [t.strip() for t in re.split(r"(?<=[.!?])\s+", query) if t.strip()]
        limit = self.settings.max_message_chars
        recent: list[str] = []
        for t in reversed(turns[-self.settings.dialogue_turns :]):
            if sum(len(r) + 1 for r in recent) + len(t) > limit:
                break
            recent.insert(0, t)
        if not recent:
            recent = [turns[-1][-limit:]]
        older = turns[: len(turns) - len(recent)]
        liked: list[str] = []
        for t in older:
            u = parse_message(t[:limit], self.catalog.genre_vocab, self.resolver.spot)
            liked += [m.item_id for m in u.mentions if m.item_id and m.stance in ("liked", "want")]
        return "\n".join(recent), list(dict.fromkeys(liked))

    def candidates(
        self,
        user_id: str | int | None = None,
        likes: Sequence[str] = (),
        liked_ids: Sequence[str] = (),
        query: str | None = None,
        k: int | None = None,
        filters: Filters | None = None,
    ) -> CandidateSet:
        """Fused candidates for a known user, a new user's liked titles or ids, and/or a text query (whose
        named titles count as the chat counts them: liked ones anchor, disliked ones are avoided)."""
        t0 = time.perf_counter()
        if query and len(query) > self.settings.max_message_chars:  # a whole dialogue: see fold_dialogue
            query, older_likes = self.fold_dialogue(query)
            liked_ids = [*map(str, liked_ids), *older_likes]
        reading = self.read_query(query) if query else None  # one parse for the filters and the wishes
        filters = self.query_filters(query, filters, reading)
        resolved = self.resolve_titles(likes) if likes else []
        ids = list(dict.fromkeys([*map(str, liked_ids), *(m.item_id for m in resolved)]))
        for iid in ids:
            self.catalog.get(iid)  # UnknownItemError for an id not in the catalog
        said_liked, said_disliked, said_named = self.query_mentions(query)  # "like Heat": Heat anchors, as in the chat
        ids = list(dict.fromkeys([*ids, *said_liked]))
        rq = RetrievalQuery(
            user_id=None if user_id is None else str(user_id),
            liked_ids=ids,
            disliked_ids=[i for i in said_disliked if i not in ids],
            text=query or None,
            filters=filters or Filters(),
            preferences=self.query_preferences(query, reading).model_copy(update={"named_ids": said_named}),
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
        """The LLM reranker, with the fusion weight calibrated for its model (``recagent eval calibrate``)
        and a grounding check of LLM-written explanations over the catalog."""
        from recagent.agent.calibration import Calibrations, calibration_paths
        from recagent.agent.grounding import Grounding
        from recagent.agent.rerank import Reranker

        s = self.settings
        calibration = Calibrations.load(calibration_paths(s.data_dir, s.rerank.calibration), s.rerank.llm_weight)
        return Reranker(
            self.backend, s.rerank, s.llm.temperature, s.llm.seed, calibration, Grounding(self.catalog.items)
        )

    def chat_uses_llm(self, message: str) -> bool:
        """Whether a chat turn on ``message`` may call an LLM: the reranker (its calibrated weight is
        above 0) or, with hybrid understanding, the reading of a message the parser cannot settle."""
        if self.reranker.uses_llm():
            return True
        if self.settings.understanding != "hybrid":
            return False
        from recagent.agent.understanding import needs_llm, parse_message

        return needs_llm(parse_message(message, self.catalog.genre_vocab), message)

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
    def chat_tools(self):
        """What the chat agent may call, over this recommender's catalog and retrieval."""
        from recagent.agent.chat import ChatTools

        def count(filters: Filters) -> int:
            mask = filters.mask(self.catalog)
            return len(self.catalog) if mask is None else int(mask.sum())

        return ChatTools(
            candidates=lambda q, k: self.hybrid.candidates(q, k),
            resolve=self.resolver.resolve_all,
            # the summary is rerank-prompt material only: none when the reranker does not call the LLM
            summarize=lambda user, liked: self.history_summary(user, liked) if self.reranker.uses_llm() else "",
            item_year=lambda iid: self.catalog.get(iid).year,
            genre_vocab=self.catalog.genre_vocab,
            spot=self.resolver.spot,
            count=count,
            has_people=False,  # no loader reads cast or crew columns yet
        )

    @cached_property
    def agent(self):
        from recagent.agent.chat import ChatAgent

        tools = self.chat_tools
        mode = self.settings.understanding
        return ChatAgent(
            tools,
            self.reranker,
            self.sessions,
            understanding_backend=self.aux_backend if mode != "parser" else None,
            max_message_chars=self.settings.max_message_chars,
            candidates=self.settings.rerank.candidates,
            understanding=mode,
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
            query = clean_message(query, self.settings.max_query_chars)  # MessageTooLongError past it
            if (
                len(query) > self.settings.max_message_chars
            ):  # a whole dialogue: recent turns as text, older likes as ids
                query, older_likes = self.fold_dialogue(query)
                liked_ids = [*map(str, liked_ids), *older_likes]
        n = max(k, self.settings.rerank.candidates) if rerank else k
        cs = self.candidates(user_id=user_id, likes=likes, liked_ids=liked_ids, query=query, k=n, filters=filters)
        request = RerankRequest(candidates=cs.candidates, request=query or "", k=k, liked_ids=cs.query.liked_ids)
        if rerank:
            # the history summary is prompt material: only an LLM call needs it (and may pay one itself)
            if self.reranker.uses_llm(mode):
                request.history = self.history_summary(cs.query.user_id, cs.query.liked_ids)
            response = self.reranker.rerank(request, mode=mode, bootstrap=bootstrap)
        else:
            from recagent.agent.rerank import Reranker

            response = Reranker(None).rerank(request)
        return response.model_copy(update={"latency_ms": round((time.perf_counter() - t0) * 1000, 2)})

    def chat(self, session_id: str, message: str, k: int = 5, user_id: str | int | None = None):
        """One chat turn in a persisted session; returns the same response model as ``recommend``."""
        return self.agent.turn(session_id, message, k=k, user_id=None if user_id is None else str(user_id))

    def observe_turn(
        self,
        session_id: str,
        text: str,
        item_ids: Sequence[str] = (),
        role: str = "recommender",
        user_id: str | int | None = None,
    ):
        """Record another party's turn in a chat session (e.g. the recommender's turn of a replayed
        dialogue) and the catalog items it suggested, as shown items, without recommending anything.
        See :meth:`recagent.agent.chat.ChatAgent.observe`. Unknown item ids raise ``UnknownItemError``."""
        for iid in item_ids:
            self.catalog.get(str(iid))
        uid = None if user_id is None else str(user_id)
        return self.agent.observe(session_id, text, [str(i) for i in item_ids], role=role, user_id=uid)

    def feedback(self, session_id: str, item_id: str, kind: str):
        """Record a like, dislike or "seen" on one catalog item in a chat session; returns the new state."""
        self.catalog.get(item_id)  # UnknownItemError for an id not in the catalog
        return self.agent.feedback(session_id, item_id, kind)
