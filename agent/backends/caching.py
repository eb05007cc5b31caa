"""A backend wrapper that replays completions from a disk cache.

The key is the backend, the model, the backend's own fingerprint (the GGUF file's
size and mtime, a server's base URL) and the whole request: every message, the
schema, the sampling parameters. A replayed completion carries the latency that
was measured when it was made, so a re-run gives identical numbers, and an
interrupted eval run resumes at full speed up to where it stopped.
"""

from __future__ import annotations

import threading

from recagent.agent.backends.base import Completion, CompletionRequest, LLMBackend
from recagent.agent.cache import DiskCache, cache_key


def fingerprint(backend: LLMBackend) -> str:
    path = getattr(backend, "path", None)
    if path is not None:
        st = path.stat()
        return f"{path.name}:{st.st_size}:{int(st.st_mtime)}"
    return str(getattr(backend, "base_url", "") or "")


class CachingBackend(LLMBackend):
    def __init__(self, inner: LLMBackend, cache: DiskCache):
        self.inner = inner
        self.cache = cache
        self.name = inner.name
        self.model = inner.model
        self.is_bundled = getattr(inner, "is_bundled", False)
        self._fingerprint = fingerprint(inner)
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def key(self, request: CompletionRequest) -> str:
        return cache_key("completion", self.name, self.model, self._fingerprint, request.model_dump(mode="json"))

    def complete(self, request: CompletionRequest) -> Completion:
        key = self.key(request)
        hit = self.cache.get(key)
        if hit is not None:
            with self._lock:
                self.hits += 1
            return Completion.model_validate(hit)
        out = self.inner.complete(request)  # errors are not cached: a re-run tries again
        self.cache.set(key, out.model_dump(mode="json"))
        with self._lock:
            self.misses += 1
        return out

    def _complete(self, request: CompletionRequest) -> Completion:  # pragma: no cover - complete() is overridden
        return self.inner.complete(request)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)
