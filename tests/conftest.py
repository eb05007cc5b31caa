"""Shared fixtures: a small real slice of ml-latest-small, the real MiniLM model,
a real Chroma store in a temp dir, and a real implicit ALS model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from recagent.recommender import Recommender  # noqa: E402
from recagent.retrieval.embeddings import Embedder  # noqa: E402
from recagent.settings import Settings  # noqa: E402
from tests.support.data import SHARED_DATA, SLICE_ITEMS, write_slice  # noqa: E402,F401
from tests.support.fake_llm import FakeLLM  # noqa: E402
from tests.support.parts import retrieval_parts  # noqa: E402


@pytest.fixture(scope="session")
def slice_dir(tmp_path_factory) -> Path:
    return write_slice(tmp_path_factory.mktemp("ml-slice") / "ml-slice", SLICE_ITEMS)


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


@pytest.fixture()
def fake_llm():
    """A fake LLM backend with no replies queued: ``fake_llm.enqueue(...)`` what the test expects, then
    assert on ``fake_llm.history``. A call nothing was queued for fails the test, even if caught."""
    fake = FakeLLM()
    yield fake
    assert not fake.unexpected, "\n".join(fake.unexpected)


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
    # calibration gives the bundled model weight 0 (no LLM call; tests/agent/test_calibration.py covers that)
    pinned = rec.settings.model_copy(update={"rerank": rec.settings.rerank.model_copy(update={"llm_weight": 0.5})})
    return Recommender.from_parts(
        pinned,
        dataset=rec.dataset,
        **retrieval_parts(rec),
        backend=llama,
        aux_backend=LlamaCppBackend("bundled", context=2048),
    )

