"""The conversational agent: one turn = understand, update the state, retrieve, rerank, respond.

The agent gets its collaborators as plain callables (retrieval, title lookups, history summaries,
catalog counts), so it never reaches into the vector store and can be tested with any of them.
Every state change goes through the pure :func:`recagent.agent.state.apply`; this module does the
I/O around it (the session store, the LLM, the lookups).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from recagent.agent.backends.base import LLMBackend
from recagent.agent.llm_reading import Mode, llm_reading, merge, needs_llm
from recagent.agent.rerank import Reranker, RerankRequest
from recagent.agent.safety import clean_message
from recagent.agent.schema import RecommendationResponse, ReplyCheck
from recagent.agent.session import ChatState, SessionStore
from recagent.agent.state import FeedbackEvent, MessageEvent, Note, ShownEvent, apply, build_query, relax
from recagent.agent.understanding import Spotter, Understanding, parse_message
from recagent.retrieval.base import Candidate, RetrievalQuery
from recagent.retrieval.filters import Filters
from recagent.retrieval.titles import TitleMatch, display_title


@dataclass
class ChatTools:
    """What the agent may call. Each is a thin function over the retrieval layer."""

    candidates: Callable[[RetrievalQuery, int], list[Candidate]]
    resolve: Callable[[list[str]], tuple[list[TitleMatch], dict[str, list[str]]]]
    summarize: Callable[[str | None, list[str]], str]
    item_year: Callable[[str], int | None]
    genre_vocab: list[str]
    spot: Spotter | None = None  # catalog titles in free text (TitleResolver.spot)
    count: Callable[[Filters], int] | None = None  # catalog items passing filters, for relaxation
    has_people: bool = False  # whether the catalog knows cast and crew


class ChatAgent:
    def __init__(
        self,
        tools: ChatTools,
        reranker: Reranker,
        store: SessionStore,
        understanding_backend: LLMBackend | None = None,
        max_message_chars: int = 2000,
        candidates: int = 20,
        lock_timeout: float = 60.0,
        understanding: Mode = "parser",
    ):
        """``lock_timeout``: how long a turn or a feedback waits for another one on the same session
        (in any process sharing the session store) before it gives up with ``SessionBusyError``.
        ``understanding``: ``parser``, ``hybrid`` or ``llm`` (see :mod:`recagent.agent.llm_reading`);
        the LLM modes need ``understanding_backend``."""
        self.tools = tools
        self.reranker = reranker
        self.store = store
        self.understanding_backend = understanding_backend
        self.understanding_mode: Mode = understanding if understanding_backend is not None else "parser"
        self.max_message_chars = max_message_chars
        self.n_candidates = candidates
        self.lock_timeout = lock_timeout

    # ------------------------------------------------------------------ understanding

    def read(self, message: str) -> tuple[Understanding, list[ReplyCheck]]:
        """The message's reading in the configured mode, and the check of each LLM call made for it."""
        parsed = parse_message(message, self.tools.genre_vocab, self.tools.spot)
        if self.understanding_mode == "parser" or self.understanding_backend is None or not needs_llm(parsed, message):
            return parsed, []
        result = llm_reading(self.understanding_backend, message, self.tools.genre_vocab)
        return merge(parsed, result.reading, message, self.understanding_mode), [result.check]

    def understand(self, message: str) -> Understanding:
        return self.read(message)[0]

    def resolve_mentions(self, u: Understanding) -> tuple[Understanding, dict[str, list[str]]]:
        return resolve_mentions(u, self.tools.resolve)

    # ------------------------------------------------------------------ a turn

    def turn(self, session_id: str, message: str, k: int = 5, user_id: str | None = None) -> RecommendationResponse:
        t0 = time.perf_counter()
        message = clean_message(message, self.max_message_chars)
        # the whole turn holds the session: a message or feedback handled at the same time by another
        # process waits, then reads the state this turn saves, instead of overwriting it with an older one
        with self.store.session_lock(session_id, self.lock_timeout):
            return self._turn(session_id, message, k, user_id, t0)

    def _turn(self, session_id: str, message: str, k: int, user_id: str | None, t0: float) -> RecommendationResponse:
        state = self.store.load_or_create(session_id, user_id)
        self.store.add_turn(session_id, "user", message)  # before anything can fail: no turn is lost
        reading, checks = self.read(message)
        reading, unresolved = self.resolve_mentions(reading)
        event = MessageEvent(text=message, reading=reading, unresolved=unresolved, catalog_has_people=self.tools.has_people)
        state, notes = apply(state, event)
        allow_repeats = reading.repeat
        if self.tools.count is not None:
            state, relaxed, allow_repeats = relax(state, self.tools.count, k, allow_repeats)
            notes += relaxed
        query = build_query(state, allow_repeats)
        candidates = self.tools.candidates(query, self.n_candidates)
        if not candidates and not query.filters.is_empty:  # never an empty answer while the catalog has items
            state, relaxed, _ = relax(state, lambda f: 0, k, True)
            notes += relaxed
            query = build_query(state, allow_repeats=True)
            candidates = self.tools.candidates(query, self.n_candidates)
        history = self.tools.summarize(state.user_id, state.liked_ids)
        request = " ".join(p for p in (query.text, _wishes(state)) if p)
        response = self.reranker.rerank(RerankRequest(candidates=candidates, history=history, request=request, k=k))
        ids = [r.item_id for r in response.recommendations]
        state, _ = apply(state, ShownEvent(item_ids=ids, years=[self.tools.item_year(i) for i in ids]))
        reply = self._reply(state, response, notes)
        response = response.model_copy(
            update={
                "message": reply,
                "checks": checks + list(response.checks),
                "latency_ms": round((time.perf_counter() - t0) * 1000, 2),
            }
        )
        self.store.save(state)
        self.store.add_turn(session_id, "assistant", reply, response)
        return response

    def observe(
        self,
        session_id: str,
        text: str,
        item_ids: list[str],
        role: str = "recommender",
        user_id: str | None = None,
    ) -> ChatState:
        """Record a turn that someone else took (e.g. a human recommender in a replayed ReDial
        dialogue), without producing a recommendation.

        ``text`` is stored as a turn with ``role``; ``item_ids`` (catalog ids, in the order the turn
        mentioned them) become the shown list: they count as shown (not recommended again unless the
        user asks for a repeat) and "the second one" / "that one" in the next user message refer to them
        ("that one" is the last item the turn mentioned). Returns the saved state.
        """
        with self.store.session_lock(session_id, self.lock_timeout):
            state = self.store.load_or_create(session_id, user_id)
            self.store.add_turn(session_id, role, text)
            ids = list(dict.fromkeys(item_ids))
            if ids:
                event = ShownEvent(item_ids=ids, years=[self.tools.item_year(i) for i in ids], role=role)
                state, _ = apply(state, event)
            self.store.save(state)
        return state

    def feedback(self, session_id: str, item_id: str, kind: str) -> ChatState:
        """A like, dislike or "seen" on one item outside a message (e.g. a button on the web page).

        Folded into the session by the same :func:`~recagent.agent.state.apply` as a typed message: a
        dislike or a seen item is never recommended again in this session, a like steers retrieval
        and undoes an earlier dislike (and the other way round).
        """
        if kind not in ("like", "dislike", "seen"):
            raise ValueError(f"unknown feedback {kind!r}: like, dislike or seen")
        self.store.get(session_id)  # UnknownSessionError before any lock is taken for a session that does not exist
        with self.store.session_lock(session_id, self.lock_timeout):
            state = self.store.get(session_id)  # read under the lock: the state as the last turn or feedback saved it
            state, _ = apply(state, FeedbackEvent(item_id=item_id, kind=kind))
            self.store.save(state)
        return state

    def _reply(self, state: ChatState, response: RecommendationResponse, notes: list[Note]) -> str:
        parts = [n.text for n in notes]
        if not response.recommendations:
            parts.append("The catalog has nothing left to show for this conversation.")
            return " ".join(parts)
        bits = []
        if state.genres:
            bits.append("only " + "/".join(state.genres).lower())
        if state.year_min or state.year_max:
            lo, hi = state.year_min, state.year_max
            bits.append(f"from {lo}-{hi}" if lo and hi else f"from {lo} on" if lo else f"up to {hi}")
        if state.exclude_genres:
            bits.append("no " + "/".join(state.exclude_genres).lower())
        if wishes := _wishes(state):
            bits.append("leaning " + wishes)
        what = f" ({'; '.join(bits)})" if bits else ""
        parts.append(f"Here are {len(response.recommendations)} picks{what}.")
        if response.source == "fallback":
            parts.append("(The language model failed, so these are in retrieval order.)")
        return " ".join(parts)


