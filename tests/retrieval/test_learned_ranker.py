"""The learned ranker: the shipped model file, the feature recipe, and where HybridRetriever uses it (real slice,
Chroma, MiniLM, ALS, EASE, next-item)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from pydantic import ValidationError

from recagent.recommender import Recommender
from recagent.retrieval.base import Critique, Preferences, RetrievalQuery, Scored
from recagent.retrieval.catalog import Catalog, Item
from recagent.retrieval.learned_ranker import COL, DEFAULT_MODEL, FEATURES, FitStats, LearnedRanker, pool_features
from recagent.settings import FusionSettings, Settings
from tests.support.parts import retrieval_parts


@pytest.fixture(scope="module")
def rrf_rec(rec, settings) -> Recommender:
    """The same data and models, with the learned ranker switched off."""
    off = Settings(catalog=settings.catalog, data_dir=settings.data_dir, fusion=FusionSettings(learned_ranker=False))
    parts = {k: v for k, v in retrieval_parts(rec).items() if k != "hybrid"}
    return Recommender.from_parts(off, **parts)


def test_shipped_model_loads_for_movielens_and_not_for_another_catalog(rec):
    ranker = LearnedRanker.load(DEFAULT_MODEL, rec.catalog)
    assert ranker is not None and ranker.model.features == FEATURES and ranker.model.rrf.sequential == 1.0
    shop = Catalog([Item(id=str(i), title=f"Product {i}", text=f"Product {i}") for i in range(1, 200)], "shop")
    assert LearnedRanker.load(DEFAULT_MODEL, shop) is None
    # the slice's ids with other titles (an unrelated catalog that reuses MovieLens ids) is not it either
    renamed = Catalog([Item(id=it.id, title=f"Product {it.id}", text="x") for it in rec.catalog.items], "renamed")
    assert LearnedRanker.load(DEFAULT_MODEL, renamed) is None


def test_a_malformed_model_file_is_refused(rec, tmp_path):
    model = json.loads(DEFAULT_MODEL.read_text())
    model["features"] = model["features"][::-1]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(model))
    with pytest.raises(ValidationError, match="FEATURES"):
        LearnedRanker.load(bad, rec.catalog)
    model = json.loads(DEFAULT_MODEL.read_text())
    model["coef"] = model["coef"][:-1]
    bad.write_text(json.dumps(model))
    with pytest.raises(ValidationError, match="coef"):
        LearnedRanker.load(bad, rec.catalog)


def test_known_user_ranking_comes_from_the_ranker(rec, rrf_rec):
    assert rec.hybrid.ranker is not None and rrf_rec.hybrid.ranker is None
    log = rec.dataset.interactions
    differs = 0
    for user in log.users[:5]:
        learned = rec.candidates(user_id=user, k=30).candidates
        rrf = rrf_rec.candidates(user_id=user, k=30).candidates
        assert rec.hybrid.uses_ranker(RetrievalQuery(user_id=user))
        ids = [c.item_id for c in learned]
        differs += ids != [c.item_id for c in rrf]
        assert len(set(ids)) == len(ids) == 30
        seen = {rec.catalog.ids[p] for p in log.seen_positions(user)}
        assert not set(ids) & seen, "history excluded"
        assert all(c.sources for c in learned), "every item is one a source returned, with its hits"
        assert all(0 < c.score < 1 for c in learned)
        assert [c.score for c in learned] == sorted((c.score for c in learned), reverse=True)
    assert differs >= 3, "the ranker re-orders the RRF list"


def test_the_ranker_is_attached_only_when_a_query_could_use_it(rec, settings):
    parts = {k: v for k, v in retrieval_parts(rec).items() if k not in ("hybrid", "learned_ranker")}
    fresh = Recommender.from_parts(settings, **parts)
    fresh.candidates(liked_ids=rec.catalog.ids[:2], k=10)
    fresh.candidates(query="a funny animated movie", k=10)
    assert "learned_ranker" not in fresh.built_parts(), "a liked or text query never pays for attaching the ranker"
    user = rec.dataset.interactions.users[0]
    ids = [c.item_id for c in fresh.candidates(user_id=user, k=10).candidates]
    assert fresh.built_parts()["learned_ranker"] is not None
    assert ids == [c.item_id for c in rec.candidates(user_id=user, k=10).candidates]


def test_liked_and_conversational_queries_are_unchanged_by_the_flag(rec, rrf_rec):
    user = rec.dataset.interactions.users[2]
    liked = rec.catalog.ids[:3]
    queries = [
        RetrievalQuery(liked_ids=liked),
        RetrievalQuery(user_id=user, liked_ids=liked[:1]),
        RetrievalQuery(user_id=user, text="a funny animated movie"),
        RetrievalQuery(user_id=user, preferences=Preferences(genres={"Comedy": 1.0})),
        RetrievalQuery(user_id=user, preferences=Preferences(critiques=[Critique(attribute="violence", direction=-1)])),
    ]
    for q in queries:
        assert not rec.hybrid.uses_ranker(q)
        a = [(c.item_id, c.score) for c in rec.hybrid.candidates(q, 20)]
        b = [(c.item_id, c.score) for c in rrf_rec.hybrid.candidates(q, 20)]
        assert a == b


def test_features_of_a_hand_made_pool(rec):
    log, catalog = rec.dataset.interactions, rec.catalog
    stats = FitStats.build(log, rec.store.embeddings(catalog.ids))
    ranker = LearnedRanker.load(DEFAULT_MODEL, catalog)
    # two sources: mf returns items 10, 11, 12; ease returns 12, 13; the user's input is items 0, 1, 2
    results = {
        "mf": Scored(np.array([10, 11, 12]), np.array([3.0, 2.0, 1.0])),
        "ease": Scored(np.array([12, 13]), np.array([0.5, 0.5])),
    }
    seq = np.array([0, 1, 2])
    times, values = np.array([100.0, 200.0, 300.0]), np.array([4.0, 3.0, 5.0])
    pool = pool_features(results, seq, times, values, stats, rec.sequential, ranker.model.rrf, per_source=100)
    f = pool.features
    assert pool.positions.tolist() == [10, 11, 12, 13]
    assert f[:, COL["mf_rr"]].tolist() == pytest.approx([1 / 6, 1 / 7, 1 / 8, 0])
    assert f[:, COL["ease_logrank"]].tolist() == pytest.approx([math.log(101)] * 2 + [0, math.log(2)])
    assert f[:, COL["ease_normscore"]].tolist() == [0, 0, 1, 1]  # max == min: 1 where present
    assert f[:, COL["mf_present"]].tolist() == [1, 1, 1, 0] and f[:, COL["n_sources"]].tolist() == [1, 1, 2, 1]
    counts = np.bincount(log.item_positions, minlength=len(catalog))
    assert f[:, COL["item_logpop"]].tolist() == pytest.approx(np.log1p(counts[[10, 11, 12, 13]]).tolist())
    # rrf = 0.25 / (5 + mf rank) + 0.5 / (5 + ease rank): item 12 leads (0.25/8 + 0.5/6), then 13 (0.5/7)
    assert f[2, COL["rrf"]] == pytest.approx(0.25 / 8 + 0.5 / 6)
    assert pool.rrf_rank.tolist() == [3, 4, 1, 2]
    assert f[:, COL["user_mean_rating"]].tolist() == pytest.approx([4.0] * 4)
    # nothing in the fit log is this old: no recent popularity, "never seen" days
    assert f[:, COL["item_logpop_365d"]].tolist() == [0] * 4 and f[:, COL["item_days_since_last"]].tolist() == [10] * 4
