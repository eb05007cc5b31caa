"""What recommenders suggested in real dialogues that read like this one (ReDial), as a conversational source.

The shipped ``dialogues.jsonl`` (``retrieval/data/redial-comentions/``, built by
``recagent data build-comentions`` from ReDial's ``train_data_subset500.jsonl`` only) holds, per train
dialogue, the seeker's turns and, for each recommender turn that suggested movies (bridged to
ml-latest-small), how many seeker turns came before it. Each such point is a *context*: the recency-weighted
sum of those turns' vectors, weighted as the chat weighs its own context turns (the latest 1, each earlier
one ``decay`` times the next, the last ``max_turns`` only).

A conversation is scored by its own context vector: the ``neighbours`` nearest train contexts vote for the
movies suggested there, each vote ``cosine ** sharpness``. So "any good horror movies? something really
scary" finds the dialogues where seekers said such things and what recommenders answered them, which a plain
popularity prior or a title-word match cannot. (The hybrid asks it only while no liked title is named: then
the item-to-item sources carry the taste; see ``HybridRetriever.conversational_results``.) The turn vectors of the bundled MiniLM ship beside the file
(``dialogue-vectors.npz``, float16, tied to the file's hash); for another embedding model they are computed
once and cached under ``models_dir``. ReDial (Li et al., NeurIPS 2018) is CC BY 4.0; see the folder's ATTRIBUTION.md.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path

import numpy as np

from recagent.retrieval.base import Preferences, RetrievalQuery, Scored, allowed_mask, top_k
from recagent.retrieval.catalog import Catalog
from recagent.retrieval.comentions import DATA_DIR, catalog_positions, read_movies

DIALOGUES_FILE, VECTORS_FILE = "dialogues.jsonl", "dialogue-vectors.npz"
RECIPE_VERSION = "1"  # bump when the context vectors are built differently: cached arrays are then rebuilt


def read_dialogues(folder: Path = DATA_DIR) -> list[dict]:
    with open(Path(folder) / DIALOGUES_FILE, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class DialogueRetriever:
    name = "dialogues"

    def __init__(
        self,
        catalog: Catalog,
        dialogues: list[dict],
        embed: Callable[[Sequence[str]], np.ndarray],
        embed_queries: Callable[[Sequence[str]], np.ndarray],
        cache_path: Path | None = None,
        shipped: np.ndarray | None = None,
        neighbours: int = 150,
        sharpness: float = 3.0,
        decay: float = 0.6,
        max_turns: int = 6,
    ):
        self.catalog = catalog
        self.embed = embed
        self.embed_queries = embed_queries
        self.cache_path = cache_path
        self.shipped = shipped
        self.neighbours = neighbours
        self.sharpness = sharpness
        self.decay = decay
        self.max_turns = max_turns
        self.turns: list[str] = []
        self.contexts: list[tuple[int, int]] = []  # (first turn, end turn) into self.turns
        suggested: list[np.ndarray] = []
        for d in dialogues:
            start = len(self.turns)
            self.turns.extend(d["seeker"])
            for before, ids in d["suggested"]:
                pos = catalog.positions(i for i in ids if i in catalog)
                if len(pos) and before > 0:
                    self.contexts.append((start + max(0, before - max_turns), start + before))
                    suggested.append(pos)
        self.suggested = suggested  # catalog positions suggested at each context

    @classmethod
    def load(
        cls,
        catalog: Catalog,
        embed: Callable[[Sequence[str]], np.ndarray],
        embed_queries: Callable[[Sequence[str]], np.ndarray],
        models_dir: Path,
        model_name: str,
        folder: Path = DATA_DIR,
        **kwargs,
    ) -> DialogueRetriever | None:
        """The shipped dialogues on ``catalog``; None when the file is absent or the catalog is not theirs."""
        folder = Path(folder)
        path = folder / DIALOGUES_FILE
        if not path.exists() or catalog_positions(catalog, read_movies(folder)) is None:
            return None
        dialogues = read_dialogues(folder)
        digest = hashlib.sha1(path.read_bytes()).hexdigest()
        shipped = None
        if (folder / VECTORS_FILE).exists():
            with np.load(folder / VECTORS_FILE) as f:
                if str(f["model"]) == model_name and str(f["source_sha1"]) == digest:
                    shipped = f["vectors"].astype(np.float32)
        key = hashlib.sha1(f"{RECIPE_VERSION}\0{model_name}\0{digest}".encode()).hexdigest()[:16]
        cache = Path(models_dir) / f"dialogues-{key}.npy"
        return cls(catalog, dialogues, embed, embed_queries, cache, shipped, **kwargs)

    @cached_property
    def turn_vectors(self) -> np.ndarray:
        """One unit vector per seeker turn: the shipped ones, else the cached ones, else embedded and saved."""
        if self.shipped is not None and self.shipped.shape[0] == len(self.turns):
            return self.shipped
        path = self.cache_path
        if path is not None and path.exists():
            vecs = np.load(path)
            if vecs.shape[0] == len(self.turns):
                return vecs
        vecs = self.embed(self.turns).astype(np.float32)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, vecs)
        return vecs

    @cached_property
    def context_vectors(self) -> np.ndarray:
        """(contexts, dim): each context's recency-weighted turn vectors, normalised."""
        vecs = self.turn_vectors
        out = np.zeros((len(self.contexts), vecs.shape[1]), dtype=np.float32)
        for j, (a, b) in enumerate(self.contexts):
            w = self.decay ** np.arange(b - a - 1, -1, -1, dtype=np.float32)
            out[j] = w @ vecs[a:b]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def save_vectors(self, path: Path, model_name: str, source: Path) -> None:
        """Write the turn vectors as the shipped file for ``model_name`` and the dialogues file ``source``."""
        np.savez_compressed(
            path,
            vectors=self.turn_vectors.astype(np.float16),
            model=np.array(model_name),
            source_sha1=np.array(hashlib.sha1(Path(source).read_bytes()).hexdigest()),
        )

    def query_vector(self, prefs: Preferences) -> np.ndarray | None:
        turns = [c for c in prefs.context if c.text.strip()]
        if not turns:
            return None
        v = np.array([c.weight for c in turns], dtype=np.float32) @ self.embed_queries([c.text for c in turns])
        norm = float(np.linalg.norm(v))
        return v / norm if norm > 0 else None

    def scores(self, prefs: Preferences) -> np.ndarray | None:
        v = self.query_vector(prefs)
        if v is None or not self.contexts:
            return None
        sims = self.context_vectors @ v
        near = np.argsort(-sims, kind="stable")[: self.neighbours]
        s = np.zeros(len(self.catalog))
        for j in near.tolist():
            if sims[j] > 0:
                np.add.at(s, self.suggested[j], float(sims[j]) ** self.sharpness)
        return s if s.any() else None

    def retrieve(self, query: RetrievalQuery, k: int, exclude: np.ndarray | None = None) -> Scored:
        s = self.scores(query.preferences)
        if s is None:
            return Scored.empty()
        mask = allowed_mask(len(self.catalog), query.filters.mask(self.catalog), exclude, None)
        mask = (s > 0) if mask is None else mask & (s > 0)
        return top_k(s, k, mask)
