"""Scale-out: the same app on shared, separately run components, with two processes behind one port.

`recagent serve --workers 2` (two uvicorn worker processes sharing one listening socket) runs with
* the vector index in a Chroma server (`chroma run`) instead of the embedded store,
* the LLM behind an OpenAI-compatible server (`python -m llama_cpp.server`, the bundled GGUF),
* the chat sessions in PostgreSQL (a real server, started for the test).
Consecutive turns of one chat session are sent to different worker processes (each answer names
its process in ``X-Recagent-Worker``), and each process sees what the other wrote.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import httpx
import pytest

from recagent.agent.backends.llama_cpp import bundled_gguf
from recagent.agent.session_store import SessionStore
from recagent.recommender import Recommender
from recagent.settings import Settings
from tests.support.postgres import postgres_server
from tests.support.servers import free_port, serve

pytestmark = pytest.mark.slow
WORKER = "x-recagent-worker"


def _exe(name: str) -> str:
    exe = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if exe is None:
        pytest.fail(f"the {name} command is not installed")
    return exe


@pytest.fixture(scope="module")
def chroma_port(tmp_path_factory):
    port, path = free_port(), tmp_path_factory.mktemp("scale-chroma")
    cmd = [_exe("chroma"), "run", "--path", str(path / "db"), "--host", "127.0.0.1", "--port", str(port)]
    with serve(cmd, f"http://127.0.0.1:{port}/api/v2/heartbeat", path / "server.log", timeout=60):
        yield port


@pytest.fixture(scope="module")
def llm_url(tmp_path_factory):
    port, log = free_port(), tmp_path_factory.mktemp("scale-llm") / "server.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_gguf()), "--model_alias", "smollm2"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--flash_attn", "true"]
    with serve(cmd, f"http://127.0.0.1:{port}/v1/models", log):
        yield f"http://127.0.0.1:{port}/v1"


@pytest.fixture(scope="module")
def sessions_url():
    with postgres_server() as server:
        yield server.new_database()


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, slice_dir, embedder, chroma_port, llm_url, sessions_url):
    """`recagent serve --workers 2` on one loopback port, configured only through RECAGENT_* variables."""
    data_dir = tmp_path_factory.mktemp("scale-data")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECAGENT_", "OPENAI_"))}
    env.update(
        {
            "HF_HUB_OFFLINE": "1",
            "RECAGENT_CATALOG": str(slice_dir),
            "RECAGENT_DATA_DIR": str(data_dir),
            "RECAGENT_CHROMA_HOST": "127.0.0.1",
            "RECAGENT_CHROMA_PORT": str(chroma_port),
            "RECAGENT_SESSIONS_URL": sessions_url,
            "OPENAI_BASE_URL": llm_url,
            "OPENAI_API_KEY": "unused",
            "RECAGENT_LLM__MODEL": "smollm2",
            "RECAGENT_LLM__TIMEOUT": "60",
            # one LLM pass per turn keeps the test short: scoring, parser-only understanding
            "RECAGENT_RERANK__MODE": "scoring",
            "RECAGENT_RERANK__CANDIDATES": "8",
            "RECAGENT_RERANK__EXPLAIN": "deterministic",
            "RECAGENT_RERANK__HISTORY_SUMMARY": "deterministic",
            "RECAGENT_UNDERSTANDING": "parser",
        }
    )
    # `recagent index` against the Chroma server, here with the already loaded MiniLM
    settings = Settings(catalog=str(slice_dir), data_dir=data_dir, chroma_host="127.0.0.1", chroma_port=chroma_port)
    indexer = Recommender.from_parts(settings, embedder=embedder)
    assert indexer.index().vector.embedded > 0

    port = free_port()
    cmd = [_exe("recagent"), "serve", "--workers", "2", "--port", str(port), "--log-level", "warning"]
    with serve(cmd, f"http://127.0.0.1:{port}/healthz", data_dir / "serve.log", timeout=60, env=env, cwd=data_dir):
        yield f"http://127.0.0.1:{port}", data_dir


class Workers:
    """HTTP connections pinned to worker processes: a keep-alive connection stays with the process
    that accepted it, so a request sent right after a probe on it lands on the probed process."""

    def __init__(self, base: str):
        self.base = base
        self.pinned: dict[str, httpx.Client] = {}

    def _connect(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=120, limits=httpx.Limits(max_connections=1))

    def ready_pids(self, deadline_s: float = 120) -> list[str]:
        """Both workers' pids, once each has answered /readyz with 200 (they load independently)."""
        ready: set[str] = set()
        end = time.monotonic() + deadline_s
        while len(ready) < 2:
            with self._connect() as client:  # a new connection: either worker may accept it
                r = client.get("/readyz")
            if r.status_code == 200:
                ready.add(r.headers[WORKER])
            elif r.json()["error"]["code"] != "not_ready":
                pytest.fail(f"worker {r.headers[WORKER]} failed to load: {r.text}")
            if time.monotonic() > end:
                pytest.fail(f"only {len(ready)} of 2 workers became ready in {deadline_s} s")
            time.sleep(0.2)
        return sorted(ready)

    def on(self, pid: str, deadline_s: float = 60) -> httpx.Client:
        """A client whose connection is, right now, to worker ``pid``: the one pinned there if its
        connection is still open, else new connections until the kernel hands one to ``pid``."""
        end = time.monotonic() + deadline_s
        client = self.pinned.pop(pid, None) or self._connect()
        while time.monotonic() < end:
            landed = client.get("/healthz").headers[WORKER]
            if landed == pid:
                self.pinned[pid] = client
                return client
            if landed in self.pinned:
                client.close()
            else:
                self.pinned[landed] = client
            client = self._connect()
            time.sleep(0.02)
        client.close()
        pytest.fail(f"no connection reached worker {pid} in {deadline_s} s")

    def close(self) -> None:
        for client in self.pinned.values():
            client.close()


