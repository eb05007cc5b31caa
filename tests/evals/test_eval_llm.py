"""LLM variants in the eval harness: reply checks, LLM metrics, the response cache and resume,
`eval compare`, the sampled-20 protocol's position bias, and a smoke run of every protocol."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from recagent.agent.backends.base import BackendTimeout
from recagent.agent.backends.caching import CachingBackend
from recagent.agent.cache import DiskCache
from recagent.agent.rerank import Reranker, RerankRequest
from recagent.agent.schema import ReplyCheck
from recagent.cli.app import app
from recagent.errors import ConfigError
from recagent.evals.compare import compare
from recagent.evals.config import load_config
from recagent.evals.llm import (
    LLMCaseResult,
    Price,
    RerankJob,
    RerankSpec,
    case_from_response,
    llm_metrics,
    run_jobs,
)
from recagent.retrieval.base import Candidate
from recagent.settings import RerankSettings
from tests.support.data import SHARED_DATA, shared_dataset
from tests.support.fake_llm import FakeLLM

runner = CliRunner()
CONFIGS = Path(__file__).resolve().parents[2] / "evals" / "configs"


def cands(n: int = 4) -> list[Candidate]:
    return [
        Candidate(item_id=str(i), title=f"Movie {i} (1999)", genres=["Drama"], score=1.0 / i) for i in range(1, n + 1)
    ]


def ranking(*ids: str) -> str:
    return json.dumps({"recommendations": [{"item_id": i, "explanation": "fits"} for i in ids]})


# --------------------------------------------------------------------------- what the reranker records


def test_reply_checks_count_out_of_candidate_and_duplicate_items(fake_llm):
    fake_llm.enqueue(ranking("2", "99", "2", "1"))
    resp = Reranker(fake_llm, RerankSettings(mode="generative")).rerank(RerankRequest(candidates=cands(), k=4))
    assert resp.source == "llm"
    assert resp.checks == [ReplyCheck(valid=True, returned=4, out_of_candidate=1, duplicates=1)]
    assert [r.item_id for r in resp.recommendations] == ["2", "1", "3", "4"]  # cleaned, then retrieval order


def test_fallback_keeps_the_last_raw_reply_and_every_check(fake_llm):
    fake_llm.enqueue("not json at all", '{"recommendations": [{"item_id": "nope"}]}')
    resp = Reranker(fake_llm, RerankSettings(mode="generative")).rerank(RerankRequest(candidates=cands(), k=4))
    assert resp.source == "fallback" and resp.raw_output == '{"recommendations": [{"item_id": "nope"}]}'
    assert [c.valid for c in resp.checks] == [False, False]
    assert resp.checks[0].error.startswith("invalid output: not JSON")
    assert resp.checks[1].out_of_candidate == 1 and resp.checks[1].returned == 1
    assert fake_llm.calls == 2
    # the eval report keeps it; the response never serialises it (no HTTP client sees it)
    base = {"variant": "v", "user": "u", "target": "1", "retriever_rank": 1, "in_candidates": True}
    kept = case_from_response(base, resp, 1)
    assert kept.raw_output == resp.raw_output and "nope" in kept.model_dump_json()
    assert "raw_output" not in resp.model_dump() and "nope" not in resp.model_dump_json()
    slow = FakeLLM(default=BackendTimeout("slow"))
    resp = Reranker(slow, RerankSettings(mode="generative")).rerank(RerankRequest(candidates=cands(), k=4))
    assert resp.source == "fallback" and resp.raw_output is None and len(resp.checks) == 2 and slow.calls == 2


# --------------------------------------------------------------------------- metrics


def case(rank, before, checks, source="llm", latency=100.0, inside=True, called=True):
    return LLMCaseResult(
        variant="v",
        user=str(id(checks)),
        target="t",
        rank=rank,
        retriever_rank=before,
        in_candidates=inside,
        llm_called=called,
        source=source,
        model="m",
        latency_ms=latency,
        prompt_tokens=1000,
        completion_tokens=50,
        checks=checks,
    )


def test_llm_metrics_by_hand():
    ok = ReplyCheck(valid=True, returned=10)
    cases = [
        case(1, 3, [ok], latency=100),  # improved
        case(5, 2, [ReplyCheck(valid=True, returned=10, out_of_candidate=2, duplicates=1)], latency=200),  # worse
        case(4, 4, [ReplyCheck(valid=False, error="x"), ReplyCheck(valid=False)], "fallback", latency=300),  # kept
        case(30, 30, [], inside=False, called=False, latency=0),  # outside the candidates: no call, kept
    ]
    m = llm_metrics(cases, {"m": Price(prompt=2.0, completion=10.0)})
    assert m["llm_cases"] == 3 and m["calls"] == 4
    assert m["json_validity"] == 0.5
    assert m["out_of_candidate_rate"] == pytest.approx(2 / 20) and m["duplicate_rate"] == pytest.approx(1 / 20)
    assert m["fallback_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert m["latency_p50_ms"] == 200 and m["latency_p95_ms"] == 290
    assert m["prompt_tokens"] == 3000 and m["completion_tokens"] == 150
    assert m["cost_usd"] == pytest.approx((3000 * 2 + 150 * 10) / 1e6)
    assert (m["improved"], m["kept"], m["worsened"]) == (0.25, 0.5, 0.25)
    assert m["improved_in_candidates"] == pytest.approx(1 / 3, abs=1e-4)
    assert llm_metrics(cases)["cost_usd"] is None  # no price for the model: a local model, shown as such


# --------------------------------------------------------------------------- cache and resume


def test_cache_replays_identical_requests_and_never_caches_errors(tmp_path):
    inner = FakeLLM(ranking("1", "2"), ranking("2", "1"))
    cached = CachingBackend(inner, DiskCache(tmp_path / "c.sqlite"))
    reranker = Reranker(cached, RerankSettings(mode="generative"))
    first = reranker.rerank(RerankRequest(candidates=cands(), k=4))
    again = Reranker(cached, RerankSettings(mode="generative")).rerank(RerankRequest(candidates=cands(), k=4))
    assert inner.calls == 1 and cached.hits == 1
    assert [r.item_id for r in first.recommendations] == [r.item_id for r in again.recommendations]
    assert first.llm_latency_ms == again.llm_latency_ms  # the measured latency is replayed
    other = reranker.rerank(RerankRequest(candidates=cands(), k=4, request="something else"))
    assert inner.calls == 2 and other.recommendations[0].item_id == "2"  # a different prompt is a miss
    # a fresh cache object on the same file still has both replies (it is on disk)
    reopened = CachingBackend(FakeLLM(), DiskCache(tmp_path / "c.sqlite"))  # any call to it fails the test
    assert (
        Reranker(reopened, RerankSettings(mode="generative")).rerank(RerankRequest(candidates=cands(), k=4)).source
        == "llm"
    )
    flaky = CachingBackend(FakeLLM(BackendTimeout("slow"), BackendTimeout("slow")), DiskCache(tmp_path / "d.sqlite"))
    assert (
        Reranker(flaky, RerankSettings(mode="generative")).rerank(RerankRequest(candidates=cands(), k=4)).source
        == "fallback"
    )
    assert len(DiskCache(tmp_path / "d.sqlite")) == 0


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path, llama):
    """The real bundled model: stop after 3 of 6 cases, re-run, and only the other 3 reach llama.cpp."""
    spec = RerankSpec(mode="scoring", candidates=6)
    jobs = [
        RerankJob(
            base=dict(variant="v", user=str(u), target=str(u), retriever_rank=1, in_candidates=True),
            candidates=cands(6)[u:] + cands(6)[:u],
            history=f"Mostly watches Drama. Recently: Movie {u} (1999).",
        )
        for u in range(6)
    ]

    def make():
        backend = CachingBackend(llama, DiskCache(tmp_path / "cache.sqlite"))
        return backend, Reranker(backend, RerankSettings(mode="scoring", candidates=6, explain="deterministic"))

    class Stop(Exception):
        pass

    seen = []

    def stop_after_three(c):
        seen.append(c)
        if len(seen) == 3:
            raise Stop

    backend, reranker = make()
    with pytest.raises(Stop):
        run_jobs(spec, reranker, jobs, "first", show_progress=False, on_case=stop_after_three)
    assert backend.misses == 3
    backend, reranker = make()
    resumed = run_jobs(spec, reranker, jobs, "resumed", show_progress=False)
    assert (backend.hits, backend.misses) == (3, 3)
    assert [c.rank for c in resumed[:3]] == [c.rank for c in seen]
    backend, reranker = make()
    replay = run_jobs(spec, reranker, jobs, "replay", show_progress=False)
    assert (backend.hits, backend.misses) == (6, 0)
    assert [c.model_dump() for c in replay] == [c.model_dump() for c in resumed]


# --------------------------------------------------------------------------- configs


def test_llm_config_errors_are_clear(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\nprotocol: demo\nvariants:\n  - {name: a, retriever: als, rerank: {template: rerank_poetry}}\n"
    )
    with pytest.raises(ConfigError, match="unknown prompt template 'rerank_poetry'"):
        load_config(bad)
    bad.write_text("name: x\nprotocol: demo\nvariants:\n  - {name: a, retriever: als, rerank: {template_version: 9}}\n")
    with pytest.raises(ConfigError, match="has no version 9"):
        load_config(bad)
    bad.write_text("name: x\nprotocol: demo\nvariants:\n  - {name: a, retriever: als, rerank: {bootsrap: 3}}\n")
    with pytest.raises(ConfigError, match="bootsrap"):
        load_config(bad)
    bad.write_text("name: x\nprotocol: ml100k-sampled20\npositions: [0, 20]\nvariants: [{name: a, retriever: als}]\n")
    with pytest.raises(ConfigError, match=r"positions \[20\]"):
        load_config(bad)
    for path in sorted(CONFIGS.glob("*.yaml")):  # every shipped config is valid
        assert load_config(path).variants


# --------------------------------------------------------------------------- compare


def write_run(folder: Path, protocol: str, variants: dict, cases: list[dict]) -> Path:
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps({"protocol": protocol, "variants": variants}))
    (folder / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    return folder


def test_compare_two_runs(tmp_path):
    a = write_run(
        tmp_path / "a",
        "demo",
        {"hybrid": {"ndcg@10": 0.5, "recall@10": 0.5, "users": 2}},
        [
            {"variant": "hybrid", "user": "1", "target": "x", "rank": 1},
            {"variant": "hybrid", "user": "2", "target": "y", "rank": None},
        ],
    )
    b = write_run(
        tmp_path / "b",
        "demo",
        {"hybrid": {"ndcg@10": 0.75, "recall@10": 1.0, "users": 2}, "other": {"ndcg@10": 0.0}},
        [
            {"variant": "hybrid", "user": "1", "target": "x", "rank": 1},
            {"variant": "hybrid", "user": "2", "target": "y", "rank": 3},
        ],
    )
    result = compare(a, b)
    [row] = result.rows
    assert row.metrics["ndcg@10"] == (0.5, 0.75, 0.25) and row.metrics["recall@10"] == (0.5, 1.0, 0.5)
    assert (row.paired_cases, row.b_better, row.same, row.b_worse) == (2, 1, 1, 0)
    assert row.delta_ci95[0] >= 0 and row.delta_ci95[1] == pytest.approx(0.5, abs=1e-3)
    res = runner.invoke(app, ["eval", "compare", str(a), str(b), "--out", str(tmp_path / "cmp.md")])
    assert res.exit_code == 0, res.output
    assert "+0.2500" in res.output and "B better 1" in res.output
    assert "| ndcg@10 | 0.5000 | 0.7500 | +0.2500 |" in (tmp_path / "cmp.md").read_text()
    res = runner.invoke(app, ["eval", "compare", str(a), str(b), "--pair", "hybrid=nothing"])
    assert res.exit_code == 1 and "run B has no variant 'nothing'" in res.stderr
    res = runner.invoke(app, ["eval", "compare", str(a), str(tmp_path / "nowhere")])
    assert res.exit_code == 1 and "not an eval run" in res.stderr


# --------------------------------------------------------------------------- real runs


def test_demo_llm_variant_end_to_end_and_rerun_is_identical(tmp_path, data_dir):
    """The bundled model reranks ALS's top 20 on the demo protocol; a re-run replays every reply."""
    cfg = tmp_path / "llm.yaml"
    cfg.write_text(
        "name: demo llm\nprotocol: demo\nusers: 4\nmetrics: [recall@20, ndcg@20]\n"
        "variants:\n  - {name: als, retriever: als}\n"
        "  - {name: als+llm, retriever: als, rerank: {mode: scoring, candidates: 8, rerank_all: true, llm_weight: 0.5}}\n"
    )
    args = ["eval", "run", str(cfg), "--data-dir", str(data_dir), "--json"]
    res = runner.invoke(app, [*args, "--out", str(tmp_path / "r1")])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "r1" / "summary.json").read_text())["variants"]
    llm = summary["als+llm"]
    assert llm["llm_cases"] == 4 and llm["calls"] == 4 and llm["json_validity"] == 1.0 and llm["fallback_rate"] == 0
    assert llm["prompt_tokens_mean"] > 100 and llm["latency_p50_ms"] > 0 and llm["cost_usd"] is None
    assert llm["improved"] + llm["kept"] + llm["worsened"] == pytest.approx(1.0)
    cases = [json.loads(line) for line in (tmp_path / "r1" / "cases.jsonl").read_text().splitlines()]
    llm_cases = [c for c in cases if c["variant"] == "als+llm"]
    for c in llm_cases:  # outside the 8 candidates, the retriever's rank is kept
        if not c["in_candidates"]:
            assert c["rank"] == c["retriever_rank"]
        assert c["prompt"].startswith("rerank_scoring@v1#") and c["checks"][0]["valid"]
    als_top = {c["user"]: c["top"] for c in cases if c["variant"] == "als"}
    for c in llm_cases:  # the reranked list: a reordering of the retriever's top 8, cut to 10
        assert sorted(c["top"]) == sorted(als_top[c["user"]][:8])
    assert json.loads((tmp_path / "r1" / "summary.json").read_text())["beyond"]["als+llm"]["lists"] == 4
    report = (tmp_path / "r1" / "report.md").read_text()
    assert "## What the LLM did" in report and "| als+llm | 4 | 4 | 100.0% |" in report
    assert (tmp_path / "r1" / "latency.png").stat().st_size > 5000
    res = runner.invoke(app, [*args, "--out", str(tmp_path / "r2")])
    assert res.exit_code == 0, res.output
    again = json.loads((tmp_path / "r2" / "summary.json").read_text())["variants"]
    for v in (summary, again):
        for values in v.values():
            values.pop("seconds")
    assert again == summary


