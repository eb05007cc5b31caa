"""User-history summaries for the rerank prompt.

``HistoryFacts`` is computed from the interaction log without any LLM: top
genres, recent titles and top-rated titles. The summary is LLM-written and
cached by the hash of the facts and the template; when the LLM fails or writes
nothing usable, the deterministic summary of the same facts is used.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from pydantic import BaseModel

from recagent.agent.backends.base import ChatMessage, Completion, CompletionRequest, LLMBackend
from recagent.agent.cache import DiskCache, cache_key
from recagent.agent.safety import clean_text, for_prompt
from recagent.agent.schema import ReplyCheck
from recagent.agent.structured import InvalidReply, StructuredCallError, call_structured
from recagent.prompts import load_template
from recagent.retrieval.catalog import Catalog, UserHistory
from recagent.retrieval.titles import display_title

TOP = 5
MIN_SUMMARY = 20  # characters


class HistoryFacts(BaseModel):
    n_interactions: int
    top_genres: list[str]
    recent: list[str]
    top_rated: list[str]


def history_facts(catalog: Catalog, history: UserHistory | None = None, liked_ids: list[str] = ()) -> HistoryFacts:
    """Facts from a logged history (oldest first) and/or items liked in a chat."""
    positions = [] if history is None else history.item_positions.tolist()
    values = [] if history is None else history.values.tolist()
    liked = [catalog.position(i) for i in liked_ids if i in catalog]
    positions, values = positions + liked, values + [max(values, default=5.0)] * len(liked)
    genres = Counter(g for p in positions for g in catalog.items[p].genres)
    recent = [display_title(catalog.items[p].title) for p in positions[::-1][:TOP]]
    order = np.argsort(-np.asarray(values), kind="stable") if values else []
    top_rated = [display_title(catalog.items[positions[j]].title) for j in list(order)[:TOP]]
    return HistoryFacts(
        n_interactions=len(positions),
        top_genres=[g for g, _ in genres.most_common(TOP)],
        recent=recent,
        top_rated=top_rated,
    )


def deterministic_summary(facts: HistoryFacts) -> str:
    if facts.n_interactions == 0:
        return "a new user; no history yet"
    parts = []
    if facts.top_genres:
        parts.append(f"Mostly watches {', '.join(facts.top_genres)}.")
    if facts.recent:
        parts.append(f"Recently: {'; '.join(facts.recent[:3])}.")
    if facts.top_rated:
        parts.append(f"Rated highest: {'; '.join(facts.top_rated[:3])}.")
    return " ".join(parts)


def _check_summary(completion: Completion) -> tuple[str, ReplyCheck]:
    """The reply as one line of clean text; under 20 characters is nothing usable."""
    text = " ".join(clean_text(completion.text).split())
    if len(text) < MIN_SUMMARY:
        raise InvalidReply(f"a summary of {len(text)} characters")
    return text, ReplyCheck(valid=True)


class HistorySummarizer:
    def __init__(self, backend: LLMBackend | None, cache: DiskCache | None, mode: str = "llm", domain: str = "movies"):
        self.backend = backend
        self.cache = cache
        self.mode = mode
        self.domain = domain
        self.template = load_template("history_summary")

    def summarize(self, facts: HistoryFacts) -> tuple[str, str]:
        """(summary, source) where source is 'llm', 'cache' or 'deterministic'."""
        fallback = deterministic_summary(facts)
        if self.mode != "llm" or self.backend is None or facts.n_interactions == 0:
            return fallback, "deterministic"
        key = cache_key("history", self.template.hash, self.backend.name, self.backend.model, facts.model_dump())
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            return hit, "cache"
        prompt = self.template.render(
            domain=self.domain,
            top_genres=", ".join(facts.top_genres) or "-",
            recent="; ".join(for_prompt(t, 80) for t in facts.recent) or "-",
            top_rated="; ".join(for_prompt(t, 80) for t in facts.top_rated) or "-",
        )
        request = CompletionRequest(messages=[ChatMessage(**m) for m in prompt.messages()], max_tokens=60)
        try:
            text = call_structured(self.backend, request, _check_summary, attempts=1)
        except StructuredCallError:
            return fallback, "deterministic"
        # the LLM's words plus the facts: a weak model may miss them, the reranker still sees them
        summary = f"{text[:300]} ({fallback})"
        if self.cache is not None:
            self.cache.set(key, summary)
        return summary, "llm"
