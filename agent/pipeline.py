"""The one request pipeline: a message is read, folded into a dialogue state, turned into a retrieval query
(relaxed if too few items fit), answered with candidates, reranked and worded.

Every way in goes through :meth:`RequestPipeline.respond`: a chat turn on a persisted session
(:class:`~recagent.agent.chat.ChatAgent`), and a one-shot ``Recommender.recommend(query=...)``, which is a
first turn on a transient, unsaved state (with the request's liked items and explicit filters attached).
The pipeline gets its collaborators as plain callables (:class:`ChatTools`), so it never reaches into
the vector store; every state change goes through the pure :func:`recagent.agent.state.update.apply`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel

from recagent.agent.reading.model import Spotter, Understanding
from recagent.agent.reading.reader import MessageReader
from recagent.agent.rerank import Reranker, RerankRequest
from recagent.agent.schema import RecommendationResponse, ReplyCheck, ReplyNote
from recagent.agent.state.model import ChatState
from recagent.agent.state.query import build_query, relax
from recagent.agent.state.update import MessageEvent, Note, ShownEvent, apply
from recagent.agent.vocabulary import CRITIQUE_PHRASES
from recagent.retrieval.base import Candidate, RetrievalQuery
from recagent.retrieval.facet_reading import GAPS
from recagent.retrieval.filters import Filters, InvalidFilterError
from recagent.retrieval.titles import TitleMatch, display_title


@dataclass
class ChatTools:
    """What the pipeline may call. Each is a thin function over the retrieval layer."""

    candidates: Callable[[RetrievalQuery, int], list[Candidate]]
    resolve: Callable[[list[str]], tuple[list[TitleMatch], dict[str, list[str]]]]
    summarize: Callable[[str | None, list[str]], str]
    item_year: Callable[[str], int | None]
    genre_vocab: list[str]
    spot: Spotter | None = None  # catalog titles in free text (TitleResolver.spot)
    count: Callable[[Filters], int] | None = None  # catalog items passing filters, for relaxation
    has_people: bool = False  # whether the catalog knows cast and crew
    request_facets: Callable[[RetrievalQuery], list[str]] | None = None  # what the request named, in catalog facets
    unread_topics: Callable[[RetrievalQuery], list[str]] | None = None  # what it says films are about, unrecorded


class Planned(BaseModel):
    """A message folded into the state: the new state, the turn's query and candidates, what to tell the user."""

    state: ChatState
    query: RetrievalQuery
    candidates: list[Candidate]
    notes: list[Note]
    checks: list[ReplyCheck]


