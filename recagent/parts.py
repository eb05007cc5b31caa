"""The retrieval parts of a :class:`~recagent.recommender.Recommender`, and how each is built from the settings.

Each part is built lazily on first use (a command pays only for what it uses) or given ready-made to
:meth:`RetrievalParts.from_parts`; built parts live in the recommender's own table, never patched into
the object. The LLM side, the request pipeline and the façade are in :mod:`recagent.recommender`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self

from recagent.errors import ConfigError
from recagent.retrieval.attributes import ItemAttributes
from recagent.retrieval.comentions import CoMentionRetriever
from recagent.retrieval.dialogues import DialogueRetriever
from recagent.retrieval.ease import EASERetriever
from recagent.retrieval.embeddings import Embedder
from recagent.retrieval.facet_reading import FacetReader
from recagent.retrieval.facets import FacetIndex
from recagent.retrieval.hybrid import HybridRetriever
from recagent.retrieval.learned_ranker import DEFAULT_MODEL as LEARNED_RANKER_MODEL
from recagent.retrieval.learned_ranker import LearnedRanker
from recagent.retrieval.loaders import ColumnMapping, Dataset, load_dataset
from recagent.retrieval.mf import MFRetriever
from recagent.retrieval.popularity import PopularityRetriever
from recagent.retrieval.preferences import PreferenceScorer
from recagent.retrieval.sequential import SequentialRetriever
from recagent.retrieval.sources import fusion_sources
from recagent.retrieval.titles import TitleResolver
from recagent.retrieval.vector_store import VectorStore, collection_name, connect
from recagent.retrieval.wikidata import load_wikidata
from recagent.settings import Settings


class part:  # noqa: N801 (used as a decorator, like functools.cached_property)
    """A lazily built component of a :class:`RetrievalParts`: built from the settings on first use, or given
    to :meth:`Recommender.from_parts`; kept in the recommender's own table of parts."""

    def __init__(self, build: Callable[[RetrievalParts], Any]):
        self.build = build
        self.name = build.__name__
        self.__doc__ = build.__doc__

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, rec: RetrievalParts | None, owner=None):
        if rec is None:
            return self
        if self.name not in rec._parts:
            rec._parts[self.name] = self.build(rec)
        return rec._parts[self.name]


