"""The conversational agent: chat sessions that persist, each turn one pass of the request pipeline.

The turn itself (read, apply, relax, retrieve, rerank, reply) is :class:`~recagent.agent.pipeline.RequestPipeline`;
this module does the I/O around it: the session store, its cross-process lock, the stored turns. Every
state change goes through the pure :func:`recagent.agent.state.update.apply`.
"""

from __future__ import annotations

import time

from recagent.agent.pipeline import RequestPipeline
from recagent.agent.safety import clean_message
from recagent.agent.schema import RecommendationResponse
from recagent.agent.session_store import SessionStore
from recagent.agent.state.model import ChatState
from recagent.agent.state.update import FeedbackEvent, ShownEvent, apply


class ChatAgent:
    def __init__(self, pipeline: RequestPipeline, store: SessionStore, lock_timeout: float = 60.0):
        """``lock_timeout``: how long a turn or a feedback waits for another one on the same session
        (in any process sharing the session store) before it gives up with ``SessionBusyError``."""
        self.pipeline = pipeline
        self.store = store
        self.lock_timeout = lock_timeout

    # ------------------------------------------------------------------ a turn

    def turn(self, session_id: str, message: str, k: int = 5, user_id: str | None = None) -> RecommendationResponse:
        t0 = time.perf_counter()
        message = clean_message(message, self.pipeline.max_message_chars)
        # the whole turn holds the session: a message or feedback handled at the same time by another
        # process waits, then reads the state this turn saves, instead of overwriting it with an older one
        with self.store.session_lock(session_id, self.lock_timeout):
            state = self.store.load_or_create(session_id, user_id)
            self.store.add_turn(session_id, "user", message)  # before anything can fail: no turn is lost
            state, response = self.pipeline.respond(state, message, k)
            response = response.model_copy(update={"latency_ms": round((time.perf_counter() - t0) * 1000, 2)})
            self.store.save(state)
            self.store.add_turn(session_id, "assistant", response.message or "", response)
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
                event = ShownEvent(item_ids=ids, years=[self.pipeline.tools.item_year(i) for i in ids], role=role)
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
