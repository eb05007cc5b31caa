"""The dialogue state of one chat session: what the user said so far, as one pydantic model.

Pure data: no I/O (the session store, :mod:`recagent.agent.session_store`, saves it as JSON). It changes
only through :func:`recagent.agent.state.update.apply`; :mod:`recagent.agent.state.query` turns it into
a retrieval query. Old saved states load: the validator below reads them into today's fields.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from recagent.agent.reading.model import HardConstraint
from recagent.agent.vocabulary import Origin, Stance
from recagent.retrieval.base import Critique
from recagent.retrieval.filters import Filters

# how much of the dialogue the state keeps
CONTEXT_TURNS = 6  # recent user turns kept as soft context
CONTEXT_DECAY = 0.6  # a turn weighs this much of the one after it
SHOWN_ANCHORS = 10  # the latest shown items kept as weak item-to-item anchors
MAX_TOPICS = 5
MAX_NAMED = 10  # titles named without a stance, kept out of the text source


class Mention(BaseModel):
    """A catalog item the user spoke about (or a button pressed on it), with their stance."""

    item_id: str
    title: str = ""
    stance: Stance
    turn: int = 0
    origin: Origin = "parser"


# the old keyword wishes of saved sessions, as critiques
_LEGACY_KEYWORDS = {
    "less violent": ("violence", -1),
    "feel-good": ("darkness", -1),
    "dark": ("darkness", 1),
}


class ChatState(BaseModel):
    """The dialogue state of one chat session, persisted as JSON.

    Hard constraints live in ``constraints`` (with their provenance); ``genres``, ``exclude_genres``,
    ``year_min`` and ``year_max`` mirror them for readers of the saved state and the web page. Soft
    evidence (genre weights, critiques, topics, recent turns) becomes ``RetrievalQuery.preferences``.
    Every change goes through :func:`recagent.agent.state.update.apply`. States saved before these fields
    existed load as they are: the mirrors are read back into ``constraints``; a constraint saved with the
    old ``strength`` field (always "hard") loads without it.
    """

    session_id: str
    user_id: str | None = None
    liked_ids: list[str] = Field(default_factory=list)
    disliked_ids: list[str] = Field(default_factory=list)
    seen_ids: list[str] = Field(default_factory=list)
    genres: list[str] = Field(default_factory=list, description="hard: keep items with one of these")
    exclude_genres: list[str] = Field(default_factory=list, description="hard: drop items with any of these")
    year_min: int | None = None
    year_max: int | None = None
    keywords: list[str] = Field(default_factory=list, description="kept for old saved states; see critiques")
    request: str | None = Field(None, description="the last message that asked for something in words")
    shown_ids: list[str] = Field(default_factory=list, description="everything recommended so far")
    last_shown: list[str] = Field(default_factory=list, description="the latest list, in order")
    last_years: list[int | None] = Field(default_factory=list)
    turns: int = 0
    # the dialogue state proper (fields added with defaults: old saved states still load)
    constraints: list[HardConstraint] = Field(default_factory=list, description="hard constraints, oldest first")
    mentions: list[Mention] = Field(default_factory=list, description="items spoken about, oldest first")
    want_ids: list[str] = Field(default_factory=list, description="items the user wants to see")
    genre_prefs: dict[str, float] = Field(default_factory=dict, description="soft genre weights in [-1, 1]")
    critiques: list[Critique] = Field(default_factory=list, description="soft: they last until the user changes them")
    topics: list[str] = Field(default_factory=list)
    people: list[str] = Field(default_factory=list, description="people the user asked about")
    context: list[str] = Field(default_factory=list, description="the user's recent turns, newest last")
    avoid_ids: list[str] = Field(default_factory=list)
    last_focus: str | None = Field(None, description='the item "that one" refers to')
    focus_ids: list[str] = Field(default_factory=list, description="what the latest message pointed at")
    named_ids: list[str] = Field(
        default_factory=list,
        description='items the user named without a stance ("have you seen Heat?"), newest last: not anchors, '
        "but their titles are kept out of the text source",
    )

    @model_validator(mode="before")
    @classmethod
    def _from_old_state(cls, data):
        if not isinstance(data, dict) or "constraints" in data:
            return data
        data = dict(data)
        cons = [{"kind": "genre", "value": g, "origin": "saved"} for g in data.get("genres") or []]
        cons += [{"kind": "exclude_genre", "value": g, "origin": "saved"} for g in data.get("exclude_genres") or []]
        for kind in ("year_min", "year_max"):
            if data.get(kind) is not None:
                cons.append({"kind": kind, "value": data[kind], "origin": "saved"})
        data["constraints"] = cons
        crit = [_LEGACY_KEYWORDS[k] for k in data.get("keywords") or [] if k in _LEGACY_KEYWORDS]
        if crit and "critiques" not in data:
            data["critiques"] = [{"attribute": a, "direction": d} for a, d in crit]
        return data

    def filters(self, allow_repeats: bool = False) -> Filters:
        """The hard constraints as filters (from ``constraints``; the mirror fields are views of them)."""
        excluded = self.seen_ids + self.disliked_ids + ([] if allow_repeats else self.shown_ids)
        lows = [int(c.value) for c in self.constraints if c.kind == "year_min"]
        highs = [int(c.value) for c in self.constraints if c.kind == "year_max"]
        return Filters(
            year_min=max(lows) if lows else None,
            year_max=min(highs) if highs else None,
            genres=list(dict.fromkeys(str(c.value) for c in self.constraints if c.kind == "genre")),
            exclude_genres=list(dict.fromkeys(str(c.value) for c in self.constraints if c.kind == "exclude_genre")),
            exclude_ids=list(dict.fromkeys(excluded)),
        )

    def sync_mirrors(self) -> None:
        """Set the mirror fields (``genres``, ``exclude_genres``, ``year_min``, ``year_max``) from ``constraints``."""
        self.genres = list(dict.fromkeys(str(c.value) for c in self.constraints if c.kind == "genre"))
        self.exclude_genres = list(dict.fromkeys(str(c.value) for c in self.constraints if c.kind == "exclude_genre"))
        lows = [int(c.value) for c in self.constraints if c.kind == "year_min"]
        highs = [int(c.value) for c in self.constraints if c.kind == "year_max"]
        self.year_min = max(lows) if lows else None
        self.year_max = min(highs) if highs else None
