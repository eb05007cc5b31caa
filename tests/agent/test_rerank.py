"""The reranker on the real bundled GGUF: valid JSON within the candidates, budget, repair, fallback."""

from __future__ import annotations

import math
import random

import pytest

from recagent.agent.backends import BackendError, LLMBackend
from recagent.agent.explain import explain
from recagent.agent.grounding import Grounding
from recagent.agent.rerank import Reranker, RerankRequest
from recagent.agent.strategies import InvalidOutput, parse_ranking
from recagent.agent.structured import CallStats
from recagent.retrieval.base import Candidate, RetrievalQuery, SourceHit
from recagent.settings import RerankSettings
from tests.support.fake_llm import FakeLLM, label_reply


@pytest.fixture(scope="module")
def pool(rec) -> list[Candidate]:
    """A pool of real candidates from the slice, to draw random candidate sets from."""
    users = rec.dataset.interactions.users
    out: dict[str, Candidate] = {}
    for u in users[:6]:
        for c in rec.hybrid.candidates(RetrievalQuery(user_id=u), k=40):
            out[c.item_id] = c
    return list(out.values())


@pytest.mark.parametrize("trials", [10, pytest.param(30, marks=pytest.mark.slow)])
def test_generative_json_is_valid_and_within_candidates_over_random_sets(llama, pool, trials):
    """The same seeded sets and checks in both tiers: the fast tier runs the first 10, the slow tier
    30; at least 90% of the replies must be usable JSON in both."""
    rng = random.Random(7)
    reranker = Reranker(llama, RerankSettings(mode="generative", candidates=12), seed=0)
    from_llm = written = 0
    for trial in range(trials):
        cands = rng.sample(pool, rng.randint(3, 10))
        k = rng.randint(1, 3)
        request = rng.choice(["", "something funny", "a thriller"])
        resp = reranker.rerank(RerankRequest(candidates=cands, request=request, k=k))
        ids = [r.item_id for r in resp.recommendations]
        assert len(ids) == k and len(set(ids)) == k, trial
        assert set(ids) <= {c.item_id for c in cands}, trial
        assert [r.rank for r in resp.recommendations] == list(range(1, k + 1))
        assert resp.prompt.name == "rerank" and resp.prompt.hash and resp.mode == "generative"
        # an explanation is the model's own words when they are grounded, else the deterministic one
        by_id, grounding = {c.item_id: c for c in cands}, Grounding(cands)
        for r in resp.recommendations:
            own = explain(by_id[r.item_id], request or None)
            assert r.explanation == own or grounding.check(r.explanation, r.item_id, request).ok, (trial, r.explanation)
            written += resp.source == "llm" and r.explanation != own
        from_llm += resp.source == "llm"
    assert from_llm >= math.ceil(0.9 * trials), f"only {from_llm}/{trials} replies were usable JSON"
    assert written > 0, "no explanation was the model's own: its words never reach the answer"


def test_scoring_mode_ranks_every_candidate_by_label_logits(llama, pool):
    cands = pool[:15]
    resp = Reranker(llama, RerankSettings(mode="scoring")).rerank(RerankRequest(candidates=cands, k=15))
    assert resp.source == "llm" and resp.mode == "scoring" and resp.tokens.completion_tokens == 0
    assert sorted(r.item_id for r in resp.recommendations) == sorted(c.item_id for c in cands)
    assert [r.score for r in resp.recommendations] == sorted((r.score for r in resp.recommendations), reverse=True)


def test_bootstrap_reranks_shuffled_permutations(llama, pool):
    calls = []

    class Counting(LLMBackend):
        name, model = "counting", llama.model

        def _complete(self, request):
            calls.append(request)
            return llama.complete(request)

        def count_tokens(self, text):
            return llama.count_tokens(text)

    cands = pool[:8]
    resp = Reranker(Counting(), RerankSettings(mode="scoring", bootstrap=3, explain="deterministic")).rerank(
        RerankRequest(candidates=cands, k=8)
    )
    assert len(calls) == 3 and resp.source == "llm"
    firsts = {c.messages[1].content.split("A. ")[1].split("\n")[0] for c in calls}
    assert len(firsts) > 1, "each permutation puts another candidate first"


