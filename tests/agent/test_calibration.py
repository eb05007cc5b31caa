"""The LLM's fusion weight: the fusion itself, weight 0 (no LLM call), where a weight comes from,
the shipped calibration of the bundled model, and `recagent eval calibrate`."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from recagent.agent.calibration import (
    SHIPPED,
    UNCALIBRATED,
    CalibrationEntry,
    CalibrationFile,
    CalibrationKey,
    Calibrations,
    calibration_paths,
    model_key,
)
from recagent.agent.rerank import Reranker, RerankRequest
from recagent.cli.app import app
from recagent.errors import ConfigError
from recagent.retrieval.base import Candidate
from recagent.settings import RerankSettings
from tests.support.fake_llm import FakeLLM, label_reply

runner = CliRunner()


def labels(appeal: dict[str, float]) -> FakeLLM:
    """Scoring replies from a fixed preference per title (-5 for a title not listed), for every call."""
    return FakeLLM(default=label_reply(lambda i, label, title: appeal.get(title, -5.0)), name="labels")


def films(scores: list[float]) -> list[Candidate]:
    return [Candidate(item_id=str(i), title=f"Film {i}", genres=["Drama"], year=1990 + i, score=s) for i, s in enumerate(scores)]


def reranker(backend, weight: float | None, mode: str = "scoring") -> Reranker:
    return Reranker(backend, RerankSettings(mode=mode, explain="deterministic", llm_weight=weight))


# --------------------------------------------------------------------------- the fusion


def test_weight_zero_never_calls_the_llm_and_says_so(fake_llm):
    cands = films([1.0, 0.9, 0.8, 0.7])
    for mode in ("scoring", "generative"):
        resp = reranker(fake_llm, 0.0, mode).rerank(RerankRequest(candidates=cands, k=3))
        assert resp.source == "retrieval" and resp.attempts == 0 and resp.llm_weight == 0.0
        assert [r.item_id for r in resp.recommendations] == ["0", "1", "2"]
        assert "not asked" in resp.calibration and "settings" in resp.calibration
        assert resp.recommendations[0].explanation.startswith("One of the most popular")  # deterministic
    assert fake_llm.calls == 0


def test_the_weight_moves_the_answer_from_retrieval_to_the_llm():
    """Retrieval prefers Film 0 by a little; the LLM prefers Film 3 by a lot."""
    cands = films([1.0, 0.95, 0.9, 0.85])
    llm = {"Film 3": 0.0, "Film 0": -3.0, "Film 1": -3.0, "Film 2": -3.0}
    first = {
        w: reranker(labels(llm), w).rerank(RerankRequest(candidates=cands, k=4)).recommendations[0].item_id
        for w in (0.05, 0.5, 1.0)
    }
    assert first == {0.05: "0", 0.5: "3", 1.0: "3"}
    fake = labels(llm)
    resp = reranker(fake, 0.05).rerank(RerankRequest(candidates=cands, k=4))
    assert resp.source == "llm" and resp.llm_weight == 0.05 and resp.attempts == 1 and fake.calls == 1


def test_generative_at_weight_one_is_the_llms_order_with_leftovers_in_retrieval_order(fake_llm):
    fake_llm.enqueue(
        '{"recommendations": [{"item_id": "2", "explanation": "x"}, {"item_id": "3", "explanation": "y"}]}'
    )
    resp = reranker(fake_llm, 1.0, "generative").rerank(RerankRequest(candidates=films([1.0, 0.9, 0.8, 0.7]), k=4))
    assert [r.item_id for r in resp.recommendations] == ["2", "3", "0", "1"]


def test_without_a_calibration_the_previous_fusion_applies():
    """No calibration entry: scoring keeps its 50/50 fusion, generative the LLM's own order."""
    w = Reranker(labels({})).weight("scoring")
    assert (w.value, w.source) == (UNCALIBRATED["scoring"], "uncalibrated")
    assert Reranker(labels({})).weight("generative").value == 1.0
    assert Reranker(None).weight("scoring").value == 0.0


# --------------------------------------------------------------------------- where a weight comes from


def entry(model="m", template="t", mode="scoring", weight=0.3, protocol="p") -> CalibrationEntry:
    return CalibrationEntry(
        model=model, template=template, mode=mode, weight=weight, protocol=protocol, metric_name="ndcg@10",
        cases=10, candidates=20, bootstrap=1,
    )  # fmt: skip


