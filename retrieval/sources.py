"""The fusion's source registry: every ranked list the hybrid retriever can fuse, each declared once.

A :class:`Source` is a name, the :class:`~recagent.settings.FusionSettings` field that holds its fusion weight,
when it fires (what the query must carry: a user the model knows, liked ids, said text, soft preferences; a
source also fires only at a positive weight) and its ``retrieve``. :func:`fusion_sources` declares the registry
for the fitted models at hand (a missing model declares no source) and
:class:`~recagent.retrieval.hybrid.HybridRetriever` iterates it, handing each source its own fusion settings
(a source reads them at query time, so the registry holds no settings of its own).

The registry's order is part of the result: the weighted reciprocal ranks are summed in it, and each candidate
lists its source hits in it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from recagent.retrieval.base import RetrievalQuery, Scored, allowed_mask, top_k
from recagent.retrieval.catalog import Catalog, InteractionLog
from recagent.retrieval.comentions import CoMentionRetriever
from recagent.retrieval.dialogues import DialogueRetriever
from recagent.retrieval.facet_reading import FacetReader, query_facets
from recagent.retrieval.itemitem import ItemItemRetriever
from recagent.retrieval.mf import MFRetriever
from recagent.retrieval.popularity import PopularityRetriever
from recagent.retrieval.preferences import PreferenceScorer
from recagent.retrieval.vector_store import VectorStore
from recagent.settings import FusionSettings

HISTORY_ANCHORS = 10  # a known user's vector query averages their latest liked items


@dataclass(frozen=True)
class Source:
    """One ranked list the fusion can draw on."""

    name: str
    weight: str  # the FusionSettings field with its fusion weight
    fires: Callable[[RetrievalQuery, FusionSettings], bool]  # besides a positive weight: what the query must carry
    retrieve: Callable[[RetrievalQuery, int, np.ndarray, FusionSettings], Scored]  # (query, k, excluded, fusion)
    model: object  # the fitted model behind it (the learned ranker reads the next-item model's sequences)
    keeps_empty: bool = True  # an empty list still counts as an answer (a conversational source's does not)
    fallback: bool = False  # fires at weight 0 too when no source before it answered (popularity: cold start)


def history_anchors(catalog: Catalog, log: InteractionLog | None, user_id: str) -> list[str]:
    """A known user's most recent well-rated items, used as the vector query."""
    if log is None or user_id not in log:
        return []
    h = log.history(user_id)
    good = h.values >= np.median(h.values)
    picked = h.item_positions[good][-HISTORY_ANCHORS:]
    return [catalog.ids[p] for p in picked]


def fusion_sources(
    catalog: Catalog,
    *,
    popularity: PopularityRetriever,
    log: InteractionLog | None = None,
    vector: VectorStore | None = None,
    mf: MFRetriever | None = None,
    ease: ItemItemRetriever | None = None,
    sequential: ItemItemRetriever | None = None,
    preferences: PreferenceScorer | None = None,
    comentions: CoMentionRetriever | None = None,
    dialogues: DialogueRetriever | None = None,
    facets: FacetReader | None = None,
) -> list[Source]:
    """The registry, in fusion order: the history and item-to-item sources, the conversational ones (woken only
    by what was said), and popularity last."""
    out: list[Source] = []
    if vector is not None:
        out.append(_vector_source(catalog, log, vector, text_source=preferences is not None))
    if mf is not None:
        out.append(Source("mf", "mf_weight", _knows_or_likes(mf), _plain(mf.retrieve), mf))
    for name, model in (("ease", ease), ("sequential", sequential)):
        if model is not None:
            out.append(Source(name, f"{name}_weight", _knows_or_likes(model), _plain(model.retrieve), model))
    if preferences is not None:
        out.append(
            Source("text", "text_weight", _has_context, _text(preferences), preferences, keeps_empty=False)
        )
        topics = _plain(preferences.topic_source)
        out.append(Source("topics", "topic_weight", _has_topics, topics, preferences, keeps_empty=False))
    if facets is not None:
        out.append(_facet_source(catalog, facets))
    if comentions is not None:
        out.append(
            Source("comentions", "comention_weight", _likes, _plain(comentions.retrieve), comentions, keeps_empty=False)
        )
        out.append(
            Source(
                "dialogue_popularity",
                "dialogue_popularity_weight",
                _has_context,
                lambda q, k, ex, f: comentions.popular(q, k, ex, genre_boost=f.dialogue_popularity_genre_boost),
                comentions,
                keeps_empty=False,
            )
        )
    if dialogues is not None:
        # only without liked anchors: with them, the item-to-item sources carry the taste, and the dialogue
        # votes (popular ReDial answers) only dilute "like Heat" (on the train halves: +0.031 Recall@10 without
        # liked titles, -0.002 with them)
        out.append(
            Source(
                "dialogues",
                "dialogue_weight",
                lambda q, f: bool(q.preferences.context) and not q.liked_ids,
                _plain(dialogues.retrieve),
                dialogues,
                keeps_empty=False,
            )
        )
    if comentions is not None:  # the items shown so far that the user said nothing about, as weak anchors
        out.append(
            Source(
                "shown",
                "shown_weight",
                lambda q, f: bool(_shown(catalog, q)),
                lambda q, k, ex, f: comentions.retrieve(q, k, ex, anchors=_shown(catalog, q)),
                comentions,
                keeps_empty=False,
            )
        )
    everyone = lambda q, f: True  # noqa: E731
    out.append(
        Source("popularity", "popularity_weight", everyone, _plain(popularity.retrieve), popularity, fallback=True)
    )
    return out


