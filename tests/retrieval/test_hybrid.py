"""Hybrid candidates: fusion, exclusions, filters, cold start (real Chroma, MiniLM, ALS)."""

from __future__ import annotations

import numpy as np
import pytest

from recagent.errors import UnknownItemError, UnknownUserError
from recagent.retrieval.base import RetrievalQuery, Scored
from recagent.retrieval.catalog import Catalog, Item
from recagent.retrieval.filters import Filters
from recagent.retrieval.hybrid import HybridRetriever
from recagent.retrieval.sources import Source
from recagent.settings import FusionSettings


def test_known_user_candidates_are_unique_unseen_and_fused(rec):
    log = rec.dataset.interactions
    user = log.users[5]
    cands = rec.hybrid.candidates(RetrievalQuery(user_id=user), k=40)
    ids = [c.item_id for c in cands]
    assert len(ids) == 40 and len(set(ids)) == 40
    seen = {rec.catalog.ids[p] for p in log.seen_positions(user)}
    assert not set(ids) & seen
    assert [c.score for c in cands] == sorted((c.score for c in cands), reverse=True)
    used = {s for c in cands for s in c.sources}
    conversational = {
        "text",
        "topics",
        "facets",
        "comentions",
        "dialogue_popularity",
        "shown",
        "dialogues",
    }  # need words
    fused = {s for s, w in rec.hybrid.weights().items() if w > 0} - conversational
    assert {"vector", "mf", "ease", "sequential"} <= fused <= used, "every weighted source contributes"
    for c in cands:
        for hit in c.sources.values():
            assert hit.rank >= 1


# the registered sources these fusion tests name, with their weights' fields; they never retrieve
WEIGHTS = {
    "vector": "vector_weight",
    "mf": "mf_weight",
    "popularity": "popularity_weight",
    "text": "text_weight",
    "dialogue_popularity": "dialogue_popularity_weight",
    "dialogues": "dialogue_weight",
}


def _hand_made(items: list[Item], fusion: FusionSettings) -> HybridRetriever:
    """A HybridRetriever over hand-made items whose sources return nothing: fusion is pure logic."""
    never = [Source(n, w, lambda q, f: False, lambda q, k, ex, f: Scored.empty(), None) for n, w in WEIGHTS.items()]
    return HybridRetriever(Catalog(items), never, fusion)


def _fusion_only(**weights) -> HybridRetriever:
    items = [Item(id=f"i{n}", title=f"Film {n}", text=f"film {n}", year=1990 + n) for n in range(4)]
    return _hand_made(items, FusionSettings(rrf_k=10.0, **weights))


def _scored(positions, scores) -> Scored:
    return Scored(np.array(positions), np.array(scores, dtype=np.float32))


def test_fusion_is_weighted_reciprocal_rank():
    h = _fusion_only(vector_weight=0.5, mf_weight=2.0)
    results = {"vector": _scored([0, 1], [0.9, 0.8]), "mf": _scored([1, 2], [3.0, 2.0])}
    out = h.fuse(results, k=3)
    assert [c.item_id for c in out] == ["i1", "i2", "i0"]  # in both lists, then mf's second beats vector's first
    assert out[0].score == pytest.approx(0.5 / 12 + 2.0 / 11, rel=1e-6)
    assert out[1].score == pytest.approx(2.0 / 12, rel=1e-6) and out[2].score == pytest.approx(0.5 / 11, rel=1e-6)
    assert {s: (hit.rank, hit.score) for s, hit in out[0].sources.items()} == {
        "vector": (2, pytest.approx(0.8)),
        "mf": (1, pytest.approx(3.0)),
    }
    assert out[0].title == "Film 1" and out[0].year == 1991
    assert [c.item_id for c in h.fuse(results, k=1)] == ["i1"]


def test_fusion_ties_break_by_best_single_rank_then_catalog_order():
    h = _fusion_only(vector_weight=1.0, mf_weight=1.0)
    # i3 and i0 are first in one list each; i2 and i1 second in one list each: equal fused scores pairwise
    out = h.fuse({"vector": _scored([3, 2], [1, 1]), "mf": _scored([0, 1], [1, 1])}, k=4)
    assert [c.item_id for c in out] == ["i0", "i3", "i1", "i2"]


def test_a_zero_weight_source_counts_only_when_it_is_the_only_one():
    h = _fusion_only(popularity_weight=0.0)
    alone = h.fuse({"popularity": _scored([2, 0], [5, 4])}, k=2)
    assert [c.item_id for c in alone] == ["i2", "i0"] and alone[0].score == pytest.approx(1 / 11)
    beside = h.fuse({"popularity": _scored([2], [5]), "mf": _scored([0], [1])}, k=2)
    assert [c.item_id for c in beside] == ["i0", "i2"] and beside[1].score == 0.0


