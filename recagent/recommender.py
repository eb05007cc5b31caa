"""The one ``Recommender`` that the CLI, the Python API, HTTP and the evals are thin shells over.

It is a container of parts (the catalog, the retrieval sources, the LLM backends, the request pipeline,
the session store), each built lazily from a :class:`~recagent.settings.Settings` on first use, so a
command only pays for what it uses; :meth:`Recommender.from_parts` gives some parts ready-made. Its few
façade methods (``index``, ``search``, ``candidates``, ``recommend``, ``chat``, ``observe_turn``,
``feedback``, ``understand``) all reach the user's words through one request pipeline
(:class:`~recagent.agent.pipeline.RequestPipeline`): ``recommend(query=...)`` is a first chat turn on a
transient, unsaved state.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from pydantic import BaseModel, Field

from recagent.errors import ConfigError
from recagent.parts import RetrievalParts, part
from recagent.retrieval.base import Candidate, RetrievalQuery
from recagent.retrieval.filters import Filters
from recagent.retrieval.titles import TitleMatch
from recagent.retrieval.vector_store import IndexReport
from recagent.settings import Settings


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
    notes: list[str] = Field(default_factory=list, description="what the reading did: relaxed filters, unknown titles")
    latency_ms: float


class IndexResult(BaseModel):
    vector: IndexReport
    mf_trained_on: int | None = Field(None, description="interactions the MF model was fitted on (None: no log)")


class Recommender(RetrievalParts):
    """The catalog and retrieval parts (:class:`~recagent.parts.RetrievalParts`), the LLM side, the request
    pipeline and the chat sessions, with the façade methods every shell calls."""

    @classmethod
    def from_settings(cls, settings: Settings | None = None, show_progress: bool = False, **overrides) -> Recommender:
        """``Recommender.from_settings(catalog="products.csv", data_dir="/tmp/x")``: overrides beat env vars."""
        if settings is None:
            settings = Settings(**overrides)
        elif overrides:
            settings = settings.model_copy(update=overrides)
        return cls(settings, show_progress=show_progress)

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
        if self.settings.fusion.request_facets:
            _ = self.facet_index.vectors  # the facet labels' vectors, likewise
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

    # ------------------------------------------------------------------ the LLM side (lazy)

    @part
    def backend(self):
        from recagent.agent.backends import create_backend

        return create_backend(self.settings)

    @part
    def aux_backend(self):
        """A second backend for understanding and summaries: with llama.cpp, its own context, so
        the reranker's cached prompt prefix survives from one turn to the next."""
        from recagent.agent.backends import create_backend

        return create_backend(self.settings) if self.settings.llm_backend == "llama_cpp" else self.backend

    @part
    def llm_cache(self):
        from recagent.agent.cache import DiskCache

        return DiskCache(self.settings.llm_cache_dir / "cache.sqlite")

    @part
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

    @part
    def summarizer(self):
        from recagent.agent.history import HistorySummarizer

        s = self.settings.rerank
        return HistorySummarizer(self.aux_backend, self.llm_cache, s.history_summary, s.domain)

    @part
    def sessions(self):
        from recagent.agent.session_store import SessionStore

        return SessionStore(self.settings.sessions_url or self.settings.sessions_path)

    def history_summary(self, user_id: str | None, liked_ids: Sequence[str] = ()) -> str:
        """The user's taste in words, from the log (known users) and liked items."""
        from recagent.agent.history import history_facts

        log = self.dataset.interactions
        history = log.history(user_id) if user_id is not None and log is not None and user_id in log else None
        summary, _ = self.summarizer.summarize(history_facts(self.catalog, history, list(liked_ids)))
        return summary

    @part
    def chat_tools(self):
        """What the request pipeline may call, over this recommender's catalog and retrieval."""
        from recagent.agent.pipeline import ChatTools

        def count(filters: Filters) -> int:
            mask = filters.mask(self.catalog)
            return len(self.catalog) if mask is None else int(mask.sum())

        return ChatTools(
            candidates=lambda q, k: self.hybrid.candidates(q, k),
            resolve=self.resolver.resolve_all,
            summarize=self.history_summary,  # rerank-prompt material: asked for only when the reranker calls the LLM
            item_year=lambda iid: self.catalog.get(iid).year,
            genre_vocab=self.catalog.genre_vocab,
            spot=self.resolver.spot,
            count=count,
            has_people=False,  # no loader reads cast or crew columns yet
            request_facets=self.request_facet_labels,
            unread_topics=self.request_unread_topics,
        )

    def _request_facets(self, query: RetrievalQuery):
        """The query's reading in the catalog's facets (retrieval's own, cached), or None with facets off."""
        from recagent.retrieval.facet_reading import query_facets

        return query_facets(self.facet_reader, query) if self.settings.fusion.request_facets else None

    def request_facet_labels(self, query: RetrievalQuery) -> list[str]:
        """What the query names, in the catalog's facets (for the reply's note when too few films fit)."""
        rf = self._request_facets(query)
        return [] if rf is None else rf.labels

    def request_unread_topics(self, query: RetrievalQuery) -> list[str]:
        """What the query says films are about that no facet of the catalog answers (for the reply's note)."""
        rf = self._request_facets(query)
        return [] if rf is None else rf.unread

    @part
    def reader(self):
        """The one reader of messages, in the configured understanding mode."""
        return self.reader_for(self.settings.understanding)

    @part
    def readers(self) -> dict:
        """The reader of each understanding mode asked for so far (``reader`` is the configured mode's)."""
        return {}

    def reader_for(self, mode: str):
        """The reader of understanding mode ``mode``, built once (with its parse cache) and then reused."""
        if mode not in self.readers:
            from recagent.agent.reading.reader import MessageReader

            tools = self.chat_tools
            backend = self.aux_backend if mode in ("hybrid", "llm") else None
            learned = self.span_reader(mode) if mode in ("learned", "combined") else None
            self.readers[mode] = MessageReader(tools.genre_vocab, tools.spot, backend, mode, learned)
        return self.readers[mode]

    def span_reader(self, mode: str):
        """The learned span reader over this catalog's genres, with the product's MiniLM embedder; None (the
        parser reads) when the shipped model is missing or was not trained for this catalog's genres."""
        from recagent.agent.reading.learned import LearnedReader, load_model

        model = load_model()
        vocab = self.chat_tools.genre_vocab
        if model is None or not model.covers([g for g in vocab if g != "(no genres listed)"]):
            return None
        return LearnedReader(model, vocab, self.embedder.embed, fallback="parser" if mode == "combined" else "soft")

    @part
    def pipeline(self):
        """The one request pipeline every message goes through (chat turns and one-shot requests)."""
        from recagent.agent.pipeline import RequestPipeline

        s = self.settings
        return RequestPipeline(
            self.chat_tools,
            self.reader,
            lambda: self.reranker,  # built (with its LLM backend) on the first request that reranks
            candidates=s.rerank.candidates,
            max_message_chars=s.max_message_chars,
            dialogue_turns=s.dialogue_turns,
        )

    @part
    def agent(self):
        """Chat sessions over the pipeline, persisted in the session store."""
        from recagent.agent.chat import ChatAgent

        return ChatAgent(self.pipeline, self.sessions)

    # ------------------------------------------------------------------ one-shot requests

    def _one_shot(self, user_id, likes: Sequence[str], liked_ids: Sequence[str], query: str | None):
        """A one-shot request as a first turn: (a transient state, the message, the liked ids it comes with,
        the resolved titles). A query longer than a chat message is a whole dialogue: its recent turns are
        the message and the titles liked in its older turns come with it."""
        from recagent.agent.safety import clean_message
        from recagent.agent.state.model import ChatState

        message = ""
        ids = [str(i) for i in liked_ids]
        if query:
            message = clean_message(query, self.settings.max_query_chars)  # MessageTooLongError past it
            if len(message) > self.settings.max_message_chars:
                message, older = self.pipeline.fold(message)
                ids += older
        resolved = self.resolve_titles(likes) if likes else []
        ids = list(dict.fromkeys([*ids, *(m.item_id for m in resolved)]))
        for iid in ids:
            self.catalog.get(iid)  # UnknownItemError for an id not in the catalog
        state = ChatState(session_id="", user_id=None if user_id is None else str(user_id))
        return state, message, ids, resolved

    def candidates(
        self,
        user_id: str | int | None = None,
        likes: Sequence[str] = (),
        liked_ids: Sequence[str] = (),
        query: str | None = None,
        k: int | None = None,
        filters: Filters | None = None,
    ) -> CandidateSet:
        """Fused candidates for a known user, a new user's liked titles or ids, and/or a text query, read as
        a first chat turn is (named titles liked anchor, disliked ones are avoided; only what is stated
        outright filters). No reranking: the retrieval order."""
        t0 = time.perf_counter()
        state, message, ids, resolved = self._one_shot(user_id, likes, liked_ids, query)
        k = k or self.settings.candidates
        planned = self.pipeline.plan(state, message, k, k, ids, filters, one_shot=True)
        return CandidateSet(
            query=planned.query,
            resolved=resolved,
            candidates=planned.candidates,
            notes=[n.text for n in planned.notes],
            latency_ms=round((time.perf_counter() - t0) * 1000, 2),
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
        """Ranked recommendations with explanations: a first chat turn on a transient state (retrieval, then
        by default the LLM reranker), its reply in ``message``. Nothing is saved."""
        from recagent.agent.rerank import Reranker

        t0 = time.perf_counter()
        state, message, ids, _ = self._one_shot(user_id, likes, liked_ids, query)
        n = max(k, self.settings.rerank.candidates) if rerank else k
        reranker = None if rerank else Reranker(None)
        _, response = self.pipeline.respond(
            state, message, k, n, ids, filters, one_shot=True, reranker=reranker, mode=mode, bootstrap=bootstrap
        )
        return response.model_copy(update={"latency_ms": round((time.perf_counter() - t0) * 1000, 2)})

    def understand(self, text: str, mode: str | None = None):
        """The pipeline's reading of one message, with the catalog's titles spotted and resolved: an
        :class:`~recagent.agent.reading.model.Understanding` and the checks of the LLM calls made for it.
        ``mode`` (``learned``, ``combined``, ``parser``, ``hybrid`` or ``llm``) defaults to ``Settings.understanding``; every mode reads
        as the chat does, so the LLM reads only the messages the chat would send it."""
        from recagent.agent.pipeline import resolve_mentions

        reading, checks = self.reader_for(mode or self.settings.understanding).read(text)
        return resolve_mentions(reading, self.chat_tools.resolve)[0], checks

    def chat_uses_llm(self, message: str) -> bool:
        """Whether a chat turn on ``message`` may call an LLM: the reranker (its calibrated weight is
        above 0) or the reader (hybrid or llm understanding, on a message the parser cannot settle)."""
        return self.reranker.uses_llm() or self.reader.may_call_llm(message)

    # ------------------------------------------------------------------ chat sessions

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