def resolve_mentions(
    u: Understanding, resolve: Callable[[list[str]], tuple[list[TitleMatch], dict[str, list[str]]]]
) -> tuple[Understanding, dict[str, list[str]]]:
    """Look up the titles the reading could not place itself. Only explicit (quoted or capitalised)
    titles that are not found are reported (title -> suggestions); the rest stay out of the state
    silently, as do names several items share (the state update asks about those)."""
    out = u.model_copy(deep=True)
    todo = [m for m in out.mentions if m.item_id is None and not m.candidates]
    unresolved: dict[str, list[str]] = {}
    if todo:
        found, missing = _resolve_split([m.text for m in todo], resolve)
        by_query = {f.query: f for f in found}
        for m in todo:
            if (f := by_query.get(m.text)) is not None:
                m.item_id, m.title = f.item_id, f.title
            elif m.text in missing and m.explicit:
                unresolved[m.text] = [display_title(s) for s in missing[m.text]]
        out.mentions = [m for m in out.mentions if m.item_id is not None or m.candidates]
    return out, unresolved


def _resolve_split(titles: list[str], resolve) -> tuple[list[TitleMatch], dict[str, list[str]]]:
    """Resolve titles. 'The Matrix and Heat' is two titles when both halves resolve, else one."""
    expanded: list[str] = []
    split: dict[str, list[str]] = {}
    for title in titles:
        parts = [p.strip() for p in title.replace(" & ", " and ").split(" and ") if p.strip()]
        if len(parts) > 1:
            found, missing = resolve(parts)
            if not missing:
                expanded += parts
                split[title] = parts
                continue
        expanded.append(title)
    found, missing = resolve(expanded) if expanded else ([], {})
    for title, parts in split.items():  # the first half answers for the whole
        halves = [f for f in found if f.query == parts[0]]
        found += [f.model_copy(update={"query": title}) for f in halves]
    return found, missing


_CRITIQUE_WORDS = {
    ("violence", -1): "less violent", ("violence", 1): "more intense", ("darkness", -1): "lighter",
    ("darkness", 1): "darker", ("humor", 1): "funnier", ("humor", -1): "more serious", ("scariness", 1): "scarier",
    ("scariness", -1): "less scary", ("family", 1): "family friendly", ("family", -1): "for grown-ups",
    ("recency", 1): "more recent", ("recency", -1): "older", ("popularity", -1): "less known",
    ("popularity", 1): "well known",
}  # fmt: skip


def _wishes(state: ChatState) -> str:
    """The soft wishes in words, for the reply and the rerank prompt."""
    return ", ".join(_CRITIQUE_WORDS[(c.attribute, c.direction)] for c in state.critiques)

