"""LLM backends behind one contract, built from settings through a small table."""

from __future__ import annotations

from collections.abc import Callable

from recagent.agent.backends.base import (
    BackendError,
    BackendTimeout,
    ChatMessage,
    Completion,
    CompletionRequest,
    LLMBackend,
    LLMError,
)
from recagent.settings import Settings


def _llama_cpp(s: Settings) -> LLMBackend:
    from recagent.agent.backends.llama_cpp import LlamaCppBackend

    return LlamaCppBackend(s.llm.gguf, s.llm.threads, s.llm.context, s.llm.seed, s.llm.timeout)


def _openai(s: Settings) -> LLMBackend:
    from recagent.agent.backends.openai_compat import OpenAIBackend

    key = s.openai_api_key.get_secret_value() if s.openai_api_key else None
    return OpenAIBackend(s.llm.model, s.openai_base_url, key, s.llm.timeout, s.llm.max_retries)


BACKENDS: dict[str, Callable[[Settings], LLMBackend]] = {"llama_cpp": _llama_cpp, "openai": _openai}


def create_backend(settings: Settings) -> LLMBackend:
    return BACKENDS[settings.llm_backend](settings)


__all__ = [
    "BACKENDS",
    "BackendError",
    "BackendTimeout",
    "ChatMessage",
    "Completion",
    "CompletionRequest",
    "LLMBackend",
    "LLMError",
    "create_backend",
]