class RequestPipeline:
    def __init__(
        self,
        tools: ChatTools,
        reader: MessageReader,
        reranker: Reranker | Callable[[], Reranker],
        candidates: int = 20,
        max_message_chars: int = 2000,
        dialogue_turns: int = 8,
    ):
        """``candidates``: how many the reranker sees; ``max_message_chars``: a longer one-shot request is a
        whole dialogue (see :meth:`fold`), of which the latest ``dialogue_turns`` are kept as the message.
        ``reranker`` may be given as a function that builds it, so that a request that does not rerank
        (``rerank=False``) never loads an LLM backend."""
        self.tools = tools
        self.reader = reader
        self._reranker = reranker
        self.n_candidates = candidates
        self.max_message_chars = max_message_chars
        self.dialogue_turns = dialogue_turns

    @property
    def reranker(self) -> Reranker:
        if not isinstance(self._reranker, Reranker):
            self._reranker = self._reranker()
        return self._reranker

    @classmethod
    def from_tools(
        cls, tools: ChatTools, reranker: Reranker, understanding_backend=None, understanding: str = "parser", **options
    ) -> RequestPipeline:
        """A pipeline whose reader reads with ``tools``' genre vocabulary and title spotter (``understanding``:
        ``parser``, ``hybrid`` or ``llm``; the LLM modes need ``understanding_backend``)."""
        reader = MessageReader(tools.genre_vocab, tools.spot, understanding_backend, understanding)
        return cls(tools, reader, reranker, **options)

    # ------------------------------------------------------------------ reading, state, retrieval

    def plan(
        self,
        state: ChatState,
        message: str,
        k: int,
        n: int | None = None,
        liked_ids: Sequence[str] = (),
        filters: Filters | None = None,
        one_shot: bool = False,
    ) -> Planned:
        """Read ``message`` (once), fold it into ``state``, relax what leaves fewer than ``k`` items, retrieve
        ``n`` candidates. ``liked_ids`` come with the message (a request's liked items); ``filters`` are
        explicit hard filters (never relaxed). ``one_shot``: a request with no next turn to ask in, where a
        self-contradicting constraint is an :class:`InvalidFilterError` instead of a question."""
        reading, checks = self.reader.read(message) if message else (Understanding(), [])
        reading, unresolved = resolve_mentions(reading, self.tools.resolve)
        event = MessageEvent(
            text=message,
            reading=reading,
            unresolved=unresolved,
            catalog_has_people=self.tools.has_people,
            liked_ids=list(liked_ids),
        )
        state, notes = apply(state, event)
        if one_shot and any(n.kind == "conflict" for n in notes):
            raise InvalidFilterError(_contradiction(reading, notes))
        extra = filters or Filters()
        allow_repeats = reading.repeat
        if self.tools.count is not None:
            count = self.tools.count
            state, relaxed, allow_repeats = relax(state, lambda f: count(f.merged(extra)), k, allow_repeats)
            notes += relaxed
        query = _with_filters(build_query(state, allow_repeats), extra)
        n = n or self.n_candidates
        candidates = self.tools.candidates(query, n)
        if not candidates and not query.filters.is_empty:  # never an empty answer while the catalog has items
            state, relaxed, _ = relax(state, lambda f: 0, k, True)
            notes += relaxed
            query = _with_filters(build_query(state, allow_repeats=True), extra)
            candidates = self.tools.candidates(query, n)
        notes += self.facet_notes(query, candidates, k)
        return Planned(state=state, query=query, candidates=candidates, notes=notes, checks=checks)

    def facet_notes(self, query: RetrievalQuery, candidates: list[Candidate], k: int) -> list[Note]:
        """Retrieval ranks the films that meet everything the request named first; when fewer than ``k`` do, the
        rest are the nearest others, and the reply says so; and it says what the request wants films to be about
        that nothing in the catalog records (the words said ordered the list)."""
        unread = self.tools.unread_topics(query) if self.tools.unread_topics is not None and candidates else []
        notes = []
        if unread:  # "a movie set in a hospital": no genre, tag or Wikidata fact says it; the words ordered the list
            what = " or ".join(f"“{u}”" for u in unread)
            notes.append(Note(kind="relaxed", text=f"Nothing the catalog records about its films says {what}, so "
                                                   "these are the closest to your words."))  # fmt: skip
        return notes + self._facet_notes(query, candidates, k)

    def _facet_notes(self, query: RetrievalQuery, candidates: list[Candidate], k: int) -> list[Note]:
        flags = [c.on_request for c in candidates[:k]]
        if self.tools.request_facets is None or not flags or flags[0] is None or all(flags) and len(flags) >= k:
            return []
        labels = self.tools.request_facets(query)
        if not labels:
            return []
        said = " and ".join(f"“{label}”" for label in labels)
        n = sum(bool(f) for f in flags)
        if set(labels) <= {p.lower() for p in query.preferences.people}:  # a name the catalog has only as a tag
            return [Note(kind="relaxed", text=f"Users tagged {n} of these {said}; they come first.")] if n else []
        gaps = [label for label in labels if label in GAPS]
        if gaps:  # asked for what the catalog does not record: say so; the rest of the request decides
            what = " or ".join(f"which films are {g}" for g in gaps)
            rest = " and ".join(f"“{label}”" for label in labels if label not in GAPS)
            then = f"these follow the rest of what you asked ({rest})" if rest else "these are the nearest I found"
            return [Note(kind="relaxed", text=f"The catalog does not record {what}, so {then}.")]
        if n == 0:
            text = f"Nothing in the catalog matches {said}, so these are the nearest I found."
        else:
            text = f"Only {n} {'film matches' if n == 1 else 'films match'} {said}; the rest are the nearest others."
        return [Note(kind="relaxed", text=text)]

    def fold(self, text: str) -> tuple[str, list[str]]:
        """A dialogue too long for one message: (its recent turns as the message, the ids of titles the user
        liked in the older turns). Turns are lines; a dialogue on one line is cut into sentences."""
        turns = [t.strip() for t in text.splitlines() if t.strip()]
        if len(turns) <= 1:
            turns = [t.strip() for t in re.split(r"(?<=[.!?])\s+", text) if t.strip()]
        limit = self.max_message_chars
        recent: list[str] = []
        for t in reversed(turns[-self.dialogue_turns :]):
            if sum(len(r) + 1 for r in recent) + len(t) > limit:
                break
            recent.insert(0, t)
        if not recent:
            recent = [turns[-1][-limit:]]
        liked: list[str] = []
        for t in turns[: len(turns) - len(recent)]:
            u = self.reader.parse(t[:limit])
            liked += [m.item_id for m in u.mentions if m.item_id and m.stance in ("liked", "want")]
        return "\n".join(recent), list(dict.fromkeys(liked))

    # ------------------------------------------------------------------ a response

    def respond(
        self,
        state: ChatState,
        message: str,
        k: int,
        n: int | None = None,
        liked_ids: Sequence[str] = (),
        filters: Filters | None = None,
        one_shot: bool = False,
        reranker: Reranker | None = None,
        mode: str | None = None,
        bootstrap: int | None = None,
    ) -> tuple[ChatState, RecommendationResponse]:
        """One turn: :meth:`plan`, then the reranker (``reranker`` replaces this pipeline's, e.g. the
        retrieval-order one for ``rerank=False``), the shown list folded back into the state, the reply."""
        reranker = reranker or self.reranker
        p = self.plan(state, message, k, n, liked_ids, filters, one_shot)
        state = p.state
        history = self.tools.summarize(state.user_id, state.liked_ids) if reranker.uses_llm(mode) else ""
        request = " ".join(part for part in (_said(p.query.text, state.topics), wishes(state)) if part)
        req = RerankRequest(candidates=p.candidates, request=request, k=k, liked_ids=p.query.liked_ids)
        if history:
            req.history = history
        response = reranker.rerank(req, mode=mode, bootstrap=bootstrap)
        ids = [r.item_id for r in response.recommendations]
        state, _ = apply(state, ShownEvent(item_ids=ids, years=[self.tools.item_year(i) for i in ids]))
        reply = _reply(state, response, p.notes)
        notes = [ReplyNote(kind=n.kind, text=n.text) for n in p.notes]
        update = {"message": reply, "notes": notes, "checks": p.checks + list(response.checks)}
        return state, response.model_copy(update=update)


