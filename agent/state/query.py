"""The turn's retrieval query from the dialogue state, and relaxation when it finds too little.

:func:`build_query` turns a state into the turn's :class:`RetrievalQuery`: hard constraints become
``Filters``; soft evidence (genre weights, critiques, topics, recent turns) becomes ``Preferences``.
:func:`relax` drops hard constraints that leave fewer than ``k`` items, most recent first. Pure, like
:func:`recagent.agent.state.update.apply`: the counts come in as a callable.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from recagent.agent.reading.model import HardConstraint
from recagent.agent.state.model import CONTEXT_DECAY, SHOWN_ANCHORS, ChatState
from recagent.agent.state.update import Note
from recagent.retrieval.base import ContextText, Preferences, RetrievalQuery
from recagent.retrieval.filters import Filters


def without_people(text: str, people: list[str]) -> str:
    """The text with people's names taken out: a name must never match title words ("Jennifer 8")."""
    for name in people:
        text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", " ", text, flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", text).strip()


def preferences(state: ChatState) -> Preferences:
    """The soft evidence of the state: re-ranks, never filters."""
    n = len(state.context)
    context = [
        ContextText(text=clean, weight=round(CONTEXT_DECAY ** (n - 1 - i), 4))
        for i, t in enumerate(state.context)
        if (clean := without_people(t, state.people))
    ]
    return Preferences(
        genres=dict(state.genre_prefs),
        critiques=list(state.critiques),
        topics=list(state.topics),
        context=context,
        avoid_ids=list(state.avoid_ids),
        shown_ids=shown_anchors(state),
        named_ids=list(dict.fromkeys(state.named_ids + state.seen_ids)),  # titles said: not words to search by
        people=list(state.people),
    )


def shown_anchors(state: ChatState) -> list[str]:
    """The latest items shown in the session (by the agent or another party) that the user said nothing
    about (a liked, disliked or seen one speaks for itself), newest last."""
    said = set(state.liked_ids) | set(state.disliked_ids) | set(state.seen_ids) | set(state.want_ids)
    return [i for i in state.shown_ids if i not in said][-SHOWN_ANCHORS:]


def build_query(state: ChatState, allow_repeats: bool = False) -> RetrievalQuery:
    """The turn's retrieval query: hard constraints as filters, soft evidence as preferences, the items the
    latest message pointed at (else every liked or wanted item) as the item-to-item anchors."""
    request = without_people(state.request, state.people) if state.request else None
    text_parts = [p for p in (request, " ".join(state.topics)) if p]  # a topic said again weighs more
    return RetrievalQuery(
        user_id=state.user_id,
        liked_ids=list(dict.fromkeys(state.focus_ids)) or list(dict.fromkeys(state.liked_ids + state.want_ids)),
        disliked_ids=list(state.disliked_ids),
        text=" ".join(text_parts) or None,
        filters=state.filters(allow_repeats=allow_repeats),
        preferences=preferences(state),
    )


def relax(
    state: ChatState, count: Callable[[Filters], int], k: int, allow_repeats: bool = False
) -> tuple[ChatState, list[Note], bool]:
    """Drop hard constraints, most recent first (a bound relative to the last list before a stated one),
    until at least ``k`` catalog items pass the filters; then, if still short, allow items already shown.
    Returns (new state, notes saying what was relaxed, whether repeats are allowed)."""
    new = state.model_copy(deep=True)
    notes: list[Note] = []
    dropped: list[str] = []
    while count(new.filters(allow_repeats)) < k and new.constraints:
        order = sorted(
            range(len(new.constraints)),
            key=lambda i: (new.constraints[i].turn, new.constraints[i].scope == "last_list", i),
        )
        victim = new.constraints[order[-1]]
        same = [
            c
            for c in new.constraints
            if c.turn == victim.turn
            and c.phrase == victim.phrase
            and c.kind in ("year_min", "year_max")
            and victim.kind in ("year_min", "year_max")
        ]
        gone = same or [victim]
        new.constraints = [c for c in new.constraints if all(c is not g for g in gone)]
        dropped.append(victim.phrase or _describe(victim))
        new.sync_mirrors()
    if dropped:
        said = ", ".join(f"“{d}”" for d in dict.fromkeys(dropped))
        notes.append(Note(kind="relaxed", text=f"Too few movies match everything you asked, so I relaxed {said}."))
    if not allow_repeats and count(new.filters(False)) < k and count(new.filters(True)) > count(new.filters(False)):
        allow_repeats = True
        notes.append(Note(kind="repeat", text="You have seen nearly everything that fits, so some picks repeat."))
    return new, notes, allow_repeats


def _describe(c: HardConstraint) -> str:
    return {
        "genre": f"only {c.value}",
        "exclude_genre": f"no {c.value}",
        "year_min": f"from {c.value} on",
        "year_max": f"up to {c.value}",
    }[c.kind]
