"""Request and response bodies of the HTTP API. Requests forbid unknown fields: a typo fails loudly."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from recagent.agent.session_store import Turn
from recagent.agent.state.model import ChatState
from recagent.retrieval.filters import Filters

SESSION_ID = r"^[A-Za-z0-9_.:-]{1,64}$"


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecommendRequest(_Request):
    user_id: str | int | None = Field(None, description="a user in the interaction log")
    likes: list[str] = Field(default_factory=list, max_length=50, description="liked titles, resolved to items")
    liked_ids: list[str] = Field(default_factory=list, max_length=200, description="liked catalog item ids")
    query: str | None = Field(None, description="what the user asks for, in words")
    filters: Filters = Field(default_factory=Filters)
    k: int = Field(10, ge=1, le=100)
    rerank: bool = Field(True, description="rerank with the LLM (false: retrieval order, no LLM)")
    mode: Literal["auto", "generative", "scoring"] | None = Field(None, description="LLM ranking mode")
    bootstrap: int | None = Field(None, ge=1, le=16, description="rerank this many shuffled permutations")


class ChatRequest(_Request):
    session_id: str = Field(pattern=SESSION_ID, description="any id the client picks; a new one starts a session")
    message: str = Field(min_length=1)
    k: int = Field(5, ge=1, le=20)
    user_id: str | int | None = None


class FeedbackRequest(_Request):
    item_id: str = Field(min_length=1)
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