def _with_filters(query: RetrievalQuery, extra: Filters) -> RetrievalQuery:
    return query if extra.is_empty else query.model_copy(update={"filters": query.filters.merged(extra)})


def _contradiction(reading: Understanding, notes: list[Note]) -> str:
    years = [c for c in reading.hard if c.kind in ("year_min", "year_max")]
    if years:
        said = " and ".join(c.phrase for c in years)
        return f"the query asks for {said}: no item can be both; ask for one year range"
    return next(n.text for n in notes if n.kind == "conflict")


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


# ---------------------------------------------------------------------------------------------- wording


def _said(text: str | None, topics: Sequence[str]) -> str | None:
    """The query text without the topics it repeats at its end ("a heist movie heist" is "a heist movie"): for the
    prompt and the explanations, which quote it."""
    tail = " ".join(topics)
    if not text or not tail:
        return text
    if text.endswith(" " + tail):
        head = text[: -len(tail) - 1]
        heard = {w.rstrip("s") for w in head.lower().split()}
        if all({w.rstrip("s") for w in t.lower().split()} <= heard for t in topics):
            return head
    return text


def wishes(state: ChatState) -> str:
    """The soft wishes in words, for the reply and the rerank prompt."""
    return ", ".join(CRITIQUE_PHRASES[(c.attribute, c.direction)] for c in state.critiques)


def _reply(state: ChatState, response: RecommendationResponse, notes: list[Note]) -> str:
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
    if w := wishes(state):
        bits.append("leaning " + w)
    what = f" ({'; '.join(bits)})" if bits else ""
    parts.append(f"Here are {len(response.recommendations)} picks{what}.")
    if response.source == "fallback":
        parts.append("(The language model failed, so these are in retrieval order.)")
    return " ".join(parts)
