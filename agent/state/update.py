"""The dialogue state update: one pure function, ``apply(state, event) -> (new_state, notes)``.

Every change to a chat session's state goes through :func:`apply`: a typed message (already
understood, its titles resolved), a Like/Dislike/Seen button, a list shown by the agent or by a
replayed human recommender. The same stance rules serve all of them, so a like typed in a message
undoes an earlier dislike exactly as the Like button does. No I/O here: the chat agent does the
understanding and the title lookups first and hands the results in.

The turn's retrieval query and relaxation are :mod:`recagent.agent.state.query`.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

from recagent.agent.reading.model import HardConstraint, Understanding
from recagent.agent.state.model import CONTEXT_TURNS, MAX_NAMED, MAX_TOPICS, ChatState, Mention
from recagent.agent.vocabulary import COMMON_WORDS

MAX_REQUEST = 300  # characters: a request continued past this is replaced by the latest message instead
# words that ask without saying what for: with COMMON_WORDS, a message left with only these adds nothing to search by
FILLER = set("please pls plz ones stuff any anything some released come came out instead too either though".split())


class Note(BaseModel):
    """Something the reply should tell the user."""

    kind: Literal["unresolved", "ambiguous", "conflict", "person", "relaxed", "reference", "repeat", "confirm"]
    text: str


class MessageEvent(BaseModel):
    """A user message, understood, with its titles resolved (``mention.item_id`` set where found)."""

    text: str
    reading: Understanding
    unresolved: dict[str, list[str]] = Field(default_factory=dict, description="typed title -> suggestions")
    catalog_has_people: bool = False
    liked_ids: list[str] = Field(
        default_factory=list, description="items the request came with as liked (a one-shot request's likes)"
    )


class FeedbackEvent(BaseModel):
    """A Like, Dislike or Seen button on one item."""

    item_id: str
    kind: Literal["like", "dislike", "seen"]
    title: str = ""


class ShownEvent(BaseModel):
    """A list shown to the user: by the agent (``role="assistant"``, "that one" is its first item) or by
    someone else, e.g. a replayed recommender turn (``"that one"`` is the last item it mentioned)."""

    item_ids: list[str]
    years: list[int | None] = Field(default_factory=list)
    role: str = "assistant"


Event = MessageEvent | FeedbackEvent | ShownEvent
BUTTON_STANCE = {"like": "liked", "dislike": "disliked", "seen": "seen"}


def apply(state: ChatState, event: Event) -> tuple[ChatState, list[Note]]:
    """The new state after ``event`` and what the reply should say about it. ``state`` is not changed."""
    new = state.model_copy(deep=True)
    notes: list[Note] = []
    if isinstance(event, FeedbackEvent):
        _set_stance(new, event.item_id, BUTTON_STANCE[event.kind], event.title, "button")
    elif isinstance(event, ShownEvent):
        ids = list(dict.fromkeys(event.item_ids))
        if ids:
            new.shown_ids += [i for i in ids if i not in new.shown_ids]
            new.last_shown = ids
            years = list(event.years) + [None] * (len(ids) - len(event.years))
            new.last_years = years[: len(ids)]
            new.last_focus = ids[0] if event.role == "assistant" else ids[-1]
    else:
        _apply_message(new, event, notes)
    new.sync_mirrors()
    return new, notes


# ------------------------------------------------------------------------------------ stance


def _set_stance(state: ChatState, item_id: str, stance: str, title: str, origin: str) -> None:
    """One rule for every source of a stance (typed, LLM, button)."""
    if stance in ("liked", "disliked", "seen", "want"):
        state.mentions.append(Mention(item_id=item_id, title=title, stance=stance, turn=state.turns, origin=origin))
    else:  # asked about, or named in passing: its title words must not steer the text source
        _drop(state.named_ids, item_id)
        state.named_ids = (state.named_ids + [item_id])[-MAX_NAMED:]
    if stance == "liked":
        _drop(state.disliked_ids, item_id)
        _drop(state.avoid_ids, item_id)
        _add(state.liked_ids, item_id)
    elif stance == "disliked":
        _drop(state.liked_ids, item_id)
        _drop(state.want_ids, item_id)
        _add(state.disliked_ids, item_id)
    elif stance == "seen":
        _add(state.seen_ids, item_id)
    elif stance == "want":
        _drop(state.disliked_ids, item_id)
        _add(state.want_ids, item_id)


def _add(ids: list[str], item_id: str) -> None:
    if item_id not in ids:
        ids.append(item_id)


def _drop(ids: list[str], item_id: str) -> None:
    while item_id in ids:
        ids.remove(item_id)


def list_item(state: ChatState, position: int) -> str | None:
    """The item at a 1-based position of the last list (-1: its last item; 0: "that one"), or None."""
    shown = state.last_shown
    if position == 0:
        return state.last_focus if state.last_focus in shown else (shown[0] if shown else None)
    if position < 0:
        return shown[position] if -len(shown) <= position else None
    return shown[position - 1] if position <= len(shown) else None


# ------------------------------------------------------------------------------------ messages


def _apply_message(state: ChatState, event: MessageEvent, notes: list[Note]) -> None:
    u = event.reading
    if u.reset:
        fresh = ChatState(session_id=state.session_id, user_id=state.user_id, turns=state.turns)
        for name in ChatState.model_fields:
            setattr(state, name, getattr(fresh, name))
    state.turns += 1
    state.focus_ids = []
    for iid in dict.fromkeys(event.liked_ids):  # they anchor this turn, before the titles it names
        _set_stance(state, iid, "liked", "", "request")
        state.focus_ids.append(iid)

    # titles
    for title, suggestions in event.unresolved.items():
        hint = f" (did you mean {'; '.join(suggestions[:2])}?)" if suggestions else ""
        notes.append(Note(kind="unresolved", text=f"I could not find “{title}” in the catalog{hint}."))
    for m in u.mentions:
        if m.item_id is None:
            if m.candidates and m.stance in ("liked", "disliked", "seen", "want"):
                notes.append(
                    Note(kind="ambiguous", text=f"Which “{m.text}” do you mean? Several titles fit; add the year.")
                )
            continue
        _set_stance(state, m.item_id, m.stance, m.title or m.text, m.origin)
        if m.stance == "liked":
            state.focus_ids.append(m.item_id)
    for ref in u.references:
        iid = list_item(state, ref.position)
        if iid is None:
            if state.last_shown or ref.position != 0:
                notes.append(Note(kind="reference", text=f"There is no item number {ref.position} in the last list."))
            continue
        _set_stance(state, iid, ref.stance, "", "parser")
        if ref.more_like or ref.stance == "liked":
            state.focus_ids.append(iid)

    _apply_constraints(state, u, notes)

    # soft evidence: the latest word on a genre or an attribute wins and lasts
    for genre, weight in u.genres.items():
        state.genre_prefs[genre] = max(-1.0, min(1.0, weight))
    for c in u.critiques:
        state.critiques = [x for x in state.critiques if x.attribute != c.attribute] + [c]
    state.topics = (state.topics + [t for t in u.topics if t not in state.topics])[-MAX_TOPICS:]
    state.people = (state.people + [p for p in u.people if p not in state.people])[-MAX_TOPICS:]
    if u.people and not event.catalog_has_people:
        names = ", ".join(p.title() for p in u.people)
        notes.append(
            Note(
                kind="person",
                text=f"This catalog has no cast or crew information, so I cannot search by {names}; "
                "these picks follow the rest of what you said.",
            )
        )
    more = says_more(u)
    narrows = u.asks and not more and state.request is not None and bool(u.hard or u.unsure or u.critiques)
    if not narrows:  # "from the 80s" after "a film about astronauts": a filter, no words for the text source
        state.context = (state.context + [event.text])[-CONTEXT_TURNS:]
    if u.asks and not u.references and not u.repeat:
        if u.continues and more and state.request and len(state.request) + len(u.search_text or "") < MAX_REQUEST:
            state.request = f"{state.request} {u.search_text}"  # "a good documentary" + "about music"
        elif state.request is None or more:
            # "only from the 90s", "only comedies", "something newer" after "a movie set in a hospital": a message
            # that only narrows keeps the standing request (the filter or critique it states is the state's)
            state.request = u.search_text if u.search_text is not None else event.text


def says_more(u: Understanding) -> bool:
    """Whether the message's words for search (``search_text``) hold a content word that none of its hard
    constraints' phrases holds: "only comedies about dogs" does ("dogs"), "only comedies", "only from the 90s"
    and "something newer please" do not."""
    stated = {w for c in [*u.hard, *u.unsure] for w in _words(c.phrase or "")}
    return any(w not in COMMON_WORDS and w not in FILLER and w not in stated for w in _words(u.search_text or ""))


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z][a-z']*", text.lower())


def _apply_constraints(state: ChatState, u: Understanding, notes: list[Note]) -> None:
    turn = state.turns
    if u.unsure:  # read with low confidence: never applied silently; the reply asks
        notes.append(Note(kind="confirm", text=_confirm_question(u.unsure)))
    new = [c.model_copy(update={"turn": turn}) for c in u.hard]
    # a message that contradicts itself changes nothing and asks
    lo = max((int(c.value) for c in new if c.kind == "year_min"), default=None)
    hi = min((int(c.value) for c in new if c.kind == "year_max"), default=None)
    if lo is not None and hi is not None and lo > hi:
        said = " and ".join(dict.fromkeys(c.phrase for c in new if c.kind in ("year_min", "year_max") and c.phrase))
        notes.append(
            Note(
                kind="conflict",
                text=f"No movie can be {said or 'in both year ranges'} at once, so I left the years "
                "as they were. Which did you mean?",
            )
        )
        new = [c for c in new if c.kind not in ("year_min", "year_max")]
    both = {c.value for c in new if c.kind == "genre"} & {c.value for c in new if c.kind == "exclude_genre"}
    if both:
        notes.append(
            Note(
                kind="conflict",
                text=f"You asked both for and against {', '.join(map(str, both))}; "
                "I left that genre open. Which did you mean?",
            )
        )
        new = [c for c in new if c.value not in both]

    cons = state.constraints
    if any(c.kind == "genre" for c in new):  # the latest ask for genres replaces the previous one
        wanted = {c.value for c in new if c.kind == "genre"}
        cons = [c for c in cons if c.kind != "genre" and not (c.kind == "exclude_genre" and c.value in wanted)]
    for c in new:
        if c.kind == "exclude_genre":
            cons = [x for x in cons if not (x.kind in ("genre", "exclude_genre") and x.value == c.value)]
    if any(c.kind in ("year_min", "year_max") for c in new):  # a new year range replaces the old one
        cons = [c for c in cons if c.kind not in ("year_min", "year_max")]
    cons = cons + new

    years = [y for y in state.last_years if y]
    if (u.older or u.newer) and years:
        cons = _relative_years(cons, older=u.older, years=years, turn=turn)
    state.constraints = cons


def _confirm_question(unsure: list[HardConstraint]) -> str:
    """ "Only films before 1995? Say so and I will filter; these picks are not filtered by year." """
    lo = max((int(c.value) for c in unsure if c.kind == "year_min"), default=None)
    hi = min((int(c.value) for c in unsure if c.kind == "year_max"), default=None)
    if lo is not None and hi is not None:
        window = f"from {lo}" if lo == hi else f"from {lo} to {hi}"
    elif lo is not None:
        window = f"from {lo} on"
    else:
        window = f"before {hi + 1}"
    return f"Only films {window}? Say so and I will filter by year; these picks are not filtered."


def _relative_years(cons: list[HardConstraint], older: bool, years: list[int], turn: int) -> list[HardConstraint]:
    """ "Something older": before the oldest item shown ("newer": after the newest), keeping a compatible bound."""
    if older:
        bound = HardConstraint(
            kind="year_max", value=min(years) - 1, scope="last_list", turn=turn, phrase="older than those"
        )
        keep = [c for c in cons if c.kind != "year_max" and not (c.kind == "year_min" and int(c.value) > bound.value)]
    else:
        bound = HardConstraint(
            kind="year_min", value=max(years) + 1, scope="last_list", turn=turn, phrase="newer than those"
        )
        keep = [c for c in cons if c.kind != "year_min" and not (c.kind == "year_max" and int(c.value) < bound.value)]
    return keep + [bound]
