"""The Chroma vector store of item text.

Embedded (``PersistentClient`` under the data dir) by default; a Chroma server
(``HttpClient``) when a host is configured. Both are the same ``ClientAPI`` so
the rest of the code does not change. Embedding is done by :class:`Embedder`,
never by Chroma, so nothing is downloaded.

Metadata per item: ``text_hash`` (for incremental indexing), ``year`` (int, absent
when unknown) and ``genres`` (string array, absent when empty).

Caching: a ``VectorStore`` keeps the collection count and the vectors it has fetched
in memory; ``sync()`` resets them. With a Chroma server that another process writes
to, a long-lived instance sees those writes in its query results at once, but its
cached count and vectors only after a ``sync()`` or a restart.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings
from pydantic import BaseModel

from recagent.errors import IndexNotBuiltError, VectorStoreError
from recagent.retrieval.base import RetrievalQuery, Scored, top_k
from recagent.retrieval.catalog import Catalog, Item
from recagent.retrieval.embeddings import Embedder
from recagent.retrieval.filters import Filters
from recagent.retrieval.progress import progress_bar

EXACT_SEARCH_MAX = 50_000  # filters letting through at most this many items are searched exactly


class IndexReport(BaseModel):
    collection: str
    total: int
    added: int
    updated: int
    unchanged: int
    removed: int
    embedded: int
    seconds: float


def collection_name(catalog_name: str, model_name: str) -> str:
    """A valid Chroma collection name (3-512 chars of [a-zA-Z0-9._-], alphanumeric ends)."""
    raw = f"{catalog_name}__{model_name}".lower()
    name = re.sub(r"[^a-z0-9._-]+", "-", raw).strip("-._")
    return (name or "items").ljust(3, "0")[:512]


def connect(path: str | None = None, host: str | None = None, port: int = 8000):
    """A Chroma client: a server when ``host`` is set, else embedded under ``path``."""
    # a fresh Settings each time: HttpClient writes the server address into the object it is given
    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    try:
        if host:
            return chromadb.HttpClient(host=host, port=port, settings=settings)
        return chromadb.PersistentClient(path=str(path), settings=settings)
    except Exception as e:  # chroma raises plain ValueError/ConnectionError for an unreachable server
        where = f"Chroma server at {host}:{port}" if host else f"Chroma store at {path}"
        raise VectorStoreError(f"cannot open the {where}: {e}") from e


def _metadata(item: Item) -> dict:
    md: dict = {"text_hash": item.text_hash}
    if item.year is not None:
        md["year"] = item.year
    if item.genres:
        md["genres"] = list(item.genres)
    return md


class VectorStore:
    """One Chroma collection holding the items of one catalog."""

    name = "vector"

    def __init__(self, client, collection: str, catalog: Catalog, embedder: Embedder):
        self.client = client
        self.catalog = catalog
        self.embedder = embedder
        self._count: int | None = None
        # stored vectors already fetched from Chroma, by catalog position (allocated on first use)
        self._matrix: np.ndarray | None = None
        self._loaded = np.zeros(len(catalog), dtype=bool)
        try:
            self.collection = client.get_or_create_collection(
                collection, metadata={"hnsw:space": "cosine"}, embedding_function=None
            )
        except Exception as e:
            raise VectorStoreError(f"cannot open Chroma collection {collection!r}: {e}") from e

    @property
    def collection_name(self) -> str:
        return self.collection.name

    def count(self) -> int:
        if self._count is None:
            self._count = self.collection.count()
        return self._count

    # ------------------------------------------------------------------ indexing

    def _stored_hashes(self) -> dict[str, str]:
        out: dict[str, str] = {}
        page = 5000
        offset = 0
        while True:
            got = self.collection.get(include=["metadatas"], limit=page, offset=offset)
            for iid, md in zip(got["ids"], got["metadatas"]):
                out[iid] = (md or {}).get("text_hash", "")
            if len(got["ids"]) < page:
                return out
            offset += page

    def sync(self, show_progress: bool = True) -> IndexReport:
        """Bring the collection in line with the catalog, embedding only new or changed items."""
        t0 = time.perf_counter()
        stored = self._stored_hashes()
        todo = [it for it in self.catalog if stored.get(it.id) != it.text_hash]
        added = sum(1 for it in todo if it.id not in stored)
        removed = [iid for iid in stored if iid not in self.catalog]
        batch = min(self.client.get_max_batch_size(), 512)
        with progress_bar("embedding items", len(todo), show_progress) as advance:
            for start in range(0, len(todo), batch):
                chunk = todo[start : start + batch]
                vectors = self.embedder.embed([it.text for it in chunk])
                self.collection.upsert(
                    ids=[it.id for it in chunk],
                    embeddings=vectors,
                    metadatas=[_metadata(it) for it in chunk],
                    documents=[it.text for it in chunk],
                )
                advance(len(chunk))
        for start in range(0, len(removed), batch):
            self.collection.delete(ids=removed[start : start + batch])
        self._count = None
        self._loaded[:] = False
        return IndexReport(
            collection=self.collection_name,
            total=len(self.catalog),
            added=added,
            updated=len(todo) - added,
            unchanged=len(self.catalog) - len(todo),
            removed=len(removed),
            embedded=len(todo),
            seconds=round(time.perf_counter() - t0, 3),
        )

    def ensure_built(self) -> None:
        if self.count() == 0:
            raise IndexNotBuiltError(self.collection_name)

    # ------------------------------------------------------------------ querying

    def _rows(self, positions: np.ndarray) -> np.ndarray:
        """Make sure the stored vectors of these catalog positions are in memory; return the matrix."""
        missing = positions[~self._loaded[positions]]
        if len(missing) and len(self.catalog) <= EXACT_SEARCH_MAX:
            missing = np.flatnonzero(~self._loaded)  # a small catalog: fetch every vector once, then never again
        if len(missing):
            ids = [self.catalog.ids[p] for p in np.unique(missing)]
            for start in range(0, len(ids), 5000):
                got = self.collection.get(ids=ids[start : start + 5000], include=["embeddings"])
                if len(got["ids"]) and self._matrix is None:
                    self._matrix = np.zeros((len(self.catalog), len(got["embeddings"][0])), dtype=np.float32)
                for iid, vec in zip(got["ids"], got["embeddings"]):
                    pos = self.catalog.position(iid)
                    self._matrix[pos] = vec
                    self._loaded[pos] = True
            still = positions[~self._loaded[positions]]
            if len(still):
                raise IndexNotBuiltError(
                    f"{self.collection_name} (items {[self.catalog.ids[p] for p in still[:5]]} are not indexed)"
                )
        return self._matrix

    def embeddings(self, item_ids: Sequence[str]) -> np.ndarray:
        """Stored vectors for the given ids, in the given order."""
        if not item_ids:
            return np.empty((0, 0), dtype=np.float32)
        positions = self.catalog.positions(item_ids)
        return self._rows(positions)[positions]

    def query_vector(self, query: RetrievalQuery) -> np.ndarray | None:
        """The query point: the text, the liked items, or both, averaged on the unit sphere."""
        parts = []
        if query.text:
            parts.append(self.embedder.embed_query(query.text))
        if query.liked_ids:
            parts.append(self.embeddings(query.liked_ids).mean(axis=0))
        if not parts:
            return None
        vec = np.mean(parts, axis=0)
        norm = np.linalg.norm(vec)
        return vec / norm if norm > 0 else vec

    def search(
        self,
        vector: np.ndarray,
        k: int,
        where: dict | None = None,
        exclude: np.ndarray | None = None,
        items: np.ndarray | None = None,
    ) -> Scored:
        """Nearest items to a vector: cosine similarity, best first."""
        if items is not None:  # exact search over a given set of items
            items = np.asarray(items, dtype=np.int64)
            if exclude is not None and len(exclude):
                items = items[~np.isin(items, exclude)]
            if not len(items):
                return Scored.empty()
            matrix = self._rows(items)
            sims = (matrix @ vector)[items] if len(items) > len(self.catalog) // 4 else matrix[items] @ vector
            top = top_k(sims, k)
            return Scored(items[top.positions], top.scores)
        n_excl = 0 if exclude is None else len(exclude)
        total = self.count()
        # Over-fetch to make room for excluded items: first a little, then all that could be needed.
        n = min(k + min(n_excl, max(k, 20)), total)
        while True:
            if n <= 0:
                return Scored.empty()
            positions, scores = self._query(vector, n, where)
            got = len(positions)
            if n_excl:
                keep = ~np.isin(positions, exclude)
                positions, scores = positions[keep], scores[keep]
            if len(positions) >= k or got < n or n >= min(k + n_excl, total):
                return Scored(positions[:k], scores[:k])
            n = min(k + n_excl, total)

    def _query(self, vector: np.ndarray, n: int, where: dict | None) -> tuple[np.ndarray, np.ndarray]:
        try:
            res = self.collection.query(
                query_embeddings=[np.asarray(vector, dtype=np.float32)],
                n_results=n,
                where=where,
                include=["distances"],
            )
        except Exception as e:
            raise VectorStoreError(f"vector query failed: {e}") from e
        positions = np.fromiter((self.catalog.position(i) for i in res["ids"][0]), dtype=np.int64)
        return positions, 1.0 - np.asarray(res["distances"][0], dtype=np.float32)

    def retrieve(
        self,
        query: RetrievalQuery,
        k: int,
        exclude: np.ndarray | None = None,
        items: np.ndarray | None = None,
    ) -> Scored:
        vec = self.query_vector(query)
        if vec is None:
            return Scored.empty()
        return self.nearest(vec, k, query.filters, exclude, items)

    def nearest(
        self,
        vector: np.ndarray,
        k: int,
        filters: Filters | None = None,
        exclude: np.ndarray | None = None,
        items: np.ndarray | None = None,
    ) -> Scored:
        """Nearest items under filters: HNSW when unfiltered or loosely filtered, exact search when selective."""
        filters = filters or Filters()
        mask = filters.mask(self.catalog)  # exclude_ids included
        if mask is not None:
            if items is not None:
                items = np.asarray(items)[mask[items]]
            elif mask.sum() <= EXACT_SEARCH_MAX:
                # A selective filter: Chroma evaluates a where clause over the whole collection on every
                # query (~180 ms at 100k items), while exact search over the allowed items takes ~1 ms.
                items = np.flatnonzero(mask)
        if filters.exclude_ids:
            extra = self.catalog.positions(i for i in filters.exclude_ids if i in self.catalog)
            exclude = extra if exclude is None else np.union1d(exclude, extra)
        where = filters.to_where() if items is None else None
        return self.search(vector, k, where=where, exclude=exclude, items=items)
