"""Soft preferences in retrieval: recency-weighted context turns, topics, critiques, soft genres, avoided items.

:class:`PreferenceScorer` gives :class:`~recagent.retrieval.hybrid.HybridRetriever` two sources and one
re-ranking step, all driven by ``RetrievalQuery.preferences``:

* ``text``: each context turn embedded on its own (MiniLM keeps only the first 256 tokens of a text,
  so a whole dialogue embedded as one string loses its latest turns), without the titles of the movies
  the query names (liked, disliked, shown: they are item-to-item anchors already), the vectors summed
  with the turns' recency weights; items are scored by cosine plus a popularity/quality prior, so that
  an obscure title sharing a word with the chat does not win;
* ``topics``: the same for each topical wish ("a heist", "set in space"), one query per topic, plus
  ``TAG_HIT`` for an item whose user tags name the topic ("heist", "space");
* ``adjust``: the fused scores of a candidate pool (normalised so the best is 1) plus
  ``critique_strength x direction x attribute`` per critique (attributes: ``retrieval/attributes.py``;
  with liked movies in the query, a critique's lift is scaled by how strongly the liked-item sources
  brought the candidate, so "like Heat but less violent" re-orders Heat's neighbourhood),
  ``genre_strength x weight`` per soft genre the item has, ``topic_strength x`` the similarity to
  the topics (standardised over the pool), and minus ``avoid_strength`` for closeness to an avoided item (minus 1
  more for the avoided item itself: it sinks below the top, but stays available). Nothing is filtered out.

Everything here is off when the preferences are empty: a query without them ranks exactly as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cached_property, lru_cache

import numpy as np

from recagent.retrieval.attributes import ItemAttributes, standardise
from recagent.retrieval.base import Preferences, RetrievalQuery, Scored, allowed_mask, top_k
from recagent.retrieval.catalog import Catalog
from recagent.retrieval.embeddings import Embedder
from recagent.retrieval.titles import title_keys
from recagent.retrieval.vector_store import EXACT_SEARCH_MAX, VectorStore
from recagent.settings import FusionSettings

UNGATED = ("recency", "popularity")  # not what kind of film: "older", "a hidden gem" apply to all alike
AVOID_FLOOR = 0.5  # cosine to an avoided item below this costs nothing
TAG_HIT = 0.15  # added to the topic source's score of an item whose user tags name the topic
MIN_STRIP = 4  # a one-word title shorter than this ("It", "Up") stays in the text: it is an ordinary word too
STOPWORDS = frozenset("a an the of in on at to for with about set based movie movies film films some any one".split())


def topic_text(topic: str) -> str:
    return f"a movie about {topic.strip()}"


def topic_phrases(topic: str) -> set[str]:
    """The word n-grams of a topic that could be a tag ("set in space" -> "space", "set in space", ...)."""
    words = topic.lower().replace("-", " ").split()
    grams = {" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)}
    return {g for g in grams if not set(g.split()) <= STOPWORDS}


@lru_cache(maxsize=20_000)
def title_pattern(title: str) -> re.Pattern | None:
    """A pattern for a catalog title as typed in free text ("Matrix, The (1999)" -> "the matrix", "matrix");
    None for a title too short to strip safely ("It", "Up")."""
    keys = set()
    for key in title_keys(title):
        keys.add(key)
        if key.startswith(("the ", "a ", "an ")):
            keys.add(key.split(" ", 1)[1])
    keys = [k for k in keys if len(k) >= MIN_STRIP or " " in k]
    if not keys:
        return None
    alts = sorted((r"\W+".join(map(re.escape, k.split())) for k in keys), key=len, reverse=True)
    return re.compile(rf"(?<!\w)(?:{'|'.join(alts)})(?!\w)", re.IGNORECASE)


def without_titles(text: str, titles: Iterable[str]) -> str:
    """The text with the titles of movies it refers to taken out: they are item-to-item anchors already,
    and their words would otherwise pull other titles sharing them ("Heat" -> "Body Heat", "City Heat")."""
    for title in titles:
        pattern = title_pattern(title)
        if pattern is not None:
            text = pattern.sub(" ", text)
    return " ".join(text.split())


def _unit(v: np.ndarray) -> np.ndarray | None:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else None


class PreferenceScorer:
    def __init__(
        self,
        catalog: Catalog,
        store: VectorStore,
        embedder: Embedder,
        attributes: Callable[[], ItemAttributes],
        fusion: FusionSettings | None = None,
    ):
        self.catalog = catalog
        self.store = store
        self.embedder = embedder
        self._attributes = attributes
        self.fusion = fusion or FusionSettings()

    @cached_property
    def attributes(self) -> ItemAttributes:
        return self._attributes()

    @property
    def prior(self) -> np.ndarray:
        return self.attributes.prior

    @cached_property
    def vectors(self) -> np.ndarray:
        """Every item's stored vector, (n_items, dim); the store keeps a small catalog's in memory anyway."""
        return self.store.embeddings(self.catalog.ids)

    # ------------------------------------------------------------------ query vectors

    def context_vector(self, prefs: Preferences, mentioned: Iterable[str] = ()) -> np.ndarray | None:
        """The recency-weighted sum of the context turns' vectors, each turn embedded alone, without the
        titles of the ``mentioned`` items (ids)."""
        titles = [self.catalog.get(i).title for i in dict.fromkeys(mentioned) if i in self.catalog]
        if not self.fusion.context_without_titles:
            titles = []
        turns = [(c.weight, text) for c in prefs.context if (text := without_titles(c.text, titles))]
        if not turns:
            return None
        vecs = self.embedder.embed_queries([t for _, t in turns])
        return _unit(np.array([w for w, _ in turns], dtype=np.float32) @ vecs)

    def topic_vectors(self, prefs: Preferences) -> np.ndarray | None:
        topics = [t for t in prefs.topics if t.strip()]
        return self.embedder.embed_queries([topic_text(t) for t in topics]) if topics else None

    # ------------------------------------------------------------------ sources

    def _with_prior(
        self, sims: np.ndarray, weight: float, query: RetrievalQuery, k: int, exclude: np.ndarray | None
    ) -> Scored:
        scores = sims + weight * self.prior
        mask = allowed_mask(len(self.catalog), query.filters.mask(self.catalog), exclude, None)
        return top_k(scores, k, mask)

    def _sims(self, vector: np.ndarray, query: RetrievalQuery, k: int, exclude: np.ndarray | None) -> np.ndarray:
        """Cosine to every item: exact over a small catalog; else the store's nearest 4k (others 0)."""
        if len(self.catalog) <= EXACT_SEARCH_MAX:
            return self.vectors @ vector
        near = self.store.nearest(vector, 4 * k, query.filters, exclude)
        sims = np.zeros(len(self.catalog), dtype=np.float32)
        sims[near.positions] = near.scores
        return sims

    def text_source(
        self, query: RetrievalQuery, k: int, exclude: np.ndarray | None = None, prior: float | None = None
    ) -> Scored:
        """The items nearest the context turns, plus ``prior`` (default ``fusion.text_prior``) x the quality prior."""
        p = query.preferences
        # the titles the user said, not those of every film left out: "Samurai (1965)" shown before must not take
        # "samurai" out of "a samurai film"
        mentioned = [*query.liked_ids, *query.disliked_ids, *p.avoid_ids, *p.named_ids]
        vec = self.context_vector(query.preferences, mentioned)
        if vec is None:
            return Scored.empty()
        weight = self.fusion.text_prior if prior is None else prior
        return self._with_prior(self._sims(vec, query, k, exclude), weight, query, k, exclude)

    def topic_source(self, query: RetrievalQuery, k: int, exclude: np.ndarray | None = None) -> Scored:
        vecs = self.topic_vectors(query.preferences)
        if vecs is None:
            return Scored.empty()
        sims = np.mean([self._sims(v, query, k, exclude) for v in vecs], axis=0)
        return self._with_prior(sims + TAG_HIT * self.tag_hits(query.preferences.topics), self.fusion.topic_prior,
                                query, k, exclude)

    @cached_property
    def items_by_tag(self) -> dict[str, np.ndarray]:
        index: dict[str, list[int]] = {}
        for p, item in enumerate(self.catalog.items):
            for tag in item.tags:
                index.setdefault(tag, []).append(p)
        return {tag: np.array(ps, dtype=np.int64) for tag, ps in index.items()}

    def tag_hits(self, topics: list[str]) -> np.ndarray:
        """Per item, the share of the topics that one of its user tags names."""
        hits = np.zeros(len(self.catalog))
        for topic in topics:
            named = np.zeros(len(self.catalog), dtype=bool)
            for phrase in topic_phrases(topic):
                if phrase in self.items_by_tag:
                    named[self.items_by_tag[phrase]] = True
            hits += named
        return hits / max(len(topics), 1)

    # ------------------------------------------------------------------ re-ranking

    def _ids(self, positions: np.ndarray) -> list[str]:
        return [self.catalog.ids[p] for p in positions]

    @staticmethod
    def active(prefs: Preferences) -> bool:
        return bool(prefs.critiques or prefs.genres or prefs.topics or prefs.avoid_ids)

    def adjust(
        self,
        positions: np.ndarray,
        base: np.ndarray,
        prefs: Preferences,
        near: np.ndarray | None = None,
    ) -> np.ndarray:
        """Scores of a candidate pool after the soft preferences: ``base / max(base) + adjustments``.

        ``near`` (one value per pool item, >= 0): how strongly the liked-item sources retrieved each (their
        share of its fused score), when the user named movies to be like ("like Heat but less violent"). A
        critique then re-orders within that neighbourhood: an item that goes against the wish sinks in
        full, but a lift is scaled by ``sqrt(near / max(near))``, so an item unrelated to the anchor is not
        lifted by the critique alone (The Lion King is not "like Heat", however gentle). ``recency`` and
        ``popularity`` say nothing about the kind of film and are not scaled."""
        f = self.fusion
        top = float(base.max()) if len(base) else 1.0
        out = np.asarray(base, dtype=np.float64) / (top if top > 0 else 1.0)
        gate = 1.0
        if near is not None and len(near) and float(np.max(near)) > 0:
            gate = np.sqrt(np.clip(np.asarray(near, dtype=np.float64) / float(np.max(near)), 0.0, 1.0))
        for c in prefs.critiques:
            shift = f.critique_strength * c.weight * c.direction * self.attributes[c.attribute][positions]
            if c.attribute in UNGATED:
                out += shift
            else:  # what goes against the wish always sinks; a lift is for items like the anchors
                out += np.where(shift > 0, gate * shift, shift)
        if prefs.genres:
            col = {g: j for j, g in enumerate(self.catalog.genre_vocab)}
            m = self.catalog.genre_matrix[positions]
            for genre, w in prefs.genres.items():
                if genre in col:
                    out += f.genre_strength * w * m[:, col[genre]]
        topics = self.topic_vectors(prefs)
        if topics is not None and len(positions) > 1:  # standardised over the pool
            out += f.topic_strength * standardise((self.store.embeddings(self._ids(positions)) @ topics.T).mean(axis=1))
        avoid = [i for i in prefs.avoid_ids if i in self.catalog]
        if avoid:
            near = self.store.embeddings(self._ids(positions)) @ self.store.embeddings(avoid).T
            closeness = np.clip((near.max(axis=1) - AVOID_FLOOR) / (1 - AVOID_FLOOR), 0, 1)
            out -= f.avoid_strength * closeness
            out[np.isin(positions, self.catalog.positions(avoid))] -= 1.0  # the item itself: below the top
        return out
