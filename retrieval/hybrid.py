"""Hybrid candidates: vector, MF, EASE, next-item and popularity sources fused by weighted reciprocal rank.

Conversational input adds sources and a re-ranking step (``retrieval/preferences.py``): ``text`` (the
recency-weighted context turns, with a popularity/quality prior), ``topics``, ``comentions`` (ReDial
co-mentions of the liked movies, ``retrieval/comentions.py``), ``shown`` (co-mentions of the items
shown so far that the user said nothing about), ``dialogue_popularity`` (leaning to the soft genres);
critiques, soft genres, topics and avoided items then re-rank the fused pool. Without such input the ranking is exactly as before.
Each source is declared once, with its weight and when it fires, in the registry (``retrieval/sources.py``).

``HybridRetriever.candidates`` takes a user context (a known user id and/or
liked ids and/or free text, plus filters) and returns fused, de-duplicated
candidates. Items the user has seen, liked, disliked or excluded never appear.
Each candidate keeps its per-source rank and score, for prompts and evals.

A known user's history query (no liked ids, text or soft preferences) is ranked instead by the learned
ranker (``retrieval/learned_ranker.py``) when one is attached and ``FusionSettings.learned_ranker`` is on:
the pool is every source's top ``per_source``, popularity included, and the candidate's score is the ranker's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from recagent.errors import UnknownUserError
from recagent.retrieval.base import Candidate, ContextText, Preferences, RetrievalQuery, Scored, SourceHit
from recagent.retrieval.catalog import Catalog, InteractionLog
from recagent.retrieval.facet_reading import RequestFacets, query_facets
from recagent.retrieval.learned_ranker import LearnedRanker
from recagent.retrieval.preferences import UNGATED, PreferenceScorer
from recagent.retrieval.sources import Source, history_anchors
from recagent.settings import FusionSettings

# the sources that answer the liked (anchor) items, rather than what was said or what is popular
ANCHORED_SOURCES = ("vector", "mf", "ease", "sequential", "comentions")

# sources that rank the same films whatever the words say (dialogues: the nearest ReDial contexts vote, and
# for a message that names no film those are mostly the popular answers)
CONTEXT_FREE_SOURCES = ("dialogue_popularity", "dialogues")
# and whatever every source says, the request's facets rank first: items meeting more of them outrank the others
# (``tiered``), so none of these, popularity or co-mentions can put an off-request film above an on-request one


class HybridRetriever:
    """Fuses the sources of a registry (``retrieval/sources.py`` :func:`fusion_sources`) with the ``fusion``
    settings (each source's weight, and what a source reads at query time). ``log`` is the interaction log the
    models were fitted on (what a known user has seen, their history anchors); ``preferences`` re-ranks the
    fused pool by the soft preferences; ``ranker`` (or its loader) ranks a known user's history query."""

    name = "hybrid"

    def __init__(
        self,
        catalog: Catalog,
        sources: Sequence[Source],
        fusion: FusionSettings | None = None,
        *,
        log: InteractionLog | None = None,
        preferences: PreferenceScorer | None = None,
        ranker: LearnedRanker | Callable[[], LearnedRanker | None] | None = None,
    ):
        self.catalog = catalog
        self.sources = tuple(sources)
        self.fusion = fusion or FusionSettings()
        self.log = log
        self.preferences = preferences
        # attached (LearnedRanker.attach) to the log the models were fitted on; a callable is called on the first
        # query the ranker could rank, so that a request that cannot use it never pays for attaching it
        self._ranker = ranker

    @property
    def ranker(self) -> LearnedRanker | None:
        if callable(self._ranker):  # the loader: a LearnedRanker itself is not callable
            self._ranker = self._ranker()
        return self._ranker

    def source(self, name: str) -> Source | None:
        return next((s for s in self.sources if s.name == name), None)

    def model(self, name: str):
        """The fitted model behind the named source (None when the registry has no such source)."""
        source = self.source(name)
        return None if source is None else source.model

    # ------------------------------------------------------------------ context

    def seen_positions(self, query: RetrievalQuery) -> np.ndarray:
        """Everything the user must not be offered: history, likes, dislikes, explicit exclusions."""
        parts = [
            self.catalog.positions(
                i for i in (*query.liked_ids, *query.disliked_ids, *query.filters.exclude_ids) if i in self.catalog
            )
        ]
        mf = self.model("mf")
        if query.user_id is not None and self.log is not None and query.user_id in self.log:
            parts.append(self.log.seen_positions(query.user_id))
        if query.user_id is not None and mf is not None and mf.knows(query.user_id):
            parts.append(mf.seen(query.user_id))
        return np.unique(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)

    def history_anchors(self, user_id: str) -> list[str]:
        """A known user's most recent well-rated items, used as the vector query."""
        return history_anchors(self.catalog, self.log, user_id)

    # ------------------------------------------------------------------ sources

    def fires(self, source: Source, query: RetrievalQuery) -> bool:
        """A source fires at a positive weight, on a query that carries what it needs."""
        return getattr(self.fusion, source.weight) > 0 and source.fires(query, self.fusion)

    def source_results(self, query: RetrievalQuery, exclude: np.ndarray, per_source: int) -> dict[str, Scored]:
        """Each firing source's top ``per_source``, in registry order; popularity answers a query no other
        source could (cold start) even at weight 0."""
        out: dict[str, Scored] = {}
        fusion = self.fusion
        facets = self.request_facets(query)
        worded = query
        if facets is not None and facets.unread:  # what no facet answers: the words' own nearness, not the popular
            fusion = fusion.model_copy(update={"text_prior": fusion.unread_text_prior})
            worded = _request_words(query)
        for source in self.sources:
            if self.fires(source, query) or (source.fallback and not out):
                scored = source.retrieve(worded if source.name == "text" else query, per_source, exclude, fusion)
                if source.keeps_empty or len(scored):
                    out[source.name] = scored
        return out

    def weights(self) -> dict[str, float]:
        """Each registered source's fusion weight, from the fusion settings."""
        return {s.name: getattr(self.fusion, s.weight) for s in self.sources}

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
                if source in weights:
                    weights[source] *= 1.0 - s
        return weights

    def fuse(self, results: dict[str, Scored], k: int, query: RetrievalQuery | None = None) -> list[Candidate]:
        """Weighted reciprocal-rank fusion; the query's soft preferences, if any, re-rank the fused pool."""
        weights = self.query_weights(results)
        facets = self.request_facets(query)
        if facets is not None and "facets" in weights:
            weights["facets"] *= facets.focus  # a broad genre: the tier is enough, popular members add nothing
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
                near = np.array(
                    [
                        sum(weights.get(s, 0.0) / (rrf_k + r) for s, (r, _) in hits[p].items() if s in ANCHORED_SOURCES)
                        for p in pool.tolist()
                    ]
                )
            if facets is not None and facets.anchor is not None and self.fusion.anchored_critique_scale != 1:
                prefs = prefs.model_copy(  # near X, the critique decides the order (X's facets keep it near X)
                    update={
                        "critiques": [
                            c.model_copy(update={"weight": c.weight * self.fusion.anchored_critique_scale})
                            for c in prefs.critiques
                        ]
                    }
                )
            adjusted = self.preferences.adjust(pool, np.array([fused[p] for p in pool]), prefs, near)
            if facets is not None and facets.anchor is not None and self.fusion.anchor_facet_strength > 0:
                plain = pool[: max(k, 1)]  # the top k before the soft preferences: what "like X" alone gives
                adjusted = adjusted + self.neighbourhood_lift(pool, facets.anchor, query, prefs, plain)
            fused = dict(zip(pool.tolist(), adjusted.tolist()))
            order = [int(pool[i]) for i in np.argsort(-adjusted, kind="stable")]
        if facets is not None and (facets.wanted or facets.unread):
            # with a filter stated ("a movie about aliens", then "only 90s ones"), too few fitting films leave the
            # rest to the words said, not to the filter's most popular films
            narrowed = query is not None and query.filters.states_a_filter
            order = self.tiered(order, facets, hits, always=self.fusion.nearest_rest or narrowed)
        out = self._candidates(order[:k], fused, hits)
        if facets is not None and facets.wanted:
            self.mark(out, facets)
        return out

    # ------------------------------------------------------------------ request facets

    def neighbourhood_lift(
        self, pool: np.ndarray, anchor: np.ndarray, query: RetrievalQuery, prefs: Preferences, plain: np.ndarray
    ) -> np.ndarray:
        """ "Like X but Y": the films sharing X's own facets that already are the way Y asks, compared with X
        (less violent than Heat), are lifted by their affinity to X; the critique then orders them. A film as
        violent as Heat or more gets no lift, so X's neighbourhood never outranks the wish."""
        affinity = anchor[pool] / max(float(anchor[pool].max()), 1e-9)
        liked = self.catalog.positions(i for i in query.liked_ids if i in self.catalog)
        attrs = self.preferences.attributes
        way = np.ones(len(pool))
        for c in prefs.critiques:
            if c.attribute not in UNGATED and len(liked):
                values = attrs[c.attribute]  # how far the asked way from X and from the plain list, in SDs
                ref = 0.5 * (float(values[liked].mean()) + float(values[plain].mean()))
                way = np.minimum(way, np.clip(c.direction * (values[pool] - ref), 0, 1))
        return self.fusion.anchor_facet_strength * affinity * way

    def request_facets(self, query: RetrievalQuery | None) -> RequestFacets | None:
        """What the request names, in the catalog's facets (None when facets are off or it names none)."""
        reader = self.model("facets")
        if query is None or reader is None or not self.fusion.request_facets:
            return None
        rf = query_facets(reader, query)
        return rf if rf else None

    @staticmethod
    def tiered(
        order: list[int],
        facets: RequestFacets,
        hits: dict[int, dict[str, tuple[int, float]]] | None = None,
        always: bool = True,
    ) -> list[int]:
        """The fused order with the items meeting more of the request's facets first (stable within a tier):
        whatever the sources say, an on-request film is never below an off-request one. With the sources' ``hits``,
        each film's rank by the words said (or the liked items, :meth:`nearness`) counts too: the films meeting none of the facets come by their fused
        rank plus that rank, so a film near the words passes popular ones that are not ("a wedding movie":
        Bridesmaids after the weddings, not Inside Out). Not ``always``: only when no film meets any facet ("based
        on a video game", which the catalog does not record: the nearest by the words, not the most popular), or
        when the request says what films are about and no facet answers it (``facets.unread``: "an inspiring movie
        about a teacher"), where the words order the films that fit as well."""
        tiers = facets.tiers(np.array(order, dtype=np.int64))
        ranked = [order[i] for i in np.argsort(-tiers, kind="stable")]
        n_on = int(np.count_nonzero(tiers > 0))
        unread = bool(facets.unread)  # "about a teacher": no facet says it, the words said must count
        if not hits or (n_on and not always and not unread):
            return ranked
        near = HybridRetriever.nearness(hits)  # only here: most requests have films that fit
        tier = dict(zip(order, tiers.tolist()))
        keep = 0 if unread else n_on  # with words no facet read, the films that fit are ordered by them too
        rest = ranked[keep:]
        by_words = {p: r for r, p in enumerate(sorted((p for p in rest if p in near), key=near.__getitem__))}
        far = len(by_words)  # not found by the words said: as if just after the last one that was
        if n_on:  # within a tier: fused rank plus rank by the words
            key = {p: (-tier[p], i + by_words.get(p, far), i) for i, p in enumerate(rest)}
        else:  # nothing fits: the words are all there is to go on
            key = {p: (-tier[p], by_words.get(p, far), i) for i, p in enumerate(rest)}
        return ranked[:keep] + sorted(rest, key=key.__getitem__)

    @staticmethod
    def nearness(hits: dict[int, dict[str, tuple[int, float]]]) -> dict[int, int]:
        """Per position, its best rank by the words said (the text source, or the topic source: "aliens", with the
        films tagged so), else by the liked items (vector)."""
        out = {}
        for pos, by in hits.items():
            said = [by[s][0] for s in ("text", "topics") if s in by]
            if said or "vector" in by:
                out[pos] = min(said) if said else by["vector"][0]
        return out

    def mark(self, candidates: list[Candidate], facets: RequestFacets) -> None:
        """Each candidate's request facets: whether it meets them all, and which."""
        positions = self.catalog.positions(c.item_id for c in candidates)
        tiers = facets.tiers(positions)
        for n, cand in enumerate(candidates):
            p = int(positions[n])
            cand.on_request = bool(tiers[n] >= facets.full)
            cand.matched = [facets.concepts[i].label for i in facets.wanted if facets.members[i][p] > 0]

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
        seq = self.model("sequential")
        return (
            self._ranker is not None
            and self.fusion.learned_ranker
            and self.source("vector") is not None
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
            results["popularity"] = self.source("popularity").retrieve(query, per_source, exclude, self.fusion)
        return results

    def rank_learned(self, results: dict[str, Scored], query: RetrievalQuery, k: int, per_source: int):
        """The pool ordered by the learned ranker (ties by the RRF order), with each candidate's source hits."""
        seq_model = self.model("sequential")
        hist = self.log.history(query.user_id)
        positions, scores = self.ranker.rank(
            results, seq_model.sequences.of(query.user_id), hist.timestamps, hist.values, seq_model, per_source
        )
        order = positions[:k].tolist()
        return self._candidates(order, dict(zip(order, scores[:k].tolist())), self.source_hits(results))

    def knows(self, user_id: str | None) -> bool:
        mf = self.model("mf")
        return user_id is not None and (
            (self.log is not None and user_id in self.log) or (mf is not None and mf.knows(user_id))
        )

    def attach_anchors(self, candidates: list[Candidate], liked_ids: list[str]) -> None:
        """Name, for each candidate, the liked item it is most similar to (for explanations)."""
        liked = [i for i in liked_ids if i in self.catalog]
        vector = self.model("vector")
        if vector is None or not liked or not candidates:
            return
        sims = vector.embeddings([c.item_id for c in candidates]) @ vector.embeddings(liked).T
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


def _request_words(query: RetrievalQuery) -> RetrievalQuery:
    """The query with its request text as the one turn the text source embeds: with words no facet answers, the
    words decide the order, and they must outlast a later "only comedies" (a filter, which the state carries)."""
    if not query.text:
        return query
    p = query.preferences
    turns = [ContextText(text=query.text, weight=1.0)]
    return query.model_copy(update={"preferences": p.model_copy(update={"context": turns})})
