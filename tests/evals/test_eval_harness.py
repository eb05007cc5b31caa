"""The eval harness end to end on real data: config errors, a demo run and its report files."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from recagent.cli.app import app
from recagent.errors import ConfigError
from recagent.evals.config import load_config
from tests.support.data import SHARED_DATA, shared_dataset

runner = CliRunner()


def test_config_errors_are_clear(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nprotocol: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    bad.write_text("name: x\nprotocol: movielens-1b\nvariants: [{name: a, retriever: als}]\n")
    with pytest.raises(ConfigError, match="unknown protocol 'movielens-1b'"):
        load_config(bad)
    bad.write_text("name: x\nprotocol: demo\nvariants: [{name: a, retriever: deep-magic}]\n")
    with pytest.raises(ConfigError, match="variants.0.retriever"):
        load_config(bad)
    bad.write_text("name: x\nprotocol: demo\nmetrics: [hits@10]\nvariants: [{name: a, retriever: als}]\n")
    with pytest.raises(ConfigError, match="unknown metric 'hits@10'"):
        load_config(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    res = runner.invoke(app, ["eval", "run", str(tmp_path / "missing.yaml")])
    assert res.exit_code == 1 and "eval config not found" in res.stderr


def test_demo_run_writes_its_report(tmp_path, data_dir):
    cfg = tmp_path / "demo.yaml"
    cfg.write_text(
        "name: demo smoke\nprotocol: demo\nusers: 40\nmetrics: [recall@10, ndcg@10]\n"
        "variants:\n  - {name: popularity, retriever: popularity}\n  - {name: als, retriever: als}\n"
    )
    out = tmp_path / "run"
    res = runner.invoke(app, ["eval", "run", str(cfg), "--out", str(out), "--data-dir", str(data_dir), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["variants"]) == {"popularity", "als"}
    for values in summary["variants"].values():
        assert values["users"] == 40 and 0 <= values["ndcg@10"] <= values["recall@10"] <= 1
    cases = [json.loads(line) for line in (out / "cases.jsonl").read_text().splitlines()]
    assert len(cases) == 80 and {c["variant"] for c in cases} == {"popularity", "als"}
    report = (out / "report.md").read_text()
    assert "| popularity |" in report and "| als |" in report and "ndcg@10" in report
    assert (out / "metrics.png").stat().st_size > 5000
    # beyond accuracy: each case keeps its top 10 ids, the summary and the report their metrics
    assert all(len(c["top"]) == len(set(c["top"])) == 10 for c in cases)
    for c in cases:  # the target's rank, where it is in the top 10, is its place in the kept list
        assert (c["rank"] is not None and c["rank"] <= 10) == (c["target"] in c["top"])
    beyond = summary["beyond"]
    pop, als = beyond["popularity"], beyond["als"]
    assert pop["lists"] == als["lists"] == 40
    assert pop["coverage@10"] < als["coverage@10"] <= 400 / summary["dataset"]["items"]
    assert pop["log_pop@10"] > als["log_pop@10"] > als["catalog_log_pop"], "ALS leans popular, less than popularity"
    assert pop["novelty@10"] < als["novelty@10"] < als["catalog_novelty"]
    for v in (pop, als):
        assert 0 < v["ild_genres@10"] <= 1 and 0 < v["ild_embeddings@10"] < 1
    assert "training log" in summary["beyond_facts"]["popularity"]
    assert "## Beyond accuracy (top 10)" in report and "| *(catalog mean)* |" in report
    res = runner.invoke(app, ["eval", "compare", str(out), str(out), "--pair", "popularity=als", "--json"])
    assert res.exit_code == 0, res.output
    row = json.loads(res.stdout)["rows"][0]
    assert row["beyond"]["coverage@10"] == [pop["coverage@10"], als["coverage@10"], pytest.approx(
        als["coverage@10"] - pop["coverage@10"], abs=1e-6)]  # fmt: skip
    lo, hi = row["beyond_ci95"]["log_pop@10"]  # per-list metrics are paired case by case, coverage is not
    assert lo <= als["log_pop@10"] - pop["log_pop@10"] <= hi < 0 and "coverage@10" not in row["beyond_ci95"]
    assert all(set(c["beyond"]) == {"ild_genres@10", "ild_embeddings@10", "novelty@10", "log_pop@10"} for c in cases)
    md = tmp_path / "compare.md"
    res = runner.invoke(app, ["eval", "compare", str(out), str(out), "--pair", "popularity=als", "--out", str(md)])
    assert "ild_genres@10 (beyond)" in res.stdout and "ndcg@10" in res.stdout
    assert "| metric | A | B | B - A | 95% interval |" in md.read_text() and "| coverage@10 |" in md.read_text()


@pytest.mark.slow  # the full ml100k-loo protocol: 943 users
def test_ml100k_loo_matches_the_published_popularity_anchor(tmp_path):
    shared_dataset("ml-100k")
    cfg = tmp_path / "loo.yaml"
    cfg.write_text(
        "name: loo\nprotocol: ml100k-loo\nmetrics: [ndcg@10, recall@10]\nvariants: [{name: pop, retriever: popularity}]\n"
    )
    res = runner.invoke(
        app, ["eval", "run", str(cfg), "--out", str(tmp_path / "r"), "--shared-data", str(SHARED_DATA), "--json"]
    )
    assert res.exit_code == 0, res.output
    pop = json.loads((tmp_path / "r" / "summary.json").read_text())["variants"]["pop"]
    assert pop["users"] == 943
    assert pop["ndcg@10"] == pytest.approx(0.026, abs=0.004), "the protocol's sanity anchor for popularity"


def test_missing_dataset_is_a_skip_not_a_crash(tmp_path):
    cfg = tmp_path / "loo.yaml"
    cfg.write_text("name: loo\nprotocol: ml100k-loo\nvariants: [{name: pop, retriever: popularity}]\n")
    res = runner.invoke(app, ["eval", "run", str(cfg), "--shared-data", str(tmp_path / "nowhere")])
    assert res.exit_code == 0 and "skipped" in res.stderr and "absent" in res.stderr