def test_sampled20_reports_position_bias(tmp_path, data_dir):
    shared_dataset("ml-100k")
    cfg = tmp_path / "s.yaml"
    cfg.write_text(
        "name: sampled smoke\nprotocol: ml100k-sampled20\nusers: 3\npositions: [0, 19]\n"
        "variants:\n  - {name: popularity, retriever: popularity}\n"
        "  - {name: llm, retriever: popularity, rerank: {mode: scoring, llm_weight: 1.0}}\n"
    )
    out = tmp_path / "run"
    res = runner.invoke(
        app,
        [
            "eval",
            "run",
            str(cfg),
            "--out",
            str(out),
            "--data-dir",
            str(data_dir),
            "--shared-data",
            str(SHARED_DATA),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["variants"]["llm"]) >= {"ndcg@1", "ndcg@5", "ndcg@10", "json_validity"}
    bias = summary["position_bias"]
    assert set(bias) == {"llm", "(order shown)"} and set(bias["llm"]) == {"0", "19"}
    assert bias["(order shown)"]["0"]["ndcg@1"] == 1.0 and bias["(order shown)"]["19"]["ndcg@10"] == 0.0
    cases = [json.loads(line) for line in (out / "cases.jsonl").read_text().splitlines()]
    llm = [c for c in cases if c["variant"] == "llm"]
    assert len(llm) == 6 and sorted({c["position"] for c in llm}) == [0, 19]
    assert all(1 <= c["rank"] <= 20 for c in cases)
    for c in cases:  # the top 10 of the 20 candidates, in the system's order
        assert len(c["top"]) == 10 and (c["rank"] <= 10) == (c["target"] in c["top"])
    beyond = summary["beyond"]
    assert beyond["popularity"]["lists"] == 3 and beyond["llm"]["lists"] == 6  # one list per target position
    assert 0 < beyond["llm"]["pool_coverage@10"] <= 1 and beyond["llm"]["coverage@10"] <= 60 / 1682
    assert "## Position bias" in (out / "report.md").read_text()
    assert (out / "position_bias.png").stat().st_size > 5000