def test_prompt_stays_within_budget_for_20_candidates(llama, pool):
    reranker = Reranker(llama, RerankSettings(prompt_budget=800))
    long_history = "Loves slow-burning crime dramas with moral ambiguity. " * 40
    for mode in ("generative", "scoring"):
        prompt, kept = reranker.render(
            mode, RerankRequest(candidates=pool[:20], history=long_history, request="x" * 300, k=10), pool[:20]
        )
        assert llama.count_tokens(prompt.system + prompt.user) <= 800 + 40  # chat markup not counted
        assert len(kept) == 20, "history and request shrink before any candidate is dropped"
    tight = Reranker(llama, RerankSettings(prompt_budget=250))
    prompt, kept = tight.render("generative", RerankRequest(candidates=pool[:20], k=5), pool[:20])
    assert 2 <= len(kept) < 20 and llama.count_tokens(prompt.system + prompt.user) <= 250 + 40


def test_fallback_on_timeout_with_the_real_backend(llama, pool, monkeypatch):
    monkeypatch.setattr(llama, "timeout", 0.001)  # the session's backend gets its own timeout back after the test
    resp = Reranker(llama, RerankSettings(mode="generative")).rerank(RerankRequest(candidates=pool[:6], k=3))
    assert resp.source == "fallback" and "BackendTimeout" in resp.error and resp.attempts == 2
    assert [r.item_id for r in resp.recommendations] == [c.item_id for c in pool[:3]]
    assert all(r.explanation for r in resp.recommendations)


def test_fallback_on_backend_errors(pool, fake_llm):
    fake_llm.enqueue(BackendError("503 busy"), BackendError("503 busy"))
    resp = Reranker(fake_llm).rerank(RerankRequest(candidates=pool[:5], k=3))
    assert resp.source == "fallback" and "503" in resp.error and fake_llm.calls == 2


def test_invalid_output_gets_one_repair(pool, fake_llm):
    ids = [c.item_id for c in pool[:5]]
    good = '{"recommendations": [{"item_id": "%s", "explanation": "fits"}]}' % ids[2]
    fake_llm.enqueue("this is not json", good)
    resp = Reranker(fake_llm, RerankSettings(mode="generative")).rerank(RerankRequest(candidates=pool[:5], k=3))
    assert resp.source == "llm" and resp.attempts == 2 and fake_llm.calls == 2
    assert resp.recommendations[0].item_id == ids[2]
    repair = fake_llm.history[1].messages
    assert repair[-2].role == "assistant" and "not JSON" in repair[-1].content


def test_duplicates_and_strangers_dropped_leftovers_appended(pool, fake_llm):
    ids = [c.item_id for c in pool[:5]]
    reply = (
        '{"recommendations": [{"item_id": "%s", "explanation": "a"}, {"item_id": "not-a-candidate", "explanation": "b"},'
        ' {"item_id": "%s", "explanation": "c"}, {"item_id": "%s", "explanation": "d"}]}' % (ids[3], ids[3], ids[1])
    )
    resp = Reranker(fake_llm.enqueue(reply), RerankSettings(mode="generative")).rerank(
        RerankRequest(candidates=pool[:5], k=4)
    )
    assert [r.item_id for r in resp.recommendations] == [ids[3], ids[1], ids[0], ids[2]]
    assert resp.recommendations[0].explanation == "a"


def test_parse_ranking_rejects_non_candidates():
    with pytest.raises(InvalidOutput, match="none|no item_id"):
        parse_ranking('{"recommendations": [{"item_id": "zzz", "explanation": ""}]}', ["1", "2"])
    with pytest.raises(InvalidOutput, match="wrong shape"):
        parse_ranking('{"recs": []}', ["1"])