def test_lookup_order_settings_then_user_files_then_shipped(tmp_path):
    key = CalibrationKey(model="m", template="t", mode="scoring")
    user, shipped = tmp_path / "user.json", tmp_path / "shipped.json"
    CalibrationFile(entries=[entry(weight=0.7)]).write(shipped)
    assert Calibrations.load([user, shipped]).weight(key).value == 0.7  # a missing user file is no file
    f = CalibrationFile(entries=[entry(weight=0.2, protocol="a"), entry(weight=0.1, protocol="b")])
    f.upsert(entry(weight=0.4, protocol="a"))  # same key and protocol: replaced
    f.write(user)
    w = Calibrations.load([user, shipped]).weight(key)
    assert w.value == 0.1 and "user.json" in w.source and "a 0.4" in w.source  # the smallest over protocols
    assert Calibrations.load([user, shipped], override=0.0).weight(key).source == "settings"
    other = CalibrationKey(model="m", template="t@v2", mode="scoring")
    assert Calibrations.load([user, shipped]).weight(other).source == "uncalibrated"
    assert calibration_paths(tmp_path, user) == [user, tmp_path / "calibration.json", SHIPPED]


def test_a_broken_calibration_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "c.json"
    bad.write_text('{"entries": [{"model": 1}]}')
    with pytest.raises(ConfigError, match="not a calibration file"):
        CalibrationFile.read(bad)


def test_model_keys_name_the_file_or_the_server(tmp_path):
    gguf = tmp_path / "qwen.gguf"
    gguf.write_bytes(b"x" * 10)
    assert model_key(SimpleNamespace(name="llama_cpp", path=gguf, model="qwen.gguf")) == "llama_cpp:qwen.gguf:10"
    api = SimpleNamespace(name="openai", base_url="http://h:8000/v1", model="qwen2.5-7b")
    assert model_key(api) == "openai:http://h:8000/v1:qwen2.5-7b"
    assert model_key(SimpleNamespace(inner=api)) == model_key(api)  # through the eval cache wrapper


def test_the_bundled_model_ships_a_calibration_for_its_current_template():
    """Changing the scoring template or the bundled model without re-running the calibration fails here."""
    from recagent.agent.backends.llama_cpp import bundled_gguf

    fake = SimpleNamespace(name="llama_cpp", path=bundled_gguf(), model="SmolLM2", is_bundled=True)
    r = Reranker(fake)
    r.calibration = Calibrations.load([SHIPPED])
    key = r.calibration_key("scoring")
    shipped = [e for e in CalibrationFile.read(SHIPPED).entries if e.key() == (key.model, key.template, key.mode)]
    assert {e.protocol for e in shipped} >= {"ml-latest-small-loo", "redial"}, (
        "re-run: recagent eval calibrate evals/configs/calibrate-*.yaml --out agent/calibration.json"
    )
    for e in shipped:
        assert 0.0 in [p.weight for p in e.grid] and e.stage == "valid"
    assert r.weight("scoring").value == min(e.weight for e in shipped)


# --------------------------------------------------------------------------- the product path


def zero_weight(settings, rec, fake: FakeLLM):
    """A Recommender at LLM weight 0 with parser understanding, whose LLM backends are ``fake``."""
    from recagent.recommender import Recommender

    zero = settings.model_copy(update={"rerank": RerankSettings(llm_weight=0.0), "understanding": "parser"})
    return Recommender.from_parts(zero, embedder=rec.embedder, backend=fake, aux_backend=fake)


def test_recommender_at_weight_zero_calls_no_llm(settings, rec, fake_llm):
    """`recommend --rerank` and the chat read the weight from the settings and the calibration files;
    at 0 neither the reranker nor the history summary calls an LLM."""
    zero = zero_weight(settings, rec, fake_llm)
    user = rec.dataset.interactions.users[0]
    resp = zero.recommend(user_id=user, k=5, rerank=True)
    assert resp.source == "retrieval" and resp.llm_weight == 0.0 and resp.attempts == 0
    assert [r.item_id for r in resp.recommendations] == [
        r.item_id for r in rec.recommend(user_id=user, k=5, rerank=False).recommendations
    ]
    assert not zero.chat_uses_llm("show me more")
    turn = zero.chat("calibration-zero", "something like Toy Story", k=3)
    assert turn.source == "retrieval" and turn.llm_weight == 0.0 and len(turn.recommendations) == 3
    assert fake_llm.calls == 0


