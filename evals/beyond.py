"""Beyond-accuracy metrics of a run's top-k lists: diversity, coverage, novelty and popularity bias.

Rank metrics say whether the one target was found; these say what else the lists are made of, so that
a system that wins recall by showing the same popular films to everyone is visible as such. Each is a
pure function of the lists (item ids, best first) and of facts about the items (``ItemFacts``):

* ``ild_genres``: intra-list diversity by genres, the mean over item pairs of a list of
  ``1 - |G_i & G_j| / |G_i | G_j|`` (Jaccard distance of the genre sets; pairs where an item has no
  known genre are left out), averaged over lists;
* ``ild_embeddings``: the mean over pairs of ``1 - cos(v_i, v_j)`` of the items' MiniLM text vectors;
* ``coverage``: distinct items recommended over all lists / catalog size (``pool_coverage``: over the
  distinct candidates the system could choose from, where that pool is smaller than the catalog);
* ``novelty``: mean self-information ``-log2 p_i`` of the recommended items, ``p_i = (c_i + 1) / (C + n)``
  their add-one smoothed share of the popularity counts (so a never-seen item is finite);
* ``log_pop``: the mean ``ln(1 + c_i)`` of the recommended items, beside ``catalog_log_pop``, the same
  over the whole catalog (and ``catalog_novelty``): above the catalog's mean means a popularity bias.

Every metric but coverage is a value per list, averaged over lists (``annotate_cases`` writes it on each
case, for ``eval compare``'s paired test). Lists are taken once per occasion (``(user, position)``: ReDial turns that suggest several films give
several cases but one list). The popularity counts are the protocol's (training interactions where it
has them), named in ``ItemFacts.popularity_source``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np

BEYOND_K = 10  # the top k the metrics are taken over (and that each case keeps in cases.jsonl)


def ild_genres(genre_sets: Sequence[Iterable[str]]) -> float | None:
    """Mean pairwise Jaccard distance of a list's genre sets; None with fewer than two items with genres."""
    sets = [frozenset(g) for g in genre_sets]
    sets = [s for s in sets if s]
    pairs = [(a, b) for i, a in enumerate(sets) for b in sets[i + 1 :]]
    if not pairs:
        return None
    return sum(1.0 - len(a & b) / len(a | b) for a, b in pairs) / len(pairs)


def ild_embeddings(vectors: np.ndarray) -> float | None:
    """Mean pairwise cosine distance of a list's item vectors (rows); None with fewer than two."""
    v = np.asarray(vectors, dtype=np.float64)
    n = len(v)
    if n < 2:
        return None
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    v = v / np.where(norms > 0, norms, 1.0)
    sims = v @ v.T
    upper = np.triu_indices(n, k=1)
    return float(np.mean(1.0 - sims[upper]))


def coverage(lists: Iterable[Sequence[str]], pool_size: int) -> float:
    """Distinct items over all lists, as a share of the ``pool_size`` items that could have been shown."""
    distinct = {i for items in lists for i in items}
    return len(distinct) / pool_size if pool_size else 0.0


def self_information(counts: np.ndarray) -> np.ndarray:
    """``-log2`` of each item's add-one smoothed share of the popularity counts."""
    counts = np.asarray(counts, dtype=np.float64)
    return -np.log2((counts + 1.0) / (counts.sum() + len(counts)))


def log_popularity(counts: np.ndarray) -> np.ndarray:
    return np.log1p(np.asarray(counts, dtype=np.float64))


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


class VectorLookup:
    """Item vectors by id: from a synced vector store when the run has one, else embedded from the item
    text (only the items asked for, each once)."""

    def __init__(self, texts: Callable[[str], str], store=None, embedder=None):
        self.texts, self.store, self.embedder = texts, store, embedder
        self._cache: dict[str, np.ndarray] = {}

    def __call__(self, ids: Sequence[str]) -> np.ndarray:
        todo = [i for i in dict.fromkeys(ids) if i not in self._cache]
        if todo:
            vecs = (
                self.store.embeddings(todo)
                if self.store is not None
                else self.embedder.embed([self.texts(i) for i in todo])
            )
            self._cache.update(zip(todo, np.asarray(vecs, dtype=np.float32)))
        return np.stack([self._cache[i] for i in ids]) if ids else np.empty((0, 0), dtype=np.float32)


