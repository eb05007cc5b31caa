"""Helpers for the HTTP tests: a Recommender that shares the session's loaded parts with chat
settings that keep turns fast, and the app run by a real uvicorn on a free loopback port."""

from __future__ import annotations

import contextlib
import threading
import time
import urllib.request

from recagent.recommender import Recommender
from tests.conftest import free_port

SHARED = ("embedder", "backend", "aux_backend", "store", "mf", "popularity", "hybrid", "resolver")


def fast_chat_recommender(llm_rec: Recommender, **rerank) -> Recommender:
    """The slice Recommender's loaded parts (index, ALS, MiniLM, the real llama.cpp), with parser-only
    understanding and deterministic history summaries, so a chat turn is one scoring pass."""
    s = llm_rec.settings
    s = s.model_copy(
        update={
            "understanding": "parser",
            "rerank": s.rerank.model_copy(update={"history_summary": "deterministic", "mode": "scoring", **rerank}),
        }
    )
    rec = Recommender(s, dataset=llm_rec.dataset)
    rec.__dict__.update({k: llm_rec.__dict__[k] if k in llm_rec.__dict__ else getattr(llm_rec, k) for k in SHARED})
    return rec


@contextlib.contextmanager
def uvicorn_server(app, timeout: float = 60):
    """Run ``app`` with uvicorn on 127.0.0.1 in a thread; yield its base URL once /readyz is 200."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(base + "/readyz", timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline or not thread.is_alive():
                server.should_exit = True
                raise RuntimeError(f"the app did not become ready on {base}") from None
            time.sleep(0.1)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(10)
