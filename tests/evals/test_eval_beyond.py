"""Beyond-accuracy metrics on hand-made lists with known answers (evals/beyond.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recagent.evals.beyond import (
    ItemFacts,
    annotate_cases,
    beyond_metrics,
    beyond_summary,
    coverage,
    ild_embeddings,
    ild_genres,
    list_values,
    lists_by_variant,
    log_popularity,
    run_lists,
    self_information,
)
from recagent.evals.cases import CaseResult
from recagent.evals.llm import LLMCaseResult


def test_genre_diversity_is_the_mean_pairwise_jaccard_distance():
    assert ild_genres([{"Drama", "War"}, {"War", "Drama"}]) == 0.0  # identical sets
    assert ild_genres([{"Comedy"}, {"Horror"}]) == 1.0  # disjoint sets
    # pairs: {A,B}-{B,C} 1 - 1/3, {A,B}-{C} 1, {B,C}-{C} 1 - 1/2
    assert ild_genres([{"A", "B"}, {"B", "C"}, {"C"}]) == pytest.approx((2 / 3 + 1 + 1 / 2) / 3)
    assert ild_genres([{"A"}, set(), {"A", "B"}]) == pytest.approx(0.5), "an item without genres is left out"
    assert ild_genres([{"A"}]) is None and ild_genres([]) is None


def test_embedding_diversity_is_the_mean_pairwise_cosine_distance():
    assert ild_embeddings(np.array([[1.0, 0.0], [2.0, 0.0]])) == pytest.approx(0.0)  # same direction
    assert ild_embeddings(np.array([[1.0, 0.0], [0.0, 3.0]])) == pytest.approx(1.0)  # orthogonal
    assert ild_embeddings(np.array([[1.0, 0.0], [-1.0, 0.0]])) == pytest.approx(2.0)  # opposite
    # three items: distances 1, 1, 0 -> 2/3
    assert ild_embeddings(np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])) == pytest.approx(2 / 3)
    assert ild_embeddings(np.ones((1, 4))) is None


def test_coverage_counts_distinct_items_over_the_pool():
    assert coverage([["a", "b"], ["b", "c"]], 10) == pytest.approx(0.3)
    assert coverage([["a"], ["a"]], 4) == pytest.approx(0.25)
    assert coverage([], 5) == 0.0


def test_novelty_is_smoothed_self_information_and_log_pop_is_ln1p():
    counts = np.array([0.0, 1.0, 2.0])  # smoothed shares 1/6, 2/6, 3/6
    assert self_information(counts) == pytest.approx([math.log2(6), math.log2(3), 1.0])
    assert log_popularity(counts) == pytest.approx([0.0, math.log(2), math.log(3)])


def _facts() -> ItemFacts:
    return ItemFacts(
        ids=["a", "b", "c", "d"],
        counts=np.array([7.0, 0.0, 0.0, 1.0]),  # total 8, smoothed over 12: shares 8/12, 1/12, 1/12, 2/12
        popularity_source="hand-made",
        genres={"a": frozenset({"Drama"}), "b": frozenset({"Drama"}), "c": frozenset({"Horror"})},
        vectors=lambda ids: np.array([{"a": [1, 0], "b": [1, 0], "c": [0, 1], "d": [0, 1]}[i] for i in ids], float),
    )


def test_metrics_of_a_system_that_always_shows_the_same_popular_pair():
    got = beyond_metrics([["a", "b", "c"], ["a", "b", "c"]], _facts(), k=2)  # cut to the top 2: a, b
    assert got["ild_genres@2"] == 0.0 and got["ild_embeddings@2"] == 0.0
    assert got["coverage@2"] == 0.5 and got["lists"] == 2
    assert got["log_pop@2"] == pytest.approx(math.log(8) / 2)
    assert got["novelty@2"] == pytest.approx((math.log2(12 / 8) + math.log2(12)) / 2)
    assert got["catalog_log_pop"] == pytest.approx((math.log(8) + math.log(2)) / 4)
    assert got["catalog_novelty"] == pytest.approx((math.log2(1.5) + 2 * math.log2(12) + math.log2(6)) / 4)
    assert "pool_coverage@2" not in got


def test_a_diverse_long_tail_system_scores_higher_diversity_and_novelty():
    popular = beyond_metrics([["a", "b"]], _facts(), k=2)
    tail = beyond_metrics([["b", "c"], ["c", "d"]], _facts(), k=2)
    assert tail["ild_genres@2"] == 1.0  # b-c: Drama vs Horror; c-d: d has no genre, so no pair (left out)
    assert tail["ild_embeddings@2"] == pytest.approx(0.5)  # b-c orthogonal, c-d identical
    assert tail["coverage@2"] == 0.75
    assert tail["novelty@2"] > popular["novelty@2"] and tail["log_pop@2"] < popular["log_pop@2"]
    facts = _facts()
    facts.pool = {"a", "b", "c"}
    assert beyond_metrics([["a", "b"]], facts, k=2)["pool_coverage@2"] == pytest.approx(2 / 3)


def test_lists_are_taken_once_per_occasion_and_cases_without_lists_are_skipped():
    cases = [
        CaseResult(variant="x", user="d1:3", target="a", rank=1, top=["a", "b"]),
        CaseResult(variant="x", user="d1:3", target="b", rank=2, top=["a", "b"]),  # same turn, second target
        CaseResult(variant="x", user="d2:1", target="c", rank=None, top=["c", "d"]),
        CaseResult(variant="old", user="u", target="a", rank=1),  # a run written before lists were kept
        *(  # a sampled protocol: each position of the target is its own list
            LLMCaseResult(variant="llm", user="u", target="a", rank=1, top=top, retriever_rank=p + 1,
                          in_candidates=True, position=p)
            for p, top in ((0, ["a", "b"]), (1, ["c", "d"]))
        ),
    ]  # fmt: skip
    assert lists_by_variant(cases) == {"x": [["a", "b"], ["c", "d"]], "llm": [["a", "b"], ["c", "d"]]}
    summary = beyond_summary(cases, _facts(), k=2)
    assert set(summary) == {"x", "llm"} and summary["x"]["lists"] == 2 and summary["x"]["coverage@2"] == 1.0


def test_lists_read_back_from_a_run_folder(tmp_path):
    cases = [
        CaseResult(variant="x", user="u1", target="a", rank=1, top=["a", "c"]),
        CaseResult(variant="x", user="u2", target="b", rank=None, top=["c", "d"]),
    ]
    (tmp_path / "cases.jsonl").write_text("".join(c.model_dump_json() + "\n" for c in cases))
    lists = run_lists(tmp_path)
    assert lists == {"x": [["a", "c"], ["c", "d"]]}
    assert beyond_metrics(lists["x"], _facts(), k=2) == beyond_summary(cases, _facts(), k=2)["x"]


def test_each_case_carries_its_lists_values_and_the_summary_is_their_mean():
    cases = [
        CaseResult(variant="x", user="u1", target="a", rank=1, top=["a", "b"]),
        CaseResult(variant="x", user="u1", target="b", rank=2, top=["a", "b"]),  # the same list, counted once
        CaseResult(variant="x", user="u2", target="c", rank=None, top=["b", "c"]),
    ]
    annotate_cases(cases, _facts(), k=2)
    assert cases[0].beyond == cases[1].beyond == pytest.approx(list_values(["a", "b"], _facts(), k=2), abs=1e-6)
    assert cases[0].beyond["ild_genres@2"] == 0.0 and cases[2].beyond["ild_genres@2"] == 1.0
    summary = beyond_summary(cases, _facts(), k=2)["x"]
    for m in ("ild_genres@2", "ild_embeddings@2", "novelty@2", "log_pop@2"):
        assert summary[m] == pytest.approx((cases[0].beyond[m] + cases[2].beyond[m]) / 2, abs=1e-6)
