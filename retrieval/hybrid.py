"""Hybrid candidates: vector, MF, EASE, next-item and popularity sources fused by weighted reciprocal rank.

Conversational input adds sources and a re-ranking step (``retrieval/preferences.py``): ``text`` (the
recency-weighted context turns, with a popularity/quality prior), ``topics``, ``comentions`` (ReDial
co-mentions of the liked movies, ``retrieval/comentions.py``), ``shown`` (co-mentions of the items
shown so far that the user said nothing about), ``dialogue_popularity`` (leaning to the soft genres);
critiques, soft genres, topics and avoided items then re-rank the fused pool. Without such input the ranking is exactly as before.

``HybridRetriever.candidates`` takes a user context (a known user id and/or
liked ids and/or free text, plus filters) and returns fused, de-duplicated
candidates. Items the user has seen, liked, disliked or excluded never appear.
Each candidate keeps its per-source rank and score, for prompts and evals.

A known user's history query (no liked ids, text or soft preferences) is ranked instead by the learned
ranker (``retrieval/learned_ranker.py``) when one is attached and ``FusionSettings.learned_ranker`` is on:
the pool is every source's top ``per_source``, popularity included, and the candidate's score is the ranker's.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from pydantic import BaseModel, Field

from recagent.errors import UnknownUserError
from recagent.settings import FusionSettings
from recagent.retrieval.base import RetrievalQuery, Scored
from recagent.retrieval.comentions import CoMentionRetriever
from recagent.retrieval.catalog import Catalog, InteractionLog
from recagent.retrieval.dialogues import DialogueRetriever
from recagent.retrieval.itemitem import ItemItemRetriever
from recagent.retrieval.learned_ranker import LearnedRanker
from recagent.retrieval.mf import MFRetriever
from recagent.retrieval.popularity import PopularityRetriever
from recagent.retrieval.preferences import PreferenceScorer
from recagent.retrieval.vector_store import VectorStore

# the sources that answer the liked (anchor) items, rather than what was said or what is popular
ANCHORED_SOURCES = ("vector", "mf", "ease", "sequential", "comentions")
HISTORY_ANCHORS = 10  # a known user's vector query averages their latest liked items


class SourceHit(BaseModel):
    rank: int = Field(description="1-based rank within the source")
    score: float


class Candidate(BaseModel):
    item_id: str
    title: str
    year: int | None = None
    genres: list[str] = Field(default_factory=list)
    score: float = Field(description="fused score (weighted reciprocal rank, or the learned ranker's score)")
    sources: dict[str, SourceHit] = Field(default_factory=dict)
    anchor_id: str | None = Field(None, description="the liked item this candidate is most similar to")
    anchor_title: str | None = None

    @classmethod
    def from_item(cls, item, score: float, sources: dict[str, SourceHit] | None = None, title: str | None = None):
        """A catalog item as a candidate (``title`` overrides the catalog's, e.g. with the year added)."""
        return cls(
            item_id=item.id,
            title=title or item.title,
            year=item.year,
            genres=list(item.genres),
            score=score,
            sources=sources or {},
        )


# sources that rank the same films whatever the words say (dialogues: the nearest ReDial contexts vote, and
# for a message that names no film those are mostly the popular answers)
CONTEXT_FREE_SOURCES = ("dialogue_popularity", "dialogues")


class HybridRetriever:
    name = "hybrid"

    def __init__(
        self,
        catalog: Catalog,
        vector: VectorStore | None,
        mf: MFRetriever | None,
        popularity: PopularityRetriever,
        log: InteractionLog | None = None,
        fusion: FusionSettings | None = None,
        ease: ItemItemRetriever | None = None,
        sequential: ItemItemRetriever | None = None,
        preferences: PreferenceScorer | None = None,
        comentions: CoMentionRetriever | None = None,
        dialogues: DialogueRetriever | None = None,
        ranker: LearnedRanker | Callable[[], LearnedRanker | None] | None = None,
    ):
        self.catalog = catalog
        self.vector = vector
        self.mf = mf
        self.popularity = popularity
        self.log = log
        self.fusion = fusion or FusionSettings()
        self.item_models = {name: m for name, m in (("ease", ease), ("sequential", sequential)) if m is not None}
        self.preferences = preferences
        self.comentions = comentions
        self.dialogues = dialogues
        # attached (LearnedRanker.attach) to the log the models were fitted on; a callable is called on the first
        # query the ranker could rank, so that a request that cannot use it never pays for attaching it
        self._ranker = ranker

    @property
    def ranker(self) -> LearnedRanker | None:
        if callable(self._ranker):  # the loader: a LearnedRanker itself is not callable
            self._ranker = self._ranker()
        return self._ranker

    # ------------------------------------------------------------------ context

    def seen_positions(self, query: RetrievalQuery) -> np.ndarray:
        """Everything the user must not be offered: history, likes, dislikes, explicit exclusions."""
        parts = [
            self.catalog.positions(
                i for i in (*query.liked_ids, *query.disliked_ids, *query.filters.exclude_ids) if i in self.catalog
            )
        ]
        if query.user_id is not None and self.log is not None and query.user_id in self.log:
            parts.append(self.log.seen_positions(query.user_id))
        if query.user_id is not None and self.mf is not None and self.mf.knows(query.user_id):
            parts.append(self.mf.seen(query.user_id))
        return np.unique(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)

    def history_anchors(self, user_id: str) -> list[str]:
        """A known user's most recent well-rated items, used as the vector query."""
        if self.log is None or user_id not in self.log:
            return []
        h = self.log.history(user_id)
        good = h.values >= np.median(h.values)
        picked = h.item_positions[good][-HISTORY_ANCHORS:]
        return [self.catalog.ids[p] for p in picked]

    # ------------------------------------------------------------------ sources

    def source_results(self, query: RetrievalQuery, exclude: np.ndarray, per_source: int) -> dict[str, Scored]:
        out: dict[str, Scored] = {}
        f = self.fusion
        if self.vector is not None and f.vector_weight > 0:
            vq = query
            if query.user_id is not None and not query.text and not query.liked_ids:
                vq = query.model_copy(update={"liked_ids": self.history_anchors(query.user_id)})
            if self._text_source(query):  # the context turns (which hold the text) go to the text source
                vq = vq.model_copy(update={"text": None})
            if vq.text or vq.liked_ids:
                out["vector"] = self.vector.retrieve(vq, per_source, exclude=exclude)
        if self.mf is not None and f.mf_weight > 0 and (self.mf.knows(query.user_id) or query.liked_ids):
            out["mf"] = self.mf.retrieve(query, per_source, exclude=exclude)
        weights = self.weights()
        for name, model in self.item_models.items():
            if weights[name] > 0 and (model.knows(query.user_id) or query.liked_ids):
                out[name] = model.retrieve(query, per_source, exclude=exclude)
        out.update(self.conversational_results(query, exclude, per_source))
        if f.popularity_weight > 0 or not out:
            out["popularity"] = self.popularity.retrieve(query, per_source, exclude=exclude)
        return out

    def weights(self) -> dict[str, float]:
        f = self.fusion
        return {
            "vector": f.vector_weight,
            "mf": f.mf_weight,
            "ease": f.ease_weight,
            "sequential": f.sequential_weight,
            "popularity": f.popularity_weight,
            "text": f.text_weight,
            "topics": f.topic_weight,
            "comentions": f.comention_weight,
            "dialogue_popularity": f.dialogue_popularity_weight,
            "shown": f.shown_weight,
            "dialogues": f.dialogue_weight,
        }

    def _text_source(self, query: RetrievalQuery) -> bool:
        return self.preferences is not None and self.fusion.text_weight > 0 and bool(query.preferences.context)

    def conversational_results(self, query: RetrievalQuery, exclude: np.ndarray, per_source: int) -> dict[str, Scored]:
        """The sources that only conversational input wakes: context turns, topics, co-mentions, and (in a
        conversation) how often dialogue recommenders suggested each movie, and what they suggested in the
        train dialogues nearest to this one."""
        out: dict[str, Scored] = {}
        f, p = self.fusion, self.preferences
        if self._text_source(query):
            out["text"] = p.text_source(query, per_source, exclude)
        if p is not None and f.topic_weight > 0 and query.preferences.topics:
            out["topics"] = p.topic_source(query, per_source, exclude)
        if self.comentions is not None and f.comention_weight > 0 and query.liked_ids:
            out["comentions"] = self.comentions.retrieve(query, per_source, exclude)
        if self.comentions is not None and f.dialogue_popularity_weight > 0 and query.preferences.context:
            out["dialogue_popularity"] = self.comentions.popular(
                query, per_source, exclude, genre_boost=f.dialogue_popularity_genre_boost
            )
        # only without liked anchors: with them, the item-to-item sources carry the taste, and the dialogue
        # votes (popular ReDial answers) only dilute "like Heat" (on the train halves: +0.031 Recall@10 without
        # liked titles, -0.002 with them)
        if self.dialogues is not None and f.dialogue_weight > 0 and query.preferences.context and not query.liked_ids:
            out["dialogues"] = self.dialogues.retrieve(query, per_source, exclude)
        shown = [i for i in query.preferences.shown_ids if i in self.catalog]
        if self.comentions is not None and f.shown_weight > 0 and shown:
            out["shown"] = self.comentions.retrieve(query, per_source, exclude, anchors=shown)
        return {name: scored for name, scored in out.items() if len(scored)}

    # ------------------------------------------------------------------ fusion

    def specificity(self, results: dict[str, Scored]) -> float:
        """How clearly the words said point at particular films, 0 (vague) to 1, from how far the text
        source's best item stands above its 10th: "a movie about a shark attacking a beach town" (Jaws 0.19
        above the 10th) is specific, "any good movies lately?" (0.03) or "I like comedies" (0.04) is not."""
        text = results.get("text")
        low, high = self.fusion.specific_text_gap
        if text is None or len(text) < 10 or high <= low:
            return 0.0
        gap = float(text.scores[0] - text.scores[9])
        return float(np.clip((gap - low) / (high - low), 0.0, 1.0))

    def query_weights(self, results: dict[str, Scored]) -> dict[str, float]:
        """The fusion weights for this query: the sources that know nothing of what was said (what ReDial
        recommenders suggest most, and in the dialogues nearest this one) step back as the words get specific,
        so that popular answers never outvote the film the user described."""
        weights = self.weights()
        s = self.specificity(results)
        if s > 0:
            for source in CONTEXT_FREE_SOURCES:
                weights[source] *= 1.0 - s
        return weights

    def fuse(self, results: dict[str, Scored], k: int, query: RetrievalQuery | None = None) -> list[Candidate]:
        """Weighted reciprocal-rank fusion; the query's soft preferences, if any, re-rank the fused pool."""
        weights = self.query_weights(results)
        said = query is not None and bool(query.preferences.context or query.preferences.topics)
        rrf_k = self.fusion.conversational_rrf_k if said else self.fusion.rrf_k
        hits = self.source_hits(results)
        fused: dict[int, float] = {}
        for pos, by_source in hits.items():
            for source, (rank, _) in by_source.items():
                w = weights.get(source, 1.0) or (1.0 if len(results) == 1 else 0.0)
                fused[pos] = fused.get(pos, 0.0) + w / (rrf_k + rank)
        # ties broken by the best single-source rank, then catalog order: deterministic
        order = sorted(fused, key=lambda p: (-fused[p], min(r for r, _ in hits[p].values()), p))
        prefs = None if query is None else query.preferences
        if self.preferences is not None and prefs is not None and PreferenceScorer.active(prefs) and order:
            pool = np.array(order[: max(self.fusion.rerank_pool, k)], dtype=np.int64)
            near = None
            if self.fusion.anchored_critiques and query.liked_ids and prefs.critiques:
                near = np.array([
                    sum(weights.get(s, 0.0) / (rrf_k + r) for s, (r, _) in hits[p].items() if s in ANCHORED_SOURCES)
                    for p in pool.tolist()
                ])
            adjusted = self.preferences.adjust(pool, np.array([fused[p] for p in pool]), prefs, near)
            fused = dict(zip(pool.tolist(), adjusted.tolist()))
            order = [int(pool[i]) for i in np.argsort(-adjusted, kind="stable")]
        return self._candidates(order[:k], fused, hits)

    @staticmethod
    def source_hits(results: dict[str, Scored]) -> dict[int, dict[str, tuple[int, float]]]:
        """Per candidate position, each source that returned it: (1-based rank, score), in pool order."""
        hits: dict[int, dict[str, tuple[int, float]]] = {}
        for source, scored in results.items():
            for rank, (pos, score) in enumerate(zip(scored.positions.tolist(), scored.scores.tolist()), start=1):
                hits.setdefault(pos, {})[source] = (rank, score)
        return hits

    def _candidates(self, order, scores: dict[int, float], hits: dict[int, dict[str, tuple[int, float]]]):
        out = []
        for pos in order:
            sources = {s: SourceHit(rank=r, score=round(v, 6)) for s, (r, v) in hits[pos].items()}
            out.append(Candidate.from_item(self.catalog.items[pos], round(scores[pos], 8), sources))
        return out

    # ------------------------------------------------------------------ learned ranker

    def uses_ranker(self, query: RetrievalQuery) -> bool:
        """The learned ranker ranks only a known user's history query (nothing liked, said or critiqued)."""
        seq = self.item_models.get("sequential")
        return (
            self._ranker is not None
            and self.fusion.learned_ranker
            and self.vector is not None
            and seq is not None
            and query.user_id is not None
            and self.log is not None
            and query.user_id in self.log
            and seq.knows(query.user_id)
            and not query.liked_ids
            and not query.text
            and query.preferences.is_empty()
            and self.ranker is not None  # attached here, on the first query it could rank
            and self.ranker.stats is not None
        )

    def learned_results(self, query: RetrievalQuery, exclude: np.ndarray, per_source: int) -> dict[str, Scored]:
        """The sources' top lists for the ranker: the popularity source is a feature even at fusion weight 0."""
        results = self.source_results(query, exclude, per_source)
        if "popularity" not in results:
            results["popularity"] = self.popularity.retrieve(query, per_source, exclude=exclude)
        return results

    def rank_learned(self, results: dict[str, Scored], query: RetrievalQuery, k: int, per_source: int):
        """The pool ordered by the learned ranker (ties by the RRF order), with each candidate's source hits."""
        seq_model = self.item_models["sequential"]
        hist = self.log.history(query.user_id)
        positions, scores = self.ranker.rank(
            results, seq_model.sequences.of(query.user_id), hist.timestamps, hist.values, seq_model, per_source
        )
        order = positions[:k].tolist()
        return self._candidates(order, dict(zip(order, scores[:k].tolist())), self.source_hits(results))

    def knows(self, user_id: str | None) -> bool:
        return user_id is not None and (
            (self.log is not None and user_id in self.log) or (self.mf is not None and self.mf.knows(user_id))
        )

    def attach_anchors(self, candidates: list[Candidate], liked_ids: list[str]) -> None:
        """Name, for each candidate, the liked item it is most similar to (for explanations)."""
        liked = [i for i in liked_ids if i in self.catalog]
        if self.vector is None or not liked or not candidates:
            return
        sims = self.vector.embeddings([c.item_id for c in candidates]) @ self.vector.embeddings(liked).T
        for cand, row in zip(candidates, sims):
            best = liked[int(row.argmax())]
            cand.anchor_id = best
            cand.anchor_title = self.catalog.get(best).title

    def candidates(self, query: RetrievalQuery, k: int = 50) -> list[Candidate]:
        said = query.liked_ids or query.text or not query.preferences.is_empty()
        if query.user_id is not None and not self.knows(query.user_id) and not said:
            raise UnknownUserError(query.user_id)
        query = query.model_copy(update={"filters": query.filters.normalized(self.catalog)})
        exclude = self.seen_positions(query)
        per_source = max(self.fusion.per_source, k)
        if self.uses_ranker(query):
            out = self.rank_learned(self.learned_results(query, exclude, per_source), query, k, per_source)
        else:
            out = self.fuse(self.source_results(query, exclude, per_source), k, query)
        anchors = query.liked_ids or (self.history_anchors(query.user_id) if self.knows(query.user_id) else [])
        self.attach_anchors(out, anchors)
        return out
