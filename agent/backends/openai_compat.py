"""Hosted and OpenAI-compatible servers through the openai SDK.

OpenAI, vLLM, a llama.cpp server or Ollama: only the base URL, the key and the
model name change. Structured outputs (``json_schema``) are used where the
server accepts them, JSON mode otherwise. The SDK's own bounded retries with
exponential backoff handle 429 and 5xx; timeouts become ``BackendTimeout``.
"""

from __future__ import annotations

import json

import openai

from recagent.agent.backends.base import (
    BackendError,
    BackendTimeout,
    Completion,
    CompletionRequest,
    LLMBackend,
)

JSON_MODES = ("json_schema", "json_object_schema", "json_object")


def _response_format(mode: str, schema: dict) -> dict:
    if mode == "json_schema":  # OpenAI structured outputs, vLLM, llama.cpp's own server
        return {"type": "json_schema", "json_schema": {"name": "response", "schema": schema, "strict": True}}
    if mode == "json_object_schema":  # llama-cpp-python's server: JSON mode with a schema grammar
        return {"type": "json_object", "schema": schema}
    return {"type": "json_object"}


class OpenAIBackend(LLMBackend):
    name = "openai"

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 2,
    ):
        self.model = model
        self.base_url = base_url
        # a local OpenAI-compatible server needs no key, but the SDK insists on one
        self.client = openai.OpenAI(
            base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=max_retries
        )
        self.json_mode = JSON_MODES[0]  # stepped down, and remembered, when a server rejects it

    def _call(self, **kwargs):
        try:
            return self.client.chat.completions.create(model=self.model, **kwargs)
        except openai.APITimeoutError as e:
            raise BackendTimeout(f"{self.base_url or 'OpenAI'}: request timed out ({e})") from None
        except openai.APIConnectionError as e:
            raise BackendError(f"cannot reach {self.base_url or 'OpenAI'}: {e}") from None
        except openai.APIStatusError as e:
            raise BackendError(f"{self.base_url or 'OpenAI'} answered {e.status_code}: {e.message}") from None

    def _structured_call(self, kwargs: dict, schema: dict):
        """Ask for schema-constrained JSON in the strongest form the server accepts."""
        while True:
            kwargs["response_format"] = _response_format(self.json_mode, schema)
            messages = kwargs["messages"]
            if self.json_mode == "json_object":
                messages = [dict(m) for m in messages]
                messages[0]["content"] += "\nThe JSON must follow this schema: " + json.dumps(
                    schema, separators=(",", ":")
                )
            try:
                return self._call(**{**kwargs, "messages": messages})
            except BackendError as e:
                rejected = "response_format" in str(e) or " 400" in str(e) or " 422" in str(e)
                if not rejected or self.json_mode == JSON_MODES[-1]:
                    raise
                self.json_mode = JSON_MODES[JSON_MODES.index(self.json_mode) + 1]

    def _complete(self, request: CompletionRequest) -> Completion:
        kwargs: dict = {
            "messages": [m.model_dump() for m in request.messages],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.seed is not None:
            kwargs["seed"] = request.seed
        if request.label_tokens:
            kwargs.update(max_tokens=1, logprobs=True, top_logprobs=20)
        if request.json_schema is not None:
            response = self._structured_call(kwargs, request.json_schema)
        else:
            response = self._call(**kwargs)
        if not response.choices:
            raise BackendError(f"{self.base_url or 'OpenAI'} returned no choices")
        choice = response.choices[0]
        usage = response.usage
        label_logprobs: dict[str, float] = {}
        if request.label_tokens and choice.logprobs and choice.logprobs.content:
            top = {t.token.strip(): t.logprob for t in choice.logprobs.content[0].top_logprobs}
            label_logprobs = {label: top.get(label, float("-inf")) for label in request.label_tokens}
        return Completion(
            text=choice.message.content or "",
            prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
            model=response.model or self.model,
            finish_reason=choice.finish_reason,
            label_logprobs=label_logprobs,
        )
