"""Thread settings: a library object changes nothing process-wide; the server scopes the BLAS limit
to its lifetime; llama.cpp's default leaves a core free and RECAGENT_LLM__THREADS overrides it."""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from recagent.recommender import Recommender
from recagent.settings import LLMSettings, Settings
from recagent.threads import default_llm_threads, physical_cores, usable_cores


def blas_threads() -> list[int]:
    counts = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    assert counts, "numpy's BLAS is loaded"
    return counts


def test_building_and_using_a_recommender_leaves_blas_threads_alone(settings, embedder, rec):
    assert settings.blas_threads == 1
    with threadpool_limits(3, "blas"):  # not the setting's value, so a process-wide change would show
        fresh = Recommender.from_parts(settings, embedder=embedder)
        fresh.candidates(user_id=fresh.dataset.interactions.users[0], k=5)
        assert set(blas_threads()) == {3}


def test_the_server_factory_limits_blas_and_create_app_with_a_recommender_does_not(settings, embedder, monkeypatch):
    from recagent.server.app import create_app

    with threadpool_limits(3, "blas"):
        create_app(settings, recommender=Recommender.from_parts(settings, embedder=embedder), warm=lambda r: None)
        assert set(blas_threads()) == {3}
        monkeypatch.setenv("RECAGENT_CATALOG", settings.catalog)
        monkeypatch.setenv("RECAGENT_DATA_DIR", str(settings.data_dir))
        create_app()  # uvicorn's factory call in a `recagent serve` worker: nothing loads until startup
        assert set(blas_threads()) == {settings.blas_threads}


def test_cli_commands_run_with_the_blas_limit_and_lift_it(settings):
    from recagent.cli.common import handle_errors

    @handle_errors  # what every `recagent` command runs under
    def command():
        return blas_threads()

    with threadpool_limits(3, "blas"):
        assert set(command()) == {settings.blas_threads}
        assert set(blas_threads()) == {3}


def test_default_llm_threads_leave_a_core_free():
    cores = usable_cores() if physical_cores() is None else min(usable_cores(), physical_cores())
    assert default_llm_threads() == max(1, cores - 1)
    assert 1 <= default_llm_threads() <= usable_cores()


def test_llm_threads_default_and_override(llama, monkeypatch):
    from recagent.agent.backends import create_backend

    assert llama.llm.n_threads == default_llm_threads()  # the fixture sets no thread count
    monkeypatch.setenv("RECAGENT_LLM__THREADS", "2")
    assert Settings().llm.threads == 2
    one = create_backend(Settings(llm=LLMSettings(backend="llama_cpp", threads=1, context=512)))
    assert one.llm.n_threads == 1


def test_from_parts_rejects_unknown_parts(settings):
    with pytest.raises(TypeError, match="not Recommender parts: \\['embeder'\\]"):
        Recommender.from_parts(settings, embeder=object())
