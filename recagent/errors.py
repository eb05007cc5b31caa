"""Typed errors for recagent.

The library raises these; only the edges (CLI, HTTP) turn them into output.
Every error has a stable ``code`` and a message that says what went wrong and,
where possible, what to do about it.
"""

from __future__ import annotations

from pathlib import Path


class RecagentError(Exception):
    """Base class of every error a user can cause."""

    code = "recagent_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class DataError(RecagentError):
    """A catalog or interaction file is missing, malformed or inconsistent."""

    code = "data_error"

    def __init__(self, path: Path | str, problem: str, line: int | None = None):
        self.path = Path(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}" + (f", line {line}" if line is not None else "")
        super().__init__(f"{where}: {problem}")


class ConfigError(RecagentError):
    """A setting is invalid or points at something that does not exist."""

    code = "config_error"


class UnknownUserError(RecagentError):
    code = "unknown_user"

    def __init__(self, user_id: str):
        self.user_id = user_id
        super().__init__(
            f"unknown user {user_id!r}: not in the interaction log; "
            "pass liked titles instead (--likes) to get recommendations for a new user"
        )


class UnknownItemError(RecagentError):
    code = "unknown_item"

    def __init__(self, item_id: str):
        self.item_id = item_id
        super().__init__(f"unknown item id {item_id!r}: not in the catalog")


class UnresolvedTitleError(RecagentError):
    """One or more titles could not be matched to a catalog item with confidence."""

    code = "unresolved_title"

    def __init__(self, unresolved: dict[str, list[str]]):
        self.unresolved = unresolved
        parts = []
        for title, suggestions in unresolved.items():
            hint = f" (did you mean: {'; '.join(suggestions)}?)" if suggestions else ""
            parts.append(f"{title!r}{hint}")
        super().__init__("could not match title " + ", ".join(parts) + " to the catalog")


class IndexNotBuiltError(RecagentError):
    code = "index_not_built"

    def __init__(self, collection: str):
        super().__init__(f"the vector index {collection!r} is empty; run `recagent index` first")


class VectorStoreError(RecagentError):
    """The vector store (embedded or server) failed or could not be reached."""

    code = "vector_store_error"


class SessionStoreError(RecagentError):
    """The chat session database (SQLite or PostgreSQL) could not be opened or failed."""

    code = "session_store_error"


class SessionBusyError(RecagentError):
    """Another request (in this or another process) held the chat session for longer than we may wait."""

    code = "session_busy"

    def __init__(self, session_id: str, waited: float, retry_after: float = 2.0):
        self.session_id = session_id
        self.waited = waited
        self.retry_after = retry_after
        super().__init__(
            f"chat session {session_id!r} is busy: another message or feedback for it was still being "
            f"processed after {waited:g}s; send this one again once that one is answered"
        )
