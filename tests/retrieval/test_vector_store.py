"""The Chroma vector store: incremental indexing, persistence, filters (real Chroma, real MiniLM)."""

from __future__ import annotations

import numpy as np
import pytest

from recagent.errors import IndexNotBuiltError
from recagent.retrieval.base import RetrievalQuery
from recagent.retrieval.catalog import Catalog, Item
from recagent.retrieval.filters import Filters, InvalidFilterError
from recagent.retrieval.loaders import load_dataset
from recagent.retrieval.vector_store import VectorStore, collection_name, connect


class CountingEmbedder:
    """The real embedder, counting how many texts it is asked to embed."""

    def __init__(self, inner):
        self.inner = inner
        self.embedded = 0
        self.name = inner.name

    def embed(self, texts):
        self.embedded += len(texts)
        return self.inner.embed(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


@pytest.fixture()
def small_catalog(slice_dir) -> Catalog:
    items = load_dataset(slice_dir).catalog.items[:80]
    return Catalog(items, name="small")


def test_reindexing_unchanged_catalog_embeds_nothing(tmp_path, small_catalog, embedder):
    spy = CountingEmbedder(embedder)
    store = VectorStore(connect(path=str(tmp_path)), "small", small_catalog, spy)
    first = store.sync(show_progress=False)
    assert (first.added, first.embedded, store.count()) == (80, 80, 80)
    second = store.sync(show_progress=False)
    assert (second.embedded, second.unchanged, second.added) == (0, 80, 0)
    assert spy.embedded == 80

    # a new client on the same path sees the persisted vectors: still nothing to embed
    again = VectorStore(connect(path=str(tmp_path)), "small", small_catalog, spy)
    assert again.sync(show_progress=False).embedded == 0 and spy.embedded == 80

    # one changed text, one removed item, one new item: exactly two embeddings
    items = list(small_catalog.items)
    items[3] = items[3].model_copy(update={"text": items[3].text + " Tags: heist."})
    removed = items.pop(10)
    items.append(
        Item(
            id="new-1",
            title="A New Film (2020)",
            text="A New Film (2020). Genres: Drama.",
            year=2020,
            genres=("Drama",),
        )
    )
    changed = VectorStore(connect(path=str(tmp_path)), "small", Catalog(items, name="small"), spy)
    rep = changed.sync(show_progress=False)
    assert (rep.added, rep.updated, rep.removed, rep.embedded) == (1, 1, 1, 2)
    assert spy.embedded == 82
    assert changed.count() == 80
    assert removed.id not in changed.collection.get(ids=[removed.id])["ids"]


def test_empty_index_is_reported(tmp_path, small_catalog, embedder):
    store = VectorStore(connect(path=str(tmp_path)), "empty", small_catalog, embedder)
    with pytest.raises(IndexNotBuiltError, match="recagent index"):
        store.ensure_built()


def test_collection_names_are_valid():
    assert collection_name("ml-latest-small", "all-MiniLM-L6-v2") == "ml-latest-small__all-minilm-l6-v2"
    assert collection_name("../My Books!", "x") == "my-books-__x"
    assert len(collection_name("a", "")) >= 3


def test_text_search_is_semantic(rec):
    hits = rec.search("animated toys come to life", k=5)
    assert hits[0].title == "Toy Story (1995)"
    assert hits == sorted(hits, key=lambda h: -h.score)


def test_filters_are_honoured_by_the_vector_store(rec):
    f = Filters(year_min=1990, year_max=1994, genres=["comedy"], exclude_genres=["Romance"])
    hits = rec.search("funny movie", k=30, filters=f)
    assert len(hits) == 30
    for h in hits:
        assert 1990 <= h.year <= 1994
        assert "Comedy" in h.genres and "Romance" not in h.genres


def test_where_clause_and_mask_agree(rec):
    """The Chroma where clause and the numpy mask select exactly the same items."""
    f = Filters(year_min=1995, genres=["Drama", "Crime"], exclude_genres=["War"]).normalized(rec.catalog)
    mask = f.mask(rec.catalog)
    got = rec.store.collection.get(where=f.to_where(), include=[])
    assert sorted(got["ids"]) == sorted(rec.catalog.ids[p] for p in np.flatnonzero(mask))
    assert 0 < mask.sum() < len(rec.catalog)


def test_exact_and_hnsw_paths_agree(rec, monkeypatch):
    """Selective filters are searched exactly; Chroma's HNSW + where path must give the same items."""
    import recagent.retrieval.vector_store as vs

    f = Filters(year_min=1994, year_max=1996, genres=["Comedy"], exclude_ids=["1"]).normalized(rec.catalog)
    vec = rec.embedder.embed_query("a funny family adventure")
    exact = rec.store.nearest(vec, 10, f)
    monkeypatch.setattr(vs, "EXACT_SEARCH_MAX", 0)
    hnsw = rec.store.nearest(vec, 10, f)
    assert exact.positions.tolist() == hnsw.positions.tolist()
    assert np.allclose(exact.scores, hnsw.scores, atol=1e-4)
    assert "1" not in [rec.catalog.ids[p] for p in exact.positions]


def test_exclude_ids_and_items_restriction(rec):
    first = rec.search("toys", k=3)
    f = Filters(exclude_ids=[first[0].item_id])
    again = rec.search("toys", k=3, filters=f)
    assert first[0].item_id not in [h.item_id for h in again]
    items = rec.catalog.positions(["1", "2", "3", "6"])
    scored = rec.store.retrieve(RetrievalQuery(text="toys"), k=10, items=items)
    assert set(scored.positions.tolist()) == set(items.tolist())
    assert rec.catalog.ids[scored.positions[0]] == "1"


def test_unknown_genre_is_an_error_with_a_suggestion(rec):
    with pytest.raises(InvalidFilterError, match="did you mean Comedy"):
        rec.search("x", filters=Filters(genres=["comedie"]))


def test_inverted_year_range_is_rejected():
    with pytest.raises(ValueError, match="after year_max"):
        Filters(year_min=2000, year_max=1990)


def test_embedding_model_must_be_a_local_folder(tmp_path):
    from recagent.errors import ConfigError
    from recagent.retrieval.embeddings import Embedder

    with pytest.raises(ConfigError, match="never downloaded"):
        Embedder(str(tmp_path / "sentence-transformers/all-mpnet-base-v2"))
