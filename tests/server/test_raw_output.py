"""The LLM's raw text never reaches an HTTP client: a fallback response over HTTP (recommend, chat,
the chat stream, the stored session) carries no raw model output; the log has it, and the Python
response keeps it for the eval reports (tests/evals/test_eval_llm.py)."""

from __future__ import annotations

import logging
import time

import pytest
from fastapi.testclient import TestClient

from recagent.recommender import Recommender
from recagent.server.app import create_app
from tests.support.fake_llm import FakeLLM
from tests.support.parts import retrieval_parts

RAW = 'not JSON at all <|im_end|> {"item_id": "RAW-MODEL-TEXT"'


@pytest.fixture(scope="module")
def failing(rec) -> Recommender:
    """The slice's parts with a generative reranker whose LLM never answers valid JSON (a fallback)."""
    s = rec.settings
    s = s.model_copy(
        update={
            "understanding": "parser",
            "rerank": s.rerank.model_copy(
                update={"mode": "generative", "llm_weight": 1.0, "history_summary": "deterministic"}
            ),
        }
    )
    fake = FakeLLM(default=RAW, name="fake-raw")
    return Recommender.from_parts(s, dataset=rec.dataset, **retrieval_parts(rec), backend=fake, aux_backend=fake)


def test_a_fallback_over_http_has_no_raw_model_text(failing, caplog):
    caplog.set_level(logging.WARNING, logger="recagent.agent.rerank")
    direct = failing.recommend(likes=["Toy Story"], k=3, rerank=True)
    assert direct.source == "fallback" and direct.raw_output == RAW  # kept in Python, for the eval reports
    with TestClient(create_app(failing.settings, recommender=failing), raise_server_exceptions=False) as c:
        deadline = time.monotonic() + 60
        while c.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, c.get("/readyz").json()
            time.sleep(0.05)
        r = c.post("/v1/recommend", json={"likes": ["Toy Story"], "k": 3, "rerank": True})
        assert r.status_code == 200 and r.json()["source"] == "fallback", r.text
        chat = c.post("/v1/chat", json={"session_id": "raw-out", "message": "something like Toy Story", "k": 3})
        assert chat.status_code == 200 and chat.json()["source"] == "fallback", chat.text
        with c.stream("POST", "/v1/chat/stream", json={"session_id": "raw-out", "message": "more", "k": 3}) as s:
            stream = "".join(s.iter_text())
        assert "event: done" in stream and '"fallback"' in stream
        session = c.get("/v1/sessions/raw-out")
        assert session.status_code == 200
        for body in (r.text, chat.text, stream, session.text):
            assert "RAW-MODEL-TEXT" not in body and "im_end" not in body and "raw_output" not in body
        assert "raw_output" not in c.get("/openapi.json").text
    assert any("RAW-MODEL-TEXT" in m for m in caplog.messages)  # the log has it
