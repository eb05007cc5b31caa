"""The recagent CLI: JSON output, tables, and one clear line with a non-zero exit on user errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from recagent.cli.app import app
from recagent.cli.common import split_titles

runner = CliRunner()


@pytest.fixture()
def base_args(rec, slice_dir, data_dir):
    return ["--catalog", str(slice_dir), "--data-dir", str(data_dir)]


def run(args):
    return runner.invoke(app, args, catch_exceptions=False)


def test_split_titles():
    assert split_titles(["Heat, The Matrix"]) == ["Heat", "The Matrix"]
    assert split_titles(["Good, the Bad and the Ugly, The; Heat"]) == ["Good, the Bad and the Ugly, The", "Heat"]
    assert split_titles(["Heat", "Jumanji"]) == ["Heat", "Jumanji"]


def test_index_is_incremental_from_the_cli(base_args):
    res = run(["index", *base_args, "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["vector"]["embedded"] == 0 and report["vector"]["unchanged"] == report["vector"]["total"]


def test_search_json(base_args):
    res = run(["search", "toys come to life", "-k", "3", *base_args, "--json"])
    assert res.exit_code == 0, res.output
    hits = json.loads(res.stdout)
    assert len(hits) == 3 and hits[0]["title"] == "Toy Story (1995)"


def test_recommend_likes_json_and_table(base_args):
    res = run(["recommend", "--likes", "Heat, Jumanji", "-k", "5", *base_args, "--json"])
    assert res.exit_code == 0, res.output
    body = json.loads(res.stdout)
    assert [m["item_id"] for m in body["resolved"]] == ["6", "2"]
    assert len(body["candidates"]) == 5
    assert not {"6", "2"} & {c["item_id"] for c in body["candidates"]}
    table = run(["recommend", "--user", "1", "-k", "3", "--genre", "Comedy", *base_args])
    assert table.exit_code == 0 and "recommendations" in table.stdout


def test_recommend_says_when_it_relaxed_a_stated_filter(base_args):
    """The slice ends in 2000: "nothing before 2005" is read, too few items fit, and the CLI says what it relaxed."""
    res = run(["recommend", "--query", "a comedy, nothing before 2005", "-k", "5", *base_args, "--json"])
    assert res.exit_code == 0, res.output
    body = json.loads(res.stdout)
    assert any("relaxed “nothing before 2005”" in n for n in body["notes"]), body["notes"]
    assert len(body["candidates"]) == 5 and body["query"]["filters"]["year_min"] is None
    table = run(["recommend", "--query", "a comedy, nothing before 2005", "-k", "5", *base_args])
    assert table.exit_code == 0 and "relaxed" in table.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["recommend", "--user", "999999"], "unknown user '999999'"),
        (["recommend", "--likes", "Qwxyzzy Plorb"], "could not match title 'Qwxyzzy Plorb'"),
        (["recommend"], "say who the recommendations are for"),
        (["recommend", "--user", "1", "--genre", "Comedie"], "unknown genre 'Comedie'"),
        (["recommend", "--user", "1", "--year-min", "2000", "--year-max", "1990"], "after year_max"),
        (["search", "  "], "search text is empty"),
        (["recommend", "--likes", "Heat", "--exclude", "x", "--column", "nonsense"], "--column expects FIELD=COLUMN"),
    ],
)
def test_user_errors_are_one_line_and_non_zero(base_args, args, message):
    res = runner.invoke(app, [*args, *base_args])
    assert res.exit_code == 1, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert message in res.stderr
    assert res.stderr.strip().count("\n") <= 1 and "Traceback" not in res.output


def test_bad_catalog_file(tmp_path):
    bad = tmp_path / "c.csv"
    bad.write_text("id,name\n1,x\n")
    res = runner.invoke(app, ["index", "--catalog", str(bad), "--data-dir", str(tmp_path)])
    assert res.exit_code == 1
    assert "c.csv, line 1: missing column 'title'" in " ".join(res.stderr.split())


def test_search_before_index_says_what_to_do(slice_dir, tmp_path):
    res = runner.invoke(app, ["search", "x", "--catalog", str(slice_dir), "--data-dir", str(tmp_path / "empty")])
    assert res.exit_code == 1 and "run `recagent index` first" in res.stderr


def _console_script() -> str:
    return str(Path(sys.executable).with_name("recagent"))


def test_console_script_error_has_no_traceback(base_args):
    proc = subprocess.run(
        [_console_script(), "recommend", "--user", "424242", *base_args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "unknown user '424242'" in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_console_script_recommends(base_args):
    proc = subprocess.run(
        [_console_script(), "recommend", "--likes", "Toy Story", "-k", "3", "--json", *base_args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    body = json.loads(proc.stdout)
    assert body["resolved"][0]["title"] == "Toy Story (1995)" and len(body["candidates"]) == 3


def test_data_build_comentions_names_what_is_missing_and_keeps_the_shipped_folder(tmp_path):
    """``recagent data build-comentions``: a ReDial folder that is not there is one line with its path, and a
    development holdout is never written over the shipped files."""
    res = runner.invoke(
        app, ["data", "build-comentions", "--redial", str(tmp_path / "nowhere"), "--out", str(tmp_path)]
    )
    assert res.exit_code == 1 and "nowhere/movies_with_mentions.csv" in res.stderr and "Traceback" not in res.stderr
    assert not list(tmp_path.iterdir()), "nothing written"
    res = runner.invoke(app, ["data", "build-comentions", "--holdout", "0/2"])
    assert res.exit_code == 2 and "Invalid value for --holdout: --holdout needs an --out other" in res.stderr
