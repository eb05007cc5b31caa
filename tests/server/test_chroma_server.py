"""Server mode: the same code path against a real `chroma run` on a free loopback port."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from recagent.errors import VectorStoreError
from recagent.recommender import Recommender
from recagent.retrieval.vector_store import connect
from recagent.settings import Settings
from tests.support.servers import free_port, serve


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    exe = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    if exe is None:
        pytest.fail("the chroma CLI is not installed (it ships with the chromadb package)")
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    cmd = [exe, "run", "--path", str(path / "db"), "--host", "127.0.0.1", "--port", str(port)]
    with serve(cmd, f"http://127.0.0.1:{port}/api/v2/heartbeat", path / "server.log", timeout=60):
        yield port


@pytest.mark.slow  # a real `chroma run` server (scale-out)
def test_server_mode_matches_embedded(chroma_server, rec, slice_dir, tmp_path, embedder):
    settings = Settings(catalog=str(slice_dir), data_dir=tmp_path, chroma_host="127.0.0.1", chroma_port=chroma_server)
    server = Recommender.from_parts(settings, embedder=embedder)
    report = server.index().vector
    assert report.embedded == len(server.catalog)
    assert server.index().vector.embedded == 0, "incremental against the server too"
    assert server.store.client.heartbeat() > 0

    for text in ("toys come to life", "heist crime thriller"):
        assert [h.item_id for h in server.search(text, k=10)] == [h.item_id for h in rec.search(text, k=10)]
    user = server.dataset.interactions.users[2]
    a = [c.item_id for c in server.candidates(user_id=user, k=20).candidates]
    b = [c.item_id for c in rec.candidates(user_id=user, k=20).candidates]
    assert a == b


def test_unreachable_server_is_a_clear_error():
    with pytest.raises(VectorStoreError, match="cannot open the Chroma server at 127.0.0.1"):
        connect(host="127.0.0.1", port=free_port())