def _vector_source(catalog: Catalog, log: InteractionLog | None, vector: VectorStore, text_source: bool) -> Source:
    """Nearest items to the liked ones and the text; a known user's plain history query asks for their latest
    liked items, and the context turns (which hold the text) go to the text source when it fires."""

    def vector_query(query: RetrievalQuery, fusion: FusionSettings) -> RetrievalQuery:
        vq = query
        if query.user_id is not None and not query.text and not query.liked_ids:
            vq = query.model_copy(update={"liked_ids": history_anchors(catalog, log, query.user_id)})
        if text_source and fusion.text_weight > 0 and _has_context(query, fusion):
            vq = vq.model_copy(update={"text": None})
        return vq

    def fires(query: RetrievalQuery, fusion: FusionSettings) -> bool:
        vq = vector_query(query, fusion)
        return bool(vq.text or vq.liked_ids)

    def retrieve(query: RetrievalQuery, k: int, exclude: np.ndarray, fusion: FusionSettings) -> Scored:
        return vector.retrieve(vector_query(query, fusion), k, exclude=exclude)

    return Source("vector", "vector_weight", fires, retrieve, vector)


def _facet_source(catalog: Catalog, reader: FacetReader) -> Source:
    """The items that meet the request's facets (most of them first), ordered by match strength (and, for "like X
    but Y", affinity to X's own facets) times the quality prior: so that the pool holds enough on-request films,
    and "a good documentary" answers well-known, well-rated documentaries."""

    def fires(query: RetrievalQuery, fusion: FusionSettings) -> bool:
        if not fusion.request_facets:
            return False
        rf = query_facets(reader, query)
        return bool(rf.wanted) or rf.anchor is not None

    def retrieve(query: RetrievalQuery, k: int, exclude: np.ndarray, fusion: FusionSettings) -> Scored:
        rf = query_facets(reader, query)
        n = len(catalog)
        every = np.arange(n)
        parts = ([rf.strength(every)] if rf.wanted else []) + ([rf.anchor] if rf.anchor is not None else [])
        match = np.mean(parts, axis=0) if parts else np.zeros(n)
        tiers = rf.tiers(every) if rf.wanted else np.zeros(n)
        score = tiers + match * (0.5 + reader.index.prior) / 1.5
        mask = allowed_mask(n, query.filters.mask(catalog), exclude, None)
        keep = (tiers > 0) | (match > 0)
        return top_k(score, k, keep if mask is None else mask & keep)

    return Source("facets", "facet_weight", fires, retrieve, reader, keeps_empty=False)


def _text(preferences: PreferenceScorer) -> Callable[[RetrievalQuery, int, np.ndarray, FusionSettings], Scored]:
    """The text source at the fusion settings' ``text_prior`` (lower for words no facet answers)."""
    return lambda q, k, ex, f: preferences.text_source(q, k, ex, prior=f.text_prior)


def _plain(retrieve) -> Callable[[RetrievalQuery, int, np.ndarray, FusionSettings], Scored]:
    """A retriever's ``retrieve(query, k, exclude)`` as a source's (which needs no fusion settings)."""
    return lambda q, k, ex, f: retrieve(q, k, ex)


def _knows_or_likes(model) -> Callable[[RetrievalQuery, FusionSettings], bool]:
    return lambda q, f: bool(model.knows(q.user_id) or q.liked_ids)


def _likes(query: RetrievalQuery, fusion: FusionSettings) -> bool:
    return bool(query.liked_ids)


def _has_context(query: RetrievalQuery, fusion: FusionSettings) -> bool:
    return bool(query.preferences.context)


def _has_topics(query: RetrievalQuery, fusion: FusionSettings) -> bool:
    return bool(query.preferences.topics)


def _shown(catalog: Catalog, query: RetrievalQuery) -> list[str]:
    return [i for i in query.preferences.shown_ids if i in catalog]
