"""ml-latest-small-loo: LlamaRec's "ML-100k" data and split, on the bundled ml-latest-small."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from recagent.cli.app import app
from recagent.evals.config import load_config
from recagent.evals.protocols import get_protocol
from recagent.evals.protocols.loo import dataset_stats
from recagent.evals.protocols.ml_latest_small import MAX_HISTORY, five_core, load_ml_latest_small_5core
from recagent.evals.retrievers import RetrieverBench, RetrieverVariant
from recagent.retrieval.loaders import load_dataset

runner = CliRunner()
PROTOCOL = get_protocol("ml-latest-small-loo")


@pytest.fixture(scope="module")
def dataset():
    return load_ml_latest_small_5core()


@pytest.fixture(scope="module")
def split(dataset):
    return PROTOCOL.split(dataset)


def test_dataset_statistics_are_llamarecs(dataset):
    # LlamaRec's Table 2 for "ML-100k": 610 users, 3,650 items (ml-latest-small, 5-core)
    assert dataset_stats(dataset.interactions) == {"users": 610, "items": 3650, "interactions": 90274}
    log = dataset.interactions
    assert np.bincount(log.user_positions).min() >= 5
    assert np.bincount(log.item_positions, minlength=len(dataset.catalog)).min() >= 5
    assert len(set(zip(log.user_positions.tolist(), log.item_positions.tolist()))) == len(log)


def test_five_core_is_iterative():
    # item 12 has one interaction; without it user 3 has one, so user 3 goes, and then item 13 has one
    users = np.array([1, 1, 1, 2, 2, 3, 3, 4, 4])
    items = np.array([10, 11, 13, 10, 11, 12, 13, 10, 11])
    keep = five_core(users, items, min_user=2, min_item=2)
    assert keep.tolist() == [True, True, False, True, True, False, False, True, True]
    assert not five_core(users, items, min_user=2, min_item=5).any()


def test_items_are_renumbered_as_llamarec_and_ties_follow_that_number(dataset, split):
    full = load_dataset("bundled")
    raw_order = [int(full.catalog.ids[p]) for p in full.interactions.item_positions]  # ratings.csv row order
    kept = {int(i) for i in dataset.catalog.ids}
    assert [int(i) for i in dataset.catalog.ids] == list(set(m for m in raw_order if m in kept))
    log = dataset.interactions
    ties = 0
    for user in log.users:
        h = log.history(user)
        last = np.flatnonzero(h.timestamps == h.timestamps[-1])
        ties += len(last) > 1
        # among the items rated in the same second as the last one, the highest LlamaRec number is the test target
        assert split.test[user] == h.item_positions[last].max()
        assert split.valid[user] == h.item_positions[-2]
    assert ties > 50, "ml-latest-small has many same-second ratings: the tie rule decides those splits"


def test_models_fit_on_train_and_see_at_most_200_input_items(split):
    fit_log, targets = split.stage("test")
    assert fit_log is split.train and targets is split.test
    assert split.stage("valid")[0] is split.train
    inputs = split.inputs("test")
    counts = np.bincount(inputs.user_positions)
    assert counts.max() == MAX_HISTORY and (np.bincount(split.train_valid.user_positions) > MAX_HISTORY).any()
    for user in inputs.users[:50]:
        seen = inputs.history(user).item_positions
        assert seen[-1] == split.valid[user], "the validation item is the latest input at test time"
        assert seen.tolist() == split.train_valid.history(user).item_positions[-MAX_HISTORY:].tolist()


def test_rankings_use_the_input_only(split, tmp_path):
    bench = RetrieverBench(split, "test", tmp_path, None, show_progress=False)
    assert bench.popularity.counts.sum() == pytest.approx(len(split.train))  # counts from train, not valid
    long_user = max(bench.log.users, key=lambda u: len(split.train_valid.seen_positions(u)))
    inputs = set(bench.log.seen_positions(long_user).tolist())
    older = set(split.train_valid.seen_positions(long_user).tolist()) - inputs
    assert len(inputs) == MAX_HISTORY and older
    small = {"ease": {"max_items": 800}, "sequential": {"max_items": 800}}  # small solves: seconds
    for kind in ("als", "ease", "sequential"):
        variant = RetrieverVariant(name=kind, retriever=kind, **small)
        ranked = set(bench.ranking(variant, long_user, depth=500).positions.tolist())
        assert not ranked & inputs, f"{kind} ranked an input item"


def test_a_small_run_reports_the_dataset_and_the_anchors(tmp_path):
    cfg = tmp_path / "small.yaml"
    cfg.write_text(
        "name: mlsmall smoke\nprotocol: ml-latest-small-loo\nusers: 60\nmetrics: [ndcg@10, recall@10]\n"
        "variants:\n  - {name: popularity, retriever: popularity}\n"
        "  - {name: next-item, retriever: sequential, sequential: {max_items: 800}}\n"
        "  - name: hybrid-no-vector\n    retriever: hybrid\n    users: 30\n    fusion: {vector_weight: 0}\n"
        "    ease: {max_items: 800}\n    sequential: {max_items: 800}\n"
    )
    out = tmp_path / "run"
    res = runner.invoke(app, ["eval", "run", str(cfg), "--out", str(out), "--data-dir", str(tmp_path / "d")])
    assert res.exit_code == 0, res.output
    assert "610 users, 3,650 items, 90,274 interactions" in res.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["dataset"] == {"users": 610, "items": 3650, "interactions": 90274}
    assert summary["anchors"]["LlamaRec"] == {"ndcg@10": 0.0759, "recall@10": 0.1524}
    v = summary["variants"]
    assert v["popularity"]["users"] == 60 and v["hybrid-no-vector"]["users"] == 30
    assert v["next-item"]["ndcg@10"] > v["popularity"]["ndcg@10"]
    report = (out / "report.md").read_text()
    assert "Dataset: 610 users, 3,650 items, 90,274 interactions." in report and "LlamaRec: ndcg@10 0.0759" in report


def test_the_configs_load():
    for name in ("ml-latest-small-loo", "ml-latest-small-loo-valid"):
        cfg = load_config(f"evals/configs/{name}.yaml")
        assert cfg.protocol == "ml-latest-small-loo"
    assert load_config("evals/configs/ml-latest-small-loo-valid.yaml").stage == "valid"
    assert not get_protocol("ml100k-loo").anchors, "LlamaRec's figures are not on ML-100K"
