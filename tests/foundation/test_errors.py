"""Errors form two families: a user's errors (4xx, the CLI's one-line message) and service failures (5xx).
Every typed error in the library belongs to exactly one, with an HTTP status in its family's range."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

from recagent.errors import RecagentError, ServiceError, UserError


def _all_subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_all_subclasses(sub)]
    return out


@pytest.fixture(scope="module")
def error_classes() -> list[type]:
    for top in ("recagent", "recagent.agent", "recagent.retrieval", "recagent.prompts", "recagent.evals"):
        package = importlib.import_module(top)  # the card's folders are mapped subpackages: walk each
        for mod in pkgutil.walk_packages(package.__path__, top + "."):
            importlib.import_module(mod.name)
    classes = [c for c in _all_subclasses(RecagentError) if c.__module__.startswith("recagent.")]
    assert len(classes) >= 15, [c.__name__ for c in classes]
    return classes


def test_every_library_error_is_a_user_error_or_a_service_error(error_classes):
    for cls in error_classes:
        if cls in (UserError, ServiceError):
            continue
        user, service = issubclass(cls, UserError), issubclass(cls, ServiceError)
        assert user != service, f"{cls.__module__}.{cls.__name__} must be exactly one of UserError, ServiceError"
        if user:
            assert 400 <= cls.status < 500, f"{cls.__name__}: a user error answers a 4xx, not {cls.status}"
        else:
            assert 500 <= cls.status < 600, f"{cls.__name__}: a service failure answers a 5xx, not {cls.status}"


def test_codes_are_unique_and_stable(error_classes):
    codes = [c.code for c in error_classes]
    dupes = {c for c in codes if codes.count(c) > 1}
    assert not dupes, f"codes used by several classes: {dupes}"


@pytest.mark.parametrize(
    ("dotted", "family", "status"),
    [
        ("recagent.prompts.registry.PromptRenderError", ServiceError, 500),
        ("recagent.errors.DataError", ServiceError, 500),
        ("recagent.errors.VectorStoreError", ServiceError, 503),
        ("recagent.errors.SessionStoreError", ServiceError, 503),
        ("recagent.agent.backends.base.LLMError", ServiceError, 502),
        ("recagent.agent.backends.base.BackendTimeout", ServiceError, 504),
        ("recagent.errors.ConfigError", UserError, 400),
        ("recagent.errors.UnknownUserError", UserError, 404),
        ("recagent.retrieval.filters.InvalidFilterError", UserError, 422),
        ("recagent.agent.safety.MessageTooLongError", UserError, 422),
        ("recagent.errors.SessionBusyError", UserError, 409),
    ],
)
def test_the_known_errors_sit_in_their_family(dotted, family, status):
    module, name = dotted.rsplit(".", 1)
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, family) and cls.status == status