def test_context_free_sources_step_back_when_the_words_point_at_a_film():
    """A described film ("a shark attacking a beach town": the text source's best stands 0.19 above its 10th)
    is not outvoted by the sources that rank ReDial's popular answers whatever was said; vague words (a gap of
    0.03) leave their weights as they are, and a gap in between scales them."""
    items = [Item(id=f"i{n}", title=f"Film {n}", text=f"film {n}") for n in range(12)]
    h = _hand_made(items, FusionSettings())
    described = _scored(range(10), [0.85, *np.linspace(0.75, 0.66, 9)])  # gap 0.19
    vague = _scored(range(10), np.linspace(0.73, 0.70, 10))  # gap 0.03
    popular = {"dialogue_popularity": _scored([10, 11], [20, 17]), "dialogues": _scored([11, 10], [1.5, 1.3])}
    top = h.fuse({"text": described, **popular}, k=3)
    assert top[0].item_id == "i0" and not {"i10", "i11"} & {c.item_id for c in top}
    assert h.query_weights({"text": described})["dialogues"] == 0.0
    assert h.fuse({"text": vague, **popular}, k=1)[0].item_id in {"i10", "i11"}
    assert h.query_weights({"text": vague}) == h.weights()
    halfway = _scored(range(10), [0.82, *np.linspace(0.75, 0.70, 9)])  # gap 0.12: half way from 0.08 to 0.16
    assert h.query_weights({"text": halfway})["dialogue_popularity"] == pytest.approx(
        0.5 * h.weights()["dialogue_popularity"]
    )
    off = _hand_made(items, FusionSettings(specific_text_gap=(0.1, 0.1)))
    assert off.query_weights({"text": described}) == off.weights()


def test_new_user_likes_and_exclusions(rec):
    liked = ["1", "2"]
    q = RetrievalQuery(liked_ids=liked, disliked_ids=["3"], filters=Filters(exclude_ids=["34"]))
    cands = rec.hybrid.candidates(q, k=50)
    ids = [c.item_id for c in cands]
    assert not {"1", "2", "3", "34"} & set(ids)
    assert len(ids) == 50
    assert {"ease", "sequential"} <= {s for c in cands for s in c.sources}, "item-to-item sources serve new users"


def test_filters_apply_to_every_source(rec):
    f = Filters(year_min=1995, year_max=1995, exclude_genres=["Drama"])
    for q in (
        RetrievalQuery(user_id=rec.dataset.interactions.users[1], filters=f),
        RetrievalQuery(liked_ids=["6"], text="crime thriller", filters=f),
        RetrievalQuery(filters=f),
    ):
        cands = rec.hybrid.candidates(q, k=25)
        assert cands
        for c in cands:
            assert c.year == 1995 and "Drama" not in c.genres


def test_cold_start_falls_back_to_popularity(rec):
    cands = rec.hybrid.candidates(RetrievalQuery(), k=10)
    assert all(set(c.sources) == {"popularity"} for c in cands)
    counts = rec.popularity.counts
    assert [c.item_id for c in cands] == [rec.catalog.ids[p] for p in np.argsort(-counts, kind="stable")[:10]]


def test_text_only_query(rec):
    cands = rec.candidates(query="toys that come alive", k=10).candidates
    assert "Toy Story (1995)" in [c.title for c in cands[:3]]
    assert "text" in cands[0].sources  # free text is the text source's: MiniLM cosine plus the popularity prior


def test_unknown_user_and_item(rec):
    with pytest.raises(UnknownUserError):
        rec.candidates(user_id="999999")
    with pytest.raises(UnknownItemError):
        rec.candidates(liked_ids=["not-an-id"])


def test_unknown_user_with_likes_is_a_new_user(rec):
    got = rec.candidates(user_id="brand-new", likes=["Heat"], k=5)
    assert got.resolved[0].item_id == "6" and len(got.candidates) == 5


def test_constraints_stated_in_a_query_are_hard_filters(rec):
    got = rec.candidates(query="funny movies from the 90s, no romance", k=15)
    assert got.candidates
    for c in got.candidates:
        assert 1990 <= c.year <= 1999 and "Romance" not in c.genres
    assert got.query.filters.year_min == 1990 and got.query.filters.exclude_genres == ["Romance"]
    # "funny movies" is a plain wish: a strong soft preference, not a filter (issue 9)
    assert got.query.filters.genres == [] and got.query.preferences.genres["Comedy"] == 1.0