def test_two_workers_serve_one_session_over_shared_components(app_url, sessions_url):
    base, data_dir = app_url
    workers = Workers(base)
    try:
        a, b = workers.ready_pids()
        sid = "scale-out"
        served_by = []

        def chat(pid: str, message: str) -> dict:
            r = workers.on(pid).post("/v1/chat", json={"session_id": sid, "message": message, "k": 3})
            assert r.status_code == 200, r.text
            served_by.append(r.headers[WORKER])
            return r.json()

        first = chat(a, "funny movies please")
        assert first["backend"] == "openai" and first["model"] == "smollm2", "the LLM server ranked them"
        assert first["source"] == "llm" and len(first["recommendations"]) == 3
        shown = {r["item_id"] for r in first["recommendations"]}

        disliked = first["recommendations"][0]["item_id"]
        r = workers.on(b).post(f"/v1/sessions/{sid}/feedback", json={"item_id": disliked, "kind": "dislike"})
        assert r.status_code == 200 and r.headers[WORKER] == b, r.text
        view = r.json()
        assert len(view["turns"]) == 2, "worker B sees the turns worker A wrote"
        assert set(view["state"]["shown_ids"]) == shown and disliked in view["state"]["disliked_ids"]

        second = chat(b, "something older")
        older = {r["item_id"] for r in second["recommendations"]}
        assert second["recommendations"] and not older & shown, "B excludes what A showed"

        third = chat(a, "more like the first one")
        assert disliked not in {r["item_id"] for r in third["recommendations"]}, "A honours B's dislike"

        r = workers.on(b).get(f"/v1/sessions/{sid}")
        assert r.status_code == 200 and r.headers[WORKER] == b
        view = r.json()
        assert served_by == [a, b, a] and a != b
        assert [t["index"] for t in view["turns"]] == list(range(6))
        assert [t["role"] for t in view["turns"]] == ["user", "assistant"] * 3
        assert [t["content"] for t in view["turns"][::2]] == [
            "funny movies please",
            "something older",
            "more like the first one",
        ]
        assert view["state"]["turns"] == 3 and disliked in view["state"]["disliked_ids"]
        assert second["recommendations"][0]["item_id"] in view["state"]["liked_ids"], "A read B's last list"
    finally:
        workers.close()

    # the state lives in the shared services, not in the app's data dir
    assert len(SessionStore(sessions_url).turns(sid)) == 6
    assert not (data_dir / "sessions.sqlite").exists() and not (data_dir / "chroma").exists()
