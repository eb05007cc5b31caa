"""Request and response bodies of the HTTP API.

Requests are strict: unknown fields are refused (a typo fails loudly) and nothing is coerced (``true`` is
not the integer 1, ``0`` is not ``false``). Text a client writes must have something visible in it once
control, bidi and invisible characters and surrounding whitespace are stripped; the rule is published as
a ``pattern`` in the OpenAPI document so a client (or a fuzzer) can tell a valid value from an invalid one.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from recagent.agent.session_store import Turn
from recagent.agent.state.model import ChatState
from recagent.retrieval.filters import Filters

SESSION_ID = r"^[A-Za-z0-9_.:-]{1,64}$"
ID_MAX = 200  # an identifier longer than this is not in any catalog or log: refused before any lookup

# one character that is neither whitespace nor a control, bidi or invisible one (recagent.agent.safety's set,
# plus soft hyphen, word joiners and the BOM); written the same way for Python and ECMAScript regexes
VISIBLE = r"[^\s\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]"
_VISIBLE = re.compile(VISIBLE)


def _visible(text: str) -> str:
    if not _VISIBLE.search(text):
        raise PydanticCustomError("blank_text", "the text is blank once whitespace and invisible characters go")
    return text


def _json_integer(value):
    # JSON Schema's integer includes 10.0; the models are strict, so bools and strings stay refused
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Integer = Annotated[int, BeforeValidator(_json_integer)]
VisibleText = Annotated[str, AfterValidator(_visible), Field(json_schema_extra={"pattern": VISIBLE})]
UserId = Annotated[str, Field(min_length=1, max_length=ID_MAX)] | Integer
Name = Annotated[str, Field(min_length=1, max_length=500)]  # a title or a genre
ItemId = Annotated[str, Field(min_length=1, max_length=ID_MAX)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class RequestFilters(Filters):
    """:class:`~recagent.retrieval.filters.Filters` validated strictly (no bool-as-int years)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    year_min: Integer | None = None
    year_max: Integer | None = None
    genres: list[Name] = Field(default_factory=list, description="keep items with at least one of these")
    exclude_genres: list[Name] = Field(default_factory=list, description="drop items with any of these")
    exclude_ids: list[ItemId] = Field(default_factory=list)


class RecommendRequest(_Request):
    user_id: UserId | None = Field(None, description="a user in the interaction log (404 `unknown_user` if not)")
    likes: list[Name] = Field(default_factory=list, max_length=50, description="liked titles, resolved to items")
    liked_ids: list[ItemId] = Field(default_factory=list, max_length=200, description="liked catalog item ids")
    query: VisibleText | None = Field(None, description="what the user asks for, in words")
    filters: RequestFilters = Field(default_factory=RequestFilters)
    k: Integer = Field(10, ge=1, le=100)
    rerank: bool = Field(True, description="rerank with the LLM (false: retrieval order, no LLM)")
    mode: Literal["auto", "generative", "scoring"] | None = Field(None, description="LLM ranking mode")
    bootstrap: Integer | None = Field(None, ge=1, le=16, description="rerank this many shuffled permutations")


class ChatRequest(_Request):
    session_id: str = Field(pattern=SESSION_ID, description="any id the client picks; a new one starts a session")
    message: VisibleText = Field(min_length=1)
    k: Integer = Field(5, ge=1, le=20)
    user_id: UserId | None = Field(None, description="a user in the interaction log (404 `unknown_user` if not)")


class FeedbackRequest(_Request):
    item_id: ItemId
    kind: Literal["like", "dislike", "seen"]


class SessionView(BaseModel):
    session_id: str
    state: ChatState
    turns: list[Turn]


class Item(BaseModel):
    item_id: str
    title: str
    year: int | None = None
    genres: list[str] = Field(default_factory=list)


class ErrorDetail(BaseModel):
    code: str = Field(description="stable, machine-readable")
    message: str
    details: object | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: Literal["ok", "loading", "failed"]
    detail: str | None = None
    llm: dict | None = None
