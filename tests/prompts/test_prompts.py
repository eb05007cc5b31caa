"""Prompt templates are versioned files, validated on load and rendered strictly."""

from __future__ import annotations

import shutil

import pytest

from recagent.errors import ConfigError
from recagent.prompts import PromptRenderError, list_templates, load_template
from recagent.prompts.registry import TEMPLATES_DIR


def test_every_template_loads_with_a_hash():
    names = {t.name for t in list_templates()}
    assert {"rerank", "rerank_scoring", "history_summary", "query_understanding", "explanation"} <= names
    for t in list_templates():
        assert t.version >= 1 and len(t.hash) == 12
        assert "<data>" in t.user or "<data>" in t.system, f"{t.name}: user content must be fenced as data"


def test_missing_variable_is_named():
    with pytest.raises(PromptRenderError, match="needs variable\\(s\\) history, request"):
        load_template("rerank").render(domain="movies", candidates=[], k=3)


def test_hash_follows_the_file_content(tmp_path):
    for f in TEMPLATES_DIR.glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    before = load_template("rerank", directory=tmp_path).hash
    path = tmp_path / "rerank.v1.yaml"
    path.write_text(path.read_text().replace("best first", "best first, please"))
    load_template.__globals__["_all"].cache_clear()
    assert load_template("rerank", directory=tmp_path).hash != before
    assert load_template("rerank").hash == before  # the shipped file is untouched


def test_newest_version_wins_and_unknowns_are_errors(tmp_path):
    for f in TEMPLATES_DIR.glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    v2 = (tmp_path / "rerank.v1.yaml").read_text().replace("version: 1", "version: 2")
    (tmp_path / "rerank.v2.yaml").write_text(v2)
    assert load_template("rerank", directory=tmp_path).version == 2
    assert load_template("rerank", 1, directory=tmp_path).version == 1
    with pytest.raises(ConfigError, match="unknown prompt template 'nope'"):
        load_template("nope", directory=tmp_path)
    with pytest.raises(ConfigError, match="has no version 9"):
        load_template("rerank", 9, directory=tmp_path)


def test_bad_template_files(tmp_path):
    (tmp_path / "bad.v1.yaml").write_text("name: bad\nversion: 1\nsystem: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_template("bad", directory=tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.v1.yaml").write_text("name: y\nversion: 1\ndescription: d\nvariables: []\nsystem: s\nuser: u\n")
    with pytest.raises(ConfigError, match="must match the file name"):
        load_template("x", directory=other)