def test_the_server_does_not_queue_llm_free_turns_for_the_llm_slot(settings, rec, fake_llm):
    """At weight 0 with parser understanding a chat turn calls no LLM: it must not wait for the one
    llama.cpp slot. The gate here refuses everything, so a turn that asked for a slot would get 429."""
    from contextlib import asynccontextmanager

    from fastapi.testclient import TestClient

    from recagent.server.app import create_app
    from recagent.server.errors import APIError

    zero = zero_weight(settings, rec, fake_llm)

    class Full:
        @asynccontextmanager
        async def slot(self):
            raise APIError(429, "overloaded", "full", retry_after=1)
            yield

        def stats(self):
            return {}

    with TestClient(create_app(zero.settings, recommender=zero, warm=lambda r: None), raise_server_exceptions=False) as c:
        c.app.state.gate = Full()
        while c.get("/readyz").status_code != 200:
            time.sleep(0.05)
        r = c.post("/v1/chat", json={"session_id": "gate-free", "message": "comedies from the 90s", "k": 3})
        assert r.status_code == 200 and r.json()["llm_weight"] == 0.0, r.text
        r = c.post("/v1/recommend", json={"likes": ["Toy Story"], "k": 3, "rerank": True})
        assert r.status_code == 200 and r.json()["source"] == "retrieval", r.text
        forced = c.post("/v1/recommend", json={"likes": ["Toy Story"], "k": 3, "rerank": True, "mode": "generative"})
        assert forced.status_code == 200  # the weight is 0 in every mode here: still no slot
    assert fake_llm.calls == 0


def test_user_calibration_in_the_data_dir_is_read(settings, rec, tmp_path):
    from recagent.recommender import Recommender

    fake = labels({})
    key = Reranker(fake).calibration_key("scoring")
    CalibrationFile(entries=[entry(key.model, key.template, "scoring", 0.25)]).write(tmp_path / "mine.json")
    mine = RerankSettings(calibration=tmp_path / "mine.json", history_summary="deterministic")
    r = Recommender.from_parts(
        settings.model_copy(update={"rerank": mine}), embedder=rec.embedder, backend=fake, aux_backend=fake
    )
    assert r.reranker.weight("scoring").value == 0.25
    resp = r.recommend(user_id=rec.dataset.interactions.users[0], k=3, rerank=True, mode="scoring")
    assert resp.llm_weight == 0.25 and "mine.json" in resp.calibration


# --------------------------------------------------------------------------- the command


def test_calibrate_refuses_the_test_stage(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("name: c\nprotocol: demo\nstage: test\nvariants:\n  - {name: a, retriever: als, rerank: {mode: scoring}}\n")
    res = runner.invoke(app, ["eval", "calibrate", str(cfg), "--data-dir", str(tmp_path)])
    assert res.exit_code == 1 and "validation stage" in res.stderr
    res = runner.invoke(app, ["eval", "calibrate", str(cfg), "--weights", "0,2", "--data-dir", str(tmp_path)])
    assert res.exit_code == 1 and "between 0 and 1" in res.stderr


@pytest.mark.slow
def test_calibrate_end_to_end_on_the_demo_protocol(tmp_path, data_dir):
    """The bundled model on 4 validation users: every weight scored, 0 included, the LLM called once per
    case whatever the grid, and the file a Recommender reads written."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "name: c\nprotocol: demo\nstage: valid\nusers: 4\n"
        "variants:\n  - {name: llm, retriever: als, rerank: {mode: scoring, candidates: 8, rerank_all: true}}\n"
    )
    out = tmp_path / "cal.json"
    args = ["eval", "calibrate", str(cfg), "--data-dir", str(data_dir), "--out", str(out), "--weights", "0.5,1"]
    res = runner.invoke(app, [*args, "--run", str(tmp_path / "run"), "--json"])
    assert res.exit_code == 0, res.output
    (e,) = CalibrationFile.read(out).entries
    assert [p.weight for p in e.grid] == [0.0, 0.5, 1.0] and e.weight in (0.0, 0.5, 1.0)
    assert e.protocol == "demo" and e.cases == 4 and e.llm_cases == 4 and e.template.startswith("rerank_scoring@v1#")
    cases = [json.loads(line) for line in (tmp_path / "run" / "cases.jsonl").read_text().splitlines()]
    assert sum(c["llm_called"] for c in cases if c["variant"] == "llm w=0") == 0
    assert (tmp_path / "run" / "calibration.png").stat().st_size > 5000
    got = Calibrations.load([out]).weight(CalibrationKey(model=e.model, template=e.template, mode="scoring"))
    assert got.value == e.weight
