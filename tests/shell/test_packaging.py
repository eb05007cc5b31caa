"""The built wheel installs one top-level name, ``recagent``, and runs in a fresh venv.

The card's folders (``agent/``, ``retrieval/``, ``prompts/``, ``evals/``) are generic import names
(``evals`` is also OpenAI's evals package): installed as top-level packages they would shadow, or be
shadowed by, other projects. They ship as ``recagent.agent`` and so on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        cwd=out,
    )
    (whl,) = out.glob("recagent-*.whl")
    return whl


def test_wheel_has_only_the_recagent_top_level(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith((".dist-info", ".data"))}
    assert top == {"recagent"}
    for sub in ("agent", "retrieval", "prompts", "evals", "server"):
        assert f"recagent/{sub}/__init__.py" in names, sub
    # package data travels with its subpackage
    assert "recagent/retrieval/data/ml-latest-small/movies.csv" in names
    assert any(n.startswith("recagent/prompts/templates/") and n.endswith(".yaml") for n in names)
    assert any(n.startswith("recagent/evals/configs/") and n.endswith(".yaml") for n in names)
    # the eval data the harness reads at run time (understanding labels, critique probes)
    assert "recagent/evals/data/understanding/labels.jsonl" in names
    assert "recagent/evals/data/understanding/heldout.jsonl" in names
    assert "recagent/evals/data/critique_probes.yaml" in names
    assert "recagent/server/static/index.html" in names
    for meta in (n for n in names if n.endswith(".dist-info/top_level.txt")):
        assert zipfile.ZipFile(wheel).read(meta).decode().split() == ["recagent"]


def purelib(py: Path) -> Path:
    """The site-packages folder of the interpreter ``py``."""
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return Path(subprocess.run([str(py), "-c", code], check=True, capture_output=True, text=True).stdout.strip())


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel itself; its dependencies come from this environment's site-packages
    through a plain path line (no editable finder of the checkout is loaded). Returns the venv folder."""
    tmp_path = tmp_path_factory.mktemp("installed")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    py = env_dir / "bin" / "python"
    site = purelib(py)
    # every site-packages folder this interpreter sees (a venv's own, and any a .pth line adds)
    parents = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    (site / "_deps_from_parent.pth").write_text("\n".join(dict.fromkeys([sysconfig.get_paths()["purelib"], *parents])) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q", str(wheel)],
        check=True, capture_output=True, cwd=tmp_path,
    )
    return env_dir


def test_the_installed_wheel_runs_the_understanding_eval_outside_the_checkout(installed, tmp_path):
    """`recagent eval understanding` reads its labels from the package data, so it runs from the wheel alone."""
    env = {**os.environ, "RECAGENT_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}
    run = subprocess.run(
        [str(installed / "bin" / "recagent"), "eval", "understanding", "--reader", "parser", "--limit", "25",
         "--out", str(tmp_path / "run")],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert "parser" in json.dumps(summary)
    assert (tmp_path / "run" / "report.md").read_text().startswith("# Understanding")


def test_wheel_installs_and_runs_in_a_fresh_venv(installed, tmp_path):
    py = installed / "bin" / "python"
    site = purelib(py)
    # run from a folder outside the checkout, so nothing of the repository is on the path
    probe = subprocess.run(
        [str(py), "-c", "import recagent.agent, recagent.retrieval.loaders as l; print(recagent.agent.__file__); "
         "print(l.BUNDLED_CATALOG.exists())"],
        check=True, capture_output=True, text=True, cwd=tmp_path,
    ).stdout.split()
    assert probe[0].startswith(str(site)), probe
    assert probe[1] == "True"
    for generic in ("agent", "retrieval", "prompts", "evals"):
        assert not (site / generic).exists(), generic
    cli = subprocess.run([str(installed / "bin" / "recagent"), "--help"], capture_output=True, text=True, cwd=tmp_path)
    assert cli.returncode == 0, cli.stderr
    for command in ("index", "recommend", "chat", "eval"):
        assert command in cli.stdout
