"""Shared fixtures: a small real slice of ml-latest-small, the real MiniLM model,
a real Chroma store in a temp dir, and a real implicit ALS model."""

from __future__ import annotations

import contextlib
import csv
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from recagent.recommender import Recommender  # noqa: E402
from recagent.settings import Settings  # noqa: E402
from recagent.retrieval.embeddings import Embedder  # noqa: E402
from recagent.retrieval.loaders import BUNDLED_CATALOG  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SLICE_ITEMS = 600  # the first 600 movies of ml-latest-small (mostly 1995-1996 titles)


def _write_slice(dst: Path, n_items: int) -> Path:
    """Copy the first n movies of the bundled ml-latest-small, with their ratings, tags and links."""
    dst.mkdir(parents=True, exist_ok=True)
    keep: set[str] = set()
    with open(BUNDLED_CATALOG / "movies.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1 : n_items + 1]
    keep = {r[0] for r in body}
    with open(dst / "movies.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *body])
    for name in ("ratings.csv", "tags.csv", "links.csv"):
        with open(BUNDLED_CATALOG / name, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        col = rows[0].index("movieId")
        with open(dst / name, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([rows[0], *(r for r in rows[1:] if r[col] in keep)])
    return dst


@pytest.fixture(scope="session")
def slice_dir(tmp_path_factory) -> Path:
    return _write_slice(tmp_path_factory.mktemp("ml-slice") / "ml-slice", SLICE_ITEMS)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder("bundled")


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("recagent-data")


@pytest.fixture(scope="session")
def settings(slice_dir, data_dir) -> Settings:
    return Settings(catalog=str(slice_dir), data_dir=data_dir)


@pytest.fixture(scope="session")
def rec(settings, embedder) -> Recommender:
    """A Recommender on the slice, indexed once for the whole session (real Chroma, MiniLM, ALS)."""
    r = Recommender.from_parts(settings, embedder=embedder)  # share the loaded model across fixtures
    r.index()
    return r


RETRIEVAL_PARTS = ("embedder", "store", "mf", "popularity", "ease", "sequential", "dialogues", "hybrid", "resolver")


def retrieval_parts(rec: Recommender) -> dict:
    """``rec``'s loaded retrieval components (index, ALS, EASE, next-item, MiniLM), to build another
    Recommender on the same data with :meth:`Recommender.from_parts` without loading them again."""
    return {name: getattr(rec, name) for name in RETRIEVAL_PARTS}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(cmd: list[str], probe_url: str, log: Path, timeout: float = 90, **popen):
    """Run a real server process, wait until ``probe_url`` answers, stop it afterwards.

    Its output goes to ``log``: a pipe would fill up with a chatty server's log and block it.
    ``popen`` (``env``, ``cwd``) goes to :class:`subprocess.Popen`.
    """
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, **popen)
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(probe_url, timeout=1)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"{cmd[0]} did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.3)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def shared_dataset(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"dataset {name} not found at {path} (../shared/data is absent)")
    return path


@pytest.fixture(scope="session")
def llama():
    """The bundled SmolLM2-135M GGUF through llama.cpp: the real local backend."""
    from recagent.agent.backends.llama_cpp import LlamaCppBackend

    return LlamaCppBackend("bundled", context=4096, timeout=120)  # generous: CI machines can be slow


@pytest.fixture(scope="session")
def llm_rec(rec, llama):
    """A Recommender on the slice with the real llama.cpp backend for reranking and understanding.

    It shares ``rec``'s loaded retrieval parts and data dir (so its sessions database) but is its own
    object: ``rec`` itself never gets an LLM."""
    from recagent.agent.backends.llama_cpp import LlamaCppBackend

    # the tests on this fixture exercise the LLM path: pin the pre-calibration weight, since the shipped
    # calibration gives the bundled model weight 0 (no LLM call; tests/test_calibration.py covers that)
    pinned = rec.settings.model_copy(update={"rerank": rec.settings.rerank.model_copy(update={"llm_weight": 0.5})})
    return Recommender.from_parts(
        pinned,
        dataset=rec.dataset,
        **retrieval_parts(rec),
        backend=llama,
        aux_backend=LlamaCppBackend("bundled", context=2048),
    )
