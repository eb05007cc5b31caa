"""Helpers for the HTTP tests: a Recommender that shares the session's loaded parts with chat
settings that keep turns fast, and the app run by a real uvicorn on a free loopback port."""

from __future__ import annotations

import contextlib
import threading
import time
import urllib.request

from recagent.recommender import Recommender
from tests.support.parts import retrieval_parts
from tests.support.servers import free_port


def fast_chat_recommender(llm_rec: Recommender, backend=None, **rerank) -> Recommender:
    """The slice Recommender's loaded parts (index, ALS, MiniLM, the real llama.cpp), with parser-only
    understanding and deterministic history summaries, so a chat turn is one scoring pass.
    ``backend`` replaces the reranker's LLM backend; ``rerank`` updates the rerank settings."""
    s = llm_rec.settings
    s = s.model_copy(
        update={
            "understanding": "parser",
            "rerank": s.rerank.model_copy(update={"history_summary": "deterministic", "mode": "scoring", **rerank}),
        }
    )
    llm = {"backend": backend or llm_rec.backend, "aux_backend": llm_rec.aux_backend}
    return Recommender.from_parts(s, dataset=llm_rec.dataset, **retrieval_parts(llm_rec), **llm)


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