@dataclass
class ItemFacts:
    """What the metrics need to know about a protocol's catalog (ids in catalog order)."""

    ids: list[str]
    counts: np.ndarray  # popularity count per catalog item
    popularity_source: str  # where the counts come from, said in the report
    genres: dict[str, frozenset[str]] = field(default_factory=dict)  # item id -> genres (absent: unknown)
    genre_source: str = "the catalog's genres"
    vectors: Callable[[Sequence[str]], np.ndarray] | None = None
    pool: set[str] | None = None  # the candidates a system could choose from, when not the whole catalog

    def __post_init__(self):
        self._index = {i: p for p, i in enumerate(self.ids)}
        self.info = self_information(self.counts)
        self.logpop = log_popularity(self.counts)

    def positions(self, ids: Sequence[str]) -> np.ndarray:
        return np.array([self._index[i] for i in ids if i in self._index], dtype=np.int64)

    def catalog_means(self) -> dict[str, float]:
        return {"catalog_log_pop": float(self.logpop.mean()), "catalog_novelty": float(self.info.mean())}

    def describe(self) -> dict[str, str | int]:
        return {"k": BEYOND_K, "popularity": self.popularity_source, "genres": self.genre_source}


PER_LIST = ("ild_genres", "ild_embeddings", "novelty", "log_pop")  # a value per list (per case): paired tests


def list_values(items: Sequence[str], facts: ItemFacts, k: int = BEYOND_K) -> dict[str, float | None]:
    """One list's per-list metrics (its top ``k``); None where nothing could be measured."""
    items = list(items)[:k]
    pos = facts.positions(items)
    return {
        f"ild_genres@{k}": ild_genres([facts.genres.get(i, ()) for i in items]),
        f"ild_embeddings@{k}": ild_embeddings(facts.vectors(items)) if facts.vectors is not None else None,
        f"novelty@{k}": float(facts.info[pos].mean()) if len(pos) else None,
        f"log_pop@{k}": float(facts.logpop[pos].mean()) if len(pos) else None,
    }


def _rounded(values: dict) -> dict:
    return {key: (round(v, 6) if isinstance(v, float) and math.isfinite(v) else v) for key, v in values.items()}


def beyond_metrics(lists: Sequence[Sequence[str]], facts: ItemFacts, k: int = BEYOND_K) -> dict[str, float | None]:
    """One system's metrics: the per-list ones averaged over its lists, and coverage over all of them."""
    lists = [list(items)[:k] for items in lists]
    per_list = [list_values(items, facts, k) for items in lists]
    out: dict[str, float | None] = {f"{m}@{k}": _mean(v[f"{m}@{k}"] for v in per_list) for m in PER_LIST}
    out[f"coverage@{k}"] = coverage(lists, len(facts.ids))
    if facts.pool is not None:
        out[f"pool_coverage@{k}"] = coverage(lists, len(facts.pool))
    return _rounded({**out, **facts.catalog_means(), "lists": len(lists)})


def annotate_cases(cases: Iterable, facts: ItemFacts, k: int = BEYOND_K) -> None:
    """Write each case's per-list values on it (``beyond``), so that ``eval compare`` can pair them case by
    case as it pairs ranks; cases sharing a list share its values."""
    done: dict[tuple, dict] = {}
    for c in cases:
        if getattr(c, "top", None) is None:
            continue
        key = (c.variant, c.user, getattr(c, "position", None))
        if key not in done:
            done[key] = _rounded(list_values(c.top, facts, k))
        c.beyond = done[key]


def lists_by_variant(cases: Iterable) -> dict[str, list[list[str]]]:
    """Each variant's top-k lists, one per (user, position): cases of one ReDial turn share a list."""
    seen: dict[str, dict[tuple, list[str]]] = {}
    for c in cases:
        top = getattr(c, "top", None)
        if top is None:
            continue
        seen.setdefault(c.variant, {}).setdefault((c.user, getattr(c, "position", None)), list(top))
    return {v: list(by_key.values()) for v, by_key in seen.items()}


def run_lists(run: Path) -> dict[str, list[list[str]]]:
    """Each variant's lists read back from a run folder's ``cases.jsonl``, to re-score a finished run (with
    other facts, another k up to BEYOND_K) without running it again."""
    with (Path(run) / "cases.jsonl").open() as f:
        return lists_by_variant(SimpleNamespace(**{"position": None, **json.loads(line)}) for line in f)


def beyond_summary(cases: Iterable, facts: ItemFacts, k: int = BEYOND_K) -> dict[str, dict]:
    """Variant -> beyond-accuracy metrics, for every variant whose cases kept their lists."""
    return {v: beyond_metrics(lists, facts, k) for v, lists in lists_by_variant(cases).items()}


def catalog_facts(catalog, counts: np.ndarray, popularity_source: str, store=None, embedder=None) -> ItemFacts:
    """Facts from a catalog's own genres and item text, with the protocol's popularity counts; vectors from
    ``store`` when the run synced one, else from ``embedder`` (None without either)."""
    lookup = (
        VectorLookup(lambda i: catalog.get(i).text, store, embedder)
        if store is not None or embedder is not None
        else None
    )
    return ItemFacts(
        ids=list(catalog.ids),
        counts=np.asarray(counts, dtype=np.float64),
        popularity_source=popularity_source,
        genres={it.id: frozenset(it.genres) for it in catalog.items if it.genres},
        vectors=lookup,
    )
