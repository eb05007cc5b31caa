"""The one LLM backend contract.

A backend implements ``_complete`` and inherits the rest. Errors are typed:
``BackendTimeout`` and ``BackendError`` (both ``LLMError``) carry what a caller
needs to decide on a retry or a fallback.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from recagent.errors import ServiceError


class LLMError(ServiceError):
    """The LLM backend failed: a bad gateway to the model server, not the user's fault."""

    code = "llm_error"
    status = 502


class BackendError(LLMError):
    code = "backend_error"


class BackendTimeout(LLMError):
    code = "backend_timeout"
    status = 504


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class CompletionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messages: list[ChatMessage]
    json_schema: dict | None = Field(None, description="constrain the reply to this JSON schema")
    max_tokens: int = Field(256, ge=1)
    temperature: float = Field(0.0, ge=0)
    seed: int | None = 0
    top_logprobs: int = Field(0, ge=0, le=20, description="return next-token log-probabilities of the first token")
    label_tokens: list[str] = Field(
        default_factory=list, description="scoring mode: labels whose first-token logprob is wanted"
    )


class Completion(BaseModel):
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    model: str = ""
    backend: str = ""
    finish_reason: str | None = None
    label_logprobs: dict[str, float] = Field(default_factory=dict)


class LLMBackend(ABC):
    """Subclasses set ``name`` and ``model`` and implement ``_complete``."""

    name: str = "backend"
    model: str = ""

    @abstractmethod
    def _complete(self, request: CompletionRequest) -> Completion: ...

    def complete(self, request: CompletionRequest) -> Completion:
        t0 = time.perf_counter()
        out = self._complete(request)
        return out.model_copy(
            update={
                "latency_ms": round((time.perf_counter() - t0) * 1000, 2),
                "backend": self.name,
                "model": out.model or self.model,
            }
        )

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text``; backends with a tokenizer override this. ~4 characters a token otherwise."""
        return max(1, (len(text) + 3) // 4)