def test_recommend_without_rerank_never_builds_an_llm(settings, embedder, rec):
    from recagent.recommender import Recommender

    fresh = Recommender.from_parts(settings, embedder=embedder)  # on rec's data dir, indexed by rec
    user = fresh.dataset.interactions.users[0]
    resp = fresh.recommend(user_id=user, k=5, rerank=False)
    assert resp.source == "retrieval" and len(resp.recommendations) == 5
    assert not {"backend", "aux_backend", "summarizer"} & set(fresh.built_parts()), (
        "no model loaded for retrieval order"
    )


def as_hits(near: dict[int, int]) -> dict[int, dict[str, tuple[int, float]]]:
    """Source hits where each position's text-source rank is ``near``'s (every position also has a popularity hit)."""
    return {p: {"popularity": (p + 1, 1.0), **({"text": (near[p], 0.5)} if p in near else {})} for p in range(20)}


def test_the_films_meeting_no_facet_come_by_nearness_not_by_the_fused_order_alone():
    """Too few films meet the request: after them, the rest are ordered by their fused rank plus their rank by
    the words said (the text source), so a film near the words rises past popular ones that are not; a
    film with a negated facet stays last, and among films the words did not find the fused order holds."""
    from recagent.retrieval.facet_reading import Concept, RequestFacets

    n = 20
    wedding, kids = np.zeros(n), np.zeros(n)
    wedding[19], kids[3] = 1.0, 1.0
    facets = RequestFacets(
        [Concept("wedding", (0,), "weddings"), Concept("kids", (1,), "for kids", negated=True)],
        [wedding, kids],
        [0.9, 0.5],
        [wedding, kids],
    )
    fused = list(range(n))  # 0 the most popular
    plain = HybridRetriever.tiered(fused, facets)
    assert plain == [19, *[i for i in range(19) if i != 3], 3]
    got = HybridRetriever.tiered(fused, facets, as_hits({15: 1, 16: 2, 17: 3}))
    assert got[0] == 19 and got[-1] == 3 and sorted(got) == fused
    assert got.index(15) < got.index(13) < got.index(14)  # near the words: past films it was below
    unfound = [i for i in got if i not in (15, 16, 17, 19, 3)]
    assert unfound == sorted(unfound)
    hits = {1: {"text": (1, 0.9), "vector": (7, 0.1)}, 2: {"vector": (2, 0.5)}, 3: {"popularity": (1, 1.0)}}
    assert HybridRetriever.nearness(hits) == {1: 1, 2: 2}
    hits[5] = {"topics": (2, 0.4), "text": (30, 0.2)}  # "aliens": the topic source's tag hits know better
    assert HybridRetriever.nearness(hits)[5] == 2


def test_when_no_film_meets_the_request_the_words_alone_order_the_list():
    """'based on a video game' (the catalog does not record it): no film meets it, so the films come by their
    rank by the words said, even with `nearest_rest` off; a list where some fit keeps the fused order then."""
    from recagent.retrieval.facet_reading import Concept, RequestFacets

    none = RequestFacets([Concept("video game", (), "based on video games")], [np.zeros(6)], [1.0], [np.zeros(6)])
    near = as_hits({4: 1, 2: 2, 5: 3})
    assert HybridRetriever.tiered(list(range(6)), none, near, always=False) == [4, 2, 5, 0, 1, 3]
    some = np.array([0, 0, 0, 1.0, 0, 0])
    one = RequestFacets([Concept("x", (0,), "x")], [some], [1.0], [some])
    assert HybridRetriever.tiered(list(range(6)), one, near, always=False) == [3, 0, 1, 2, 4, 5]


def test_words_no_facet_answers_order_the_list_and_the_films_that_fit():
    """'a movie set in a hospital' (no facet says hospital): the list comes by rank by the words said; with a facet
    beside them ('an inspiring movie about a teacher') the films that fit come first, ordered by fused rank plus
    rank by the words, and the same words order the rest."""
    from recagent.retrieval.facet_reading import Concept, RequestFacets

    near = as_hits({4: 1, 2: 2, 5: 3})
    unread = RequestFacets(unread=["hospital"])
    assert HybridRetriever.tiered(list(range(6)), unread, near, always=False) == [4, 2, 5, 0, 1, 3]
    some = np.array([1.0, 0, 1.0, 0, 1.0, 0])
    fit = RequestFacets([Concept("uplifting", (0,), "uplifting")], [some], [1.0], [some])
    assert HybridRetriever.tiered(list(range(6)), fit, near, always=False) == [0, 2, 4, 1, 3, 5]
    fit.unread = ["teacher"]
    assert HybridRetriever.tiered(list(range(6)), fit, near, always=False) == [2, 4, 0, 1, 3, 5]
