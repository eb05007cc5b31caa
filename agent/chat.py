"""The conversational agent: one turn = understand, update state, retrieve, rerank, respond.

The agent gets its collaborators as plain callables (retrieval, title
resolution, history summaries), so it never reaches into the vector store and
can be tested with any of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from recagent.agent.backends.base import LLMBackend
from recagent.agent.rerank import Reranker, RerankRequest
from recagent.agent.safety import clean_message
from recagent.agent.schema import RecommendationResponse
from recagent.agent.session import ChatState, SessionStore
from recagent.agent.understanding import (
    Understanding,
    llm_reading,
    merge,
    needs_llm,
    parse_message,
)
from recagent.retrieval.base import RetrievalQuery
from recagent.retrieval.hybrid import Candidate
from recagent.retrieval.titles import TitleMatch, display_title

FOLLOW_UP_ONLY = ("more_like", "reject", "older", "newer", "repeat")


@dataclass
class ChatTools:
    """What the agent may call. Each is a thin function over the retrieval layer."""

    candidates: Callable[[RetrievalQuery, int], list[Candidate]]
    resolve: Callable[[list[str]], tuple[list[TitleMatch], dict[str, list[str]]]]
    summarize: Callable[[str | None, list[str]], str]
    item_year: Callable[[str], int | None]
    genre_vocab: list[str]


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
    ):
        """``lock_timeout``: how long a turn or a feedback waits for another one on the same session
        (in any process sharing the session store) before it gives up with ``SessionBusyError``."""
        self.tools = tools
        self.reranker = reranker
        self.store = store
        self.understanding_backend = understanding_backend
        self.max_message_chars = max_message_chars
        self.n_candidates = candidates
        self.lock_timeout = lock_timeout

    # ------------------------------------------------------------------ understanding

    def understand(self, message: str) -> Understanding:
        parsed = parse_message(message, self.tools.genre_vocab)
        if self.understanding_backend is None or not needs_llm(parsed, message):
            return parsed
        return merge(parsed, llm_reading(self.understanding_backend, message), message, self.tools.genre_vocab)

    def _resolve(self, titles: list[str]) -> tuple[list[TitleMatch], dict[str, list[str]]]:
        """Resolve titles. 'The Matrix and Heat' is two titles when both halves resolve, else one."""
        expanded: list[str] = []
        for title in titles:
            parts = [p.strip() for p in title.replace(" & ", " and ").split(" and ") if p.strip()]
            if len(parts) > 1:
                found, missing = self.tools.resolve(parts)
                if not missing:
                    expanded += parts
                    continue
            expanded.append(title)
        return self.tools.resolve(expanded) if expanded else ([], {})

    # ------------------------------------------------------------------ state

    def _apply(self, state: ChatState, u: Understanding, message: str) -> tuple[list[str], list[str]]:
        """Fold one message into the session state. Returns (focus ids for this turn, notes for the reply)."""
        notes: list[str] = []
        if u.reset:
            fresh = ChatState(session_id=state.session_id, user_id=state.user_id, turns=state.turns)
            state.__dict__.update(fresh.__dict__)
        liked, unresolved = self._resolve(u.liked_titles)
        disliked, unresolved_d = self._resolve(u.disliked_titles)
        seen, unresolved_s = self._resolve(u.seen_titles)
        for title, suggestions in {**unresolved, **unresolved_d, **unresolved_s}.items():
            hint = f" (did you mean {'; '.join(display_title(s) for s in suggestions[:2])}?)" if suggestions else ""
            notes.append(f"I could not find “{title}” in the catalog{hint}.")
        focus: list[str] = []
        for m in liked:
            if m.item_id not in state.liked_ids:
                state.liked_ids.append(m.item_id)
            focus.append(m.item_id)
        for pos in u.more_like:
            if state.last_shown and -len(state.last_shown) <= (pos - 1 if pos > 0 else pos) < len(state.last_shown):
                iid = state.last_shown[pos - 1 if pos > 0 else pos]
                focus.append(iid)
                if iid not in state.liked_ids:
                    state.liked_ids.append(iid)
            else:
                notes.append(f"There is no item number {pos} in the last list.")
        seen_words = any(w in message.lower() for w in ("seen", "watched"))
        for pos in u.reject:
            if 0 < pos <= len(state.last_shown) or (pos == -1 and state.last_shown):
                iid = state.last_shown[pos - 1 if pos > 0 else -1]
                (state.seen_ids if seen_words else state.disliked_ids).append(iid)
        state.disliked_ids += [m.item_id for m in disliked if m.item_id not in state.disliked_ids]
        state.seen_ids += [m.item_id for m in seen if m.item_id not in state.seen_ids]
        state.liked_ids = [i for i in state.liked_ids if i not in state.disliked_ids]

        if u.genres:
            state.genres = list(u.genres)  # the latest ask for genres replaces the previous one
            state.exclude_genres = [g for g in state.exclude_genres if g not in u.genres]
        for g in u.exclude_genres:
            if g not in state.exclude_genres:
                state.exclude_genres.append(g)
            if g in state.genres:
                state.genres.remove(g)
        if u.year_min is not None or u.year_max is not None:
            state.year_min, state.year_max = u.year_min, u.year_max
        years = [y for y in state.last_years if y]
        if u.older and years:
            state.year_max = min(years) - 1
            if state.year_min is not None and state.year_min > state.year_max:
                state.year_min = None
        if u.newer and years:
            state.year_min = max(years) + 1
            if state.year_max is not None and state.year_max < state.year_min:
                state.year_max = None
        if u.keywords:
            state.keywords = list(u.keywords)
        if not any(getattr(u, f) for f in FOLLOW_UP_ONLY) and not u.reset:
            state.request = message
        return focus, notes

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
        u = self.understand(message)
        focus, notes = self._apply(state, u, message)

        text_parts = [p for p in (state.request, " ".join(state.keywords)) if p]
        query = RetrievalQuery(
            user_id=state.user_id,
            liked_ids=focus or state.liked_ids,
            disliked_ids=state.disliked_ids,
            text=" ".join(text_parts) or None,
            filters=state.filters(allow_repeats=u.repeat),
        )
        candidates = self.tools.candidates(query, self.n_candidates)
        history = self.tools.summarize(state.user_id, state.liked_ids)
        response = self.reranker.rerank(
            RerankRequest(candidates=candidates, history=history, request=" ".join(text_parts), k=k)
        )
        ids = [r.item_id for r in response.recommendations]
        state.shown_ids += [i for i in ids if i not in state.shown_ids]
        state.last_shown = ids
        state.last_years = [self.tools.item_year(i) for i in ids]
        state.turns += 1
        reply = self._reply(state, response, notes)
        response = response.model_copy(
            update={"message": reply, "latency_ms": round((time.perf_counter() - t0) * 1000, 2)}
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
                state.shown_ids += [i for i in ids if i not in state.shown_ids]
                state.last_shown = ids
                state.last_years = [self.tools.item_year(i) for i in ids]
            self.store.save(state)
        return state

    def feedback(self, session_id: str, item_id: str, kind: str) -> ChatState:
        """A like, dislike or "seen" on one item outside a message (e.g. a button on the web page).

        Folded into the session exactly as the same words in a message would be: a dislike or a seen
        item is never recommended again in this session, a like steers retrieval.
        """
        if kind not in ("like", "dislike", "seen"):
            raise ValueError(f"unknown feedback {kind!r}: like, dislike or seen")
        self.store.get(session_id)  # UnknownSessionError before any lock is taken for a session that does not exist
        with self.store.session_lock(session_id, self.lock_timeout):
            state = self.store.get(session_id)  # read under the lock: the state as the last turn or feedback saved it
            self._fold_feedback(state, item_id, kind)
            self.store.save(state)
        return state

    @staticmethod
    def _fold_feedback(state: ChatState, item_id: str, kind: str) -> None:
        if kind == "like":
            state.disliked_ids = [i for i in state.disliked_ids if i != item_id]
            target = state.liked_ids
        elif kind == "dislike":
            state.liked_ids = [i for i in state.liked_ids if i != item_id]
            target = state.disliked_ids
        else:  # seen
            target = state.seen_ids
        if item_id not in target:
            target.append(item_id)

    def _reply(self, state: ChatState, response: RecommendationResponse, notes: list[str]) -> str:
        parts = list(notes)
        if not response.recommendations:
            parts.append("Nothing in the catalog matches all of that; try loosening a constraint.")
            return " ".join(parts)
        bits = []
        if state.genres:
            bits.append("/".join(state.genres).lower())
        if state.year_min or state.year_max:
            lo, hi = state.year_min, state.year_max
            bits.append(f"from {lo}-{hi}" if lo and hi else f"from {lo} on" if lo else f"up to {hi}")
        if state.exclude_genres:
            bits.append("no " + "/".join(state.exclude_genres).lower())
        what = f" ({', '.join(bits)})" if bits else ""
        parts.append(f"Here are {len(response.recommendations)} picks{what}.")
        if response.source == "fallback":
            parts.append("(The language model failed, so these are in retrieval order.)")
        return " ".join(parts)
