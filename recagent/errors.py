"""Typed errors for recagent, in two families.

* :class:`UserError`: the request or the user's own setup is wrong (an unknown user, a contradictory
  filter, a bad setting). The CLI prints the message and exits non-zero; HTTP answers a 4xx.
* :class:`ServiceError`: recagent or something it depends on failed (the vector store, the session
  database, an LLM backend, the server's own data, a prompt that does not render). HTTP answers a 5xx.

The library raises these; only the edges (CLI, HTTP) turn them into output. Every error has a stable
``code``, its HTTP ``status`` on the class, and a message that says what went wrong and, where
possible, what to do about it. ``opaque`` errors describe the server's own files or hosts: HTTP logs
them in full and answers in general terms.
"""

from __future__ import annotations

from pathlib import Path


class RecagentError(Exception):
    """Base class of every recagent error: a :class:`UserError` or a :class:`ServiceError`."""

    code = "recagent_error"
    status = 500  # the HTTP status that answers it
    opaque: str | None = None  # if set, what HTTP says instead of the message (which names server paths)

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UserError(RecagentError):
    """An error the user can cause and fix: a 4xx."""

    code = "bad_request"
    status = 400


class ServiceError(RecagentError):
    """recagent or a service it depends on failed: a 5xx, not the user's fault."""

    code = "service_error"
    status = 500


class DataError(ServiceError):
    """A catalog or interaction file is missing, malformed or inconsistent."""

    code = "data_error"
    opaque = "the server's data could not be loaded"

    def __init__(self, path: Path | str, problem: str, line: int | None = None):
        self.path = Path(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}" + (f", line {line}" if line is not None else "")
        super().__init__(f"{where}: {problem}")


class ConfigError(UserError):
    """A setting is invalid or points at something that does not exist."""

    code = "config_error"


class UnknownUserError(UserError):
    code = "unknown_user"
    status = 404

    def __init__(self, user_id: str):
        self.user_id = user_id
        super().__init__(
            f"unknown user {user_id!r}: not in the interaction log; "
            "pass the titles they like instead (`likes`; `--likes` on the command line) to get recommendations "
            "for a new user"
        )


class UnknownItemError(UserError):
    code = "unknown_item"
    status = 404

    def __init__(self, item_id: str):
        self.item_id = item_id
        super().__init__(f"unknown item id {item_id!r}: not in the catalog")


class UnresolvedTitleError(UserError):
    """One or more titles could not be matched to a catalog item with confidence."""

    code = "unresolved_title"
    status = 422

    def __init__(self, unresolved: dict[str, list[str]]):
        self.unresolved = unresolved
        parts = []
        for title, suggestions in unresolved.items():
            hint = f" (did you mean: {'; '.join(suggestions)}?)" if suggestions else ""
            parts.append(f"{title!r}{hint}")
        super().__init__("could not match title " + ", ".join(parts) + " to the catalog")


class IndexNotBuiltError(ServiceError):
    """The vector index is empty: the service is not ready (a user of the library runs `recagent index`)."""

    code = "index_not_built"
    status = 503

    def __init__(self, collection: str):
        super().__init__(f"the vector index {collection!r} is empty; run `recagent index` first")


class VectorStoreError(ServiceError):
    """The vector store (embedded or server) failed or could not be reached."""

    code = "vector_store_error"
    status = 503


class SessionStoreError(ServiceError):
    """The chat session database (SQLite or PostgreSQL) could not be opened or failed."""

    code = "session_store_error"
    status = 503
    opaque = "the session store is unavailable"


class SessionBusyError(UserError):
    """Another request (in this or another process) held the chat session for longer than we may wait."""

    code = "session_busy"
    status = 409

    def __init__(self, session_id: str, waited: float, retry_after: float = 2.0):
        self.session_id = session_id
        self.waited = waited
        self.retry_after = retry_after
        super().__init__(
            f"chat session {session_id!r} is busy: another message or feedback for it was still being "
            f"processed after {waited:g}s; send this one again once that one is answered"
        )
