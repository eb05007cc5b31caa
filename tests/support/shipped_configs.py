"""Every shipped eval config runs (CI smoke, slow tier): each on two users, LLM variants included; a missing
dataset skips. The configs are split over two files by protocol family, so that pytest-xdist (``--dist
loadfile``) runs the two halves on two workers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from recagent.cli.app import app
from recagent.evals.config import load_config
from tests.support.data import SHARED_DATA

CONFIGS = Path(__file__).resolve().parents[2] / "evals" / "configs"
runner = CliRunner()


def configs(redial: bool) -> list[str]:
    """The shipped configs of the ReDial protocols (``redial=True``) or of the MovieLens ones."""
    names = sorted(p.name for p in CONFIGS.glob("*.yaml"))
    return [n for n in names if ("redial" in n) == redial]


def run_shipped_config(config: str, tmp_path: Path, data_dir: Path) -> None:
    cfg = load_config(CONFIGS / config)
    res = runner.invoke(
        app,
        [
            "eval", "run", str(CONFIGS / config), "--users", "2", "--out", str(tmp_path / "r"),
            "--data-dir", str(data_dir), "--shared-data", str(SHARED_DATA), "--json",
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    if "skipped" in res.stderr:
        pytest.skip(res.stderr.strip())
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert set(summary["variants"]) == {v.name for v in cfg.variants}
    for values in summary["variants"].values():
        assert all(0 <= values[m] <= 1 for m in cfg.metrics)
