"""What one message says, as the reader (and the LLM reading) hand it to the dialogue state.

Lists are additions to the state: :func:`recagent.agent.state.update.apply` folds them in. A
:class:`HardConstraint` is the one model of a hard wish, in a reading and in the saved state alike
(``turn`` is set when the state takes it in).
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, Field

from recagent.agent.vocabulary import ConstraintKind, ConstraintScope, Origin, Stance
from recagent.retrieval.base import Critique
from recagent.retrieval.titles import TitleSpan

# catalog titles in free text (see :meth:`recagent.retrieval.titles.TitleResolver.spot`)
Spotter = Callable[[str], list[TitleSpan]]


class TitleMention(BaseModel):
    """A movie the message refers to by name, with the user's stance on it."""

    text: str = Field(description="the words as typed")
    stance: Stance
    origin: Origin = "parser"
    item_id: str | None = Field(None, description="set when the spotter resolved it; else the caller resolves text")
    title: str | None = None
    candidates: list[str] = Field(default_factory=list, description="the items an ambiguous name may be")
    explicit: bool = Field(True, description="quoted or capitalised: worth telling the user when it is not found")
    start: int = -1


class ListReference(BaseModel):
    """A reference to the last list shown: position 1-based, -1 the last, 0 "that one" (the focus)."""

    position: int
    stance: Stance
    more_like: bool = False


class HardConstraint(BaseModel):
    """A hard constraint the user stated: it becomes a filter. Where it came from and when, so that a
    conflict can be explained and relaxation can drop the most recent one first."""

    kind: ConstraintKind
    value: str | int
    phrase: str = Field("", description="the words it came from, for replies")
    origin: Origin = "parser"
    scope: ConstraintScope = Field(
        "request", description="request: stated outright; last_list: relative to the list shown ('older ones')"
    )
    turn: int = Field(0, description="the dialogue turn that stated it (set by the state update)")


class Understanding(BaseModel):
    """What one message says. Lists are additions to the dialogue state."""

    mentions: list[TitleMention] = Field(default_factory=list)
    references: list[ListReference] = Field(default_factory=list)
    hard: list[HardConstraint] = Field(default_factory=list)
    unsure: list[HardConstraint] = Field(
        default_factory=list,
        description="hard constraints read with low confidence: not applied; the reply asks about them",
    )
    genres: dict[str, float] = Field(default_factory=dict, description="soft genre weights in [-1, 1]")
    critiques: list[Critique] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    people: list[str] = Field(default_factory=list)
    older: bool = Field(False, description="a follow-up: older than the list shown")
    newer: bool = Field(False, description="a follow-up: newer than the list shown")
    reset: bool = False
    repeat: bool = False
    asks: bool = Field(False, description="asks for something in words (the retrieval text follows it)")
    continues: bool = Field(
        False, description='a fragment that goes on from the standing request: "about music" after "a documentary"'
    )
    search_text: str | None = Field(
        None,
        description="the message without what the state carries otherwise (critiques, negated genres, years, names): "
        "the words for text retrieval, where 'less violent' or 'no horror' would pull the opposite",
    )

    # convenience views -------------------------------------------------------------------------
    def titles(self, stance: str) -> list[str]:
        return [m.text for m in self.mentions if m.stance == stance]

    @property
    def liked_titles(self) -> list[str]:
        return self.titles("liked")

    @property
    def disliked_titles(self) -> list[str]:
        return self.titles("disliked")

    @property
    def seen_titles(self) -> list[str]:
        return self.titles("seen")

    def hard_values(self, kind: str) -> list:
        return [c.value for c in self.hard if c.kind == kind]

    @property
    def year_min(self) -> int | None:
        v = self.hard_values("year_min")
        return max(v) if v else None

    @property
    def year_max(self) -> int | None:
        v = self.hard_values("year_max")
        return min(v) if v else None

    @property
    def more_like(self) -> list[int]:
        return [r.position for r in self.references if r.more_like]