class RetrievalParts:
    """The catalog and the retrieval components, built lazily from a :class:`~recagent.settings.Settings`."""

    def __init__(
        self,
        settings: Settings | None = None,
        dataset: Dataset | None = None,
        show_progress: bool = False,
        parts: dict[str, Any] | None = None,
    ):
        self.settings = settings or Settings()
        self._dataset = dataset
        self.show_progress = show_progress
        unknown = set(parts or ()) - set(self.part_names())
        if unknown:
            raise TypeError(f"not Recommender parts: {sorted(unknown)}; parts are {self.part_names()}")
        self._parts: dict[str, Any] = dict(parts or {})
        # no process-wide settings here (BLAS threads): the CLI and the server apply Settings.blas_threads

    @classmethod
    def from_parts(
        cls, settings: Settings | None = None, dataset: Dataset | None = None, show_progress: bool = False, **parts
    ) -> Self:
        """A Recommender with some components given rather than built, e.g. an already loaded embedder
        or LLM backend: ``Recommender.from_parts(settings, embedder=e, backend=b)``. Any lazy component
        (see :meth:`part_names`) may be given; the others are built from the settings when first used."""
        return cls(settings, dataset=dataset, show_progress=show_progress, parts=parts)

    @classmethod
    def part_names(cls) -> list[str]:
        """The lazily built components, which :meth:`from_parts` accepts and :meth:`built_parts` reports."""
        names = {n: None for k in reversed(cls.__mro__) for n, v in vars(k).items() if isinstance(v, part)}
        return list(names)

    def built_parts(self) -> dict:
        """The components built (or given) so far, by name."""
        return dict(self._parts)

    # ------------------------------------------------------------------ components (lazy)

    @property
    def dataset(self) -> Dataset:
        if self._dataset is None:
            s = self.settings
            try:
                columns = ColumnMapping(**s.columns)
            except ValueError as e:
                raise ConfigError(f"invalid column mapping {s.columns}: {e}") from None
            self._dataset = load_dataset(s.catalog, s.catalog_format, s.interactions, columns)
        return self._dataset

    @property
    def catalog(self):
        return self.dataset.catalog

    @part
    def embedder(self) -> Embedder:
        return Embedder(self.settings.embedding_model, self.settings.embedding_batch_size)

    @part
    def store(self) -> VectorStore:
        s = self.settings
        client = connect(path=str(s.chroma_path), host=s.chroma_host, port=s.chroma_port)
        name = s.collection or collection_name(self.catalog.name, self.embedder.name)
        return VectorStore(client, name, self.catalog, self.embedder)

    @part
    def mf(self) -> MFRetriever | None:
        log = self.dataset.interactions
        if log is None or len(log) == 0:
            return None
        return MFRetriever.fit_or_load(log, self.settings.mf, self.settings.models_dir, self.show_progress)

    @part
    def popularity(self) -> PopularityRetriever:
        return PopularityRetriever.from_log(self.dataset.interactions, self.catalog)

    @part
    def ease(self) -> EASERetriever | None:
        log = self.dataset.interactions
        if log is None or len(log) == 0:
            return None
        return EASERetriever.fit_or_load(log, self.settings.ease, self.settings.models_dir, self.show_progress)

    @part
    def sequential(self) -> SequentialRetriever | None:
        log = self.dataset.interactions
        if log is None or len(log) == 0:
            return None
        s = self.settings
        return SequentialRetriever.fit_or_load(log, s.sequential, s.models_dir, self.show_progress)

    @part
    def hybrid(self) -> HybridRetriever:
        self.store.ensure_built()
        f, log = self.settings.fusion, self.dataset.interactions
        sources = fusion_sources(
            self.catalog,
            vector=self.store,
            mf=self.mf,
            popularity=self.popularity,
            log=log,
            ease=self.ease if f.ease_weight > 0 else None,  # fitted (or loaded) only when fused
            sequential=self.sequential if f.sequential_weight > 0 else None,
            preferences=self.preference_scorer,
            comentions=CoMentionRetriever.load(self.catalog, half_life=f.comention_half_life),
            dialogues=self.dialogues if f.dialogue_weight > 0 else None,
            facets=self.facet_reader if f.request_facets else None,
        )
        return HybridRetriever(
            self.catalog,
            sources,
            f,
            log=log,
            preferences=self.preference_scorer,
            ranker=lambda: self.learned_ranker,  # attached (about 1 s) on the first known-user history query
        )

    @part
    def learned_ranker(self) -> LearnedRanker | None:
        """The shipped learned ranker for a known user's history query (bundled MovieLens catalogs only),
        with the statistics of the interaction log the models are fitted on; None when off or not applicable."""
        log, f = self.dataset.interactions, self.settings.fusion
        if not f.learned_ranker or log is None or len(log) == 0 or f.sequential_weight <= 0:
            return None
        ranker = LearnedRanker.load(LEARNED_RANKER_MODEL, self.catalog)
        if ranker is None:
            return None
        self.store.ensure_built()
        return ranker.attach(log, self.store.embeddings(self.catalog.ids))

    @part
    def dialogues(self) -> DialogueRetriever | None:
        """The similar-dialogue source (ReDial train, bundled catalog only): the bundled MiniLM's turn vectors
        ship with it, another model's are embedded on first use (``index`` does it). Its train contexts are
        weighted as the chat weighs its own context turns."""
        from recagent.agent.state.model import CONTEXT_DECAY, CONTEXT_TURNS

        f = self.settings.fusion
        return DialogueRetriever.load(
            self.catalog,
            self.embedder.embed,
            self.embedder.embed_queries,
            self.settings.models_dir,
            self.embedder.name,
            neighbours=f.dialogue_neighbours,
            sharpness=f.dialogue_sharpness,
            decay=CONTEXT_DECAY,
            max_turns=CONTEXT_TURNS,
        )

    @part
    def preference_scorer(self) -> PreferenceScorer:
        """Soft preferences: context turns, topics, critiques (item attributes computed on first use)."""

        def attributes() -> ItemAttributes:
            s = self.settings
            return ItemAttributes.fit_or_load(
                self.catalog,
                lambda: self.store.embeddings(self.catalog.ids),
                self.embedder.embed,
                self.dataset.interactions,
                s.models_dir,
                self.embedder.name,
            )

        return PreferenceScorer(self.catalog, self.store, self.embedder, attributes, self.settings.fusion)

    @part
    def facet_index(self) -> FacetIndex:
        """The catalog's facets (genres, every user tag, the bundled catalog's Wikidata facts, moods), with label
        vectors embedded once per catalog and model into the data dir."""
        source = self.dataset.source
        folder = source if source.is_dir() else None
        index = FacetIndex.build(
            self.catalog, self.preference_scorer.attributes, load_wikidata(self.catalog), tags_folder=folder
        )
        return index.with_vectors(self.embedder.embed, self.settings.models_dir, self.embedder.name)

    @part
    def facet_reader(self) -> FacetReader:
        """Reads a query's words into the facet index's facets (lexically, and by MiniLM for the rest)."""
        return FacetReader(self.facet_index, self.embedder.embed_queries)

    @part
    def resolver(self) -> TitleResolver:
        def vector_lookup(text: str, k: int) -> list[str]:
            if self.store.count() == 0:
                return []
            scored = self.store.search(self.embedder.embed_query(text), k)
            return [self.catalog.ids[p] for p in scored.positions]

        return TitleResolver(self.catalog, self.popularity.counts, vector_lookup)