def test_fallback_explanations_name_the_liked_item():
    cand = Candidate(
        item_id="1",
        title="Ronin (1998)",
        year=1998,
        genres=["Action", "Crime"],
        score=0.1,
        sources={"vector": SourceHit(rank=1, score=0.8)},
        anchor_id="6",
        anchor_title="Heat (1995)",
    )
    resp = Reranker(None).rerank(RerankRequest(candidates=[cand], k=1))
    assert resp.source == "retrieval"
    assert resp.recommendations[0].explanation == "Similar to Heat (1995), which you liked (Action, Crime; 1998)."


def test_scoring_mode_can_have_the_llm_explain_its_ranking(llama, pool, monkeypatch):
    reranker = Reranker(llama, RerankSettings(mode="scoring", explain="llm"))
    monkeypatch.setattr(llama, "timeout", 300)  # this checks the explanation path, not the clock
    resp = reranker.rerank(RerankRequest(candidates=pool[:8], request="something exciting", k=3))
    assert resp.source == "llm" and resp.mode == "scoring" and len(resp.recommendations) == 3
    assert resp.tokens.completion_tokens > 0, "the explanation call generated text"
    assert resp.attempts == 2 and all(r.explanation for r in resp.recommendations)


def test_llm_explanations_are_validated(pool, fake_llm):
    ids = [c.item_id for c in pool[:4]]
    reply = '{"explanations": [{"item_id": "stranger", "explanation": "no"}, {"item_id": "%s", "explanation": "  Tense   and fun. "}]}'
    fake_llm.enqueue(reply % ids[0], "not json")
    reranker = Reranker(fake_llm, RerankSettings(explain="llm"))
    words = reranker.explain_with_llm(RerankRequest(candidates=pool[:4]), pool[:4], CallStats())
    assert words == {ids[0]: "Tense and fun."} and fake_llm.calls == 1
    assert reranker.explain_with_llm(RerankRequest(candidates=pool[:4]), pool[:4], CallStats()) == {}
    assert fake_llm.calls == 2, "an invalid explanation reply is dropped, not repaired"


def label_biased(appeal: dict[str, float]) -> FakeLLM:
    """Label log-probabilities = a strong preference for early letters + each title's true appeal.

    It reads which title sits behind which letter from the prompt, as a real model would see it."""
    return FakeLLM(default=label_reply(lambda i, label, title: -2.0 * i + appeal.get(title, 0.0)), name="label-biased")


def test_bootstrap_calibrates_away_the_label_bias():
    """A model that loves "A": one pass picks whatever is first; three calibrated shuffles find the best title."""
    cands = [Candidate(item_id=str(i), title=f"Film {i}", genres=["Drama"], score=1.0) for i in range(8)]
    appeal = {f"Film {i}": 0.0 for i in range(8)} | {"Film 5": 3.0}
    one = Reranker(label_biased(appeal), RerankSettings(mode="scoring", explain="deterministic"))
    assert one.rerank(RerankRequest(candidates=cands, k=8)).recommendations[0].item_id == "0"
    boot = one.rerank(RerankRequest(candidates=cands, k=8), bootstrap=3)
    assert boot.recommendations[0].item_id == "5" and boot.attempts == 3
    # equal retrieval scores: the LLM's log-probabilities order the whole list, not only its top pick
    single = one.rerank(RerankRequest(candidates=cands, k=8))
    assert [r.item_id for r in single.recommendations] == ["0", "1", "2", "3", "5", "4", "6", "7"]
    strong = {f"Film {i}": 3.0 * i for i in range(8)}  # appeal beats the letter bias (2 per letter)
    ranked = Reranker(label_biased(strong), RerankSettings(mode="scoring")).rerank(RerankRequest(candidates=cands, k=8))
    assert [r.item_id for r in ranked.recommendations] == [str(i) for i in range(7, -1, -1)]
