"""The session store: chat sessions' states and turns, persisted through SQLAlchemy, with its
migrations and cross-process locks (the state itself is :mod:`recagent.agent.state.model`).

One store, configured by a database URL: SQLite under the data dir by default, PostgreSQL
(``postgresql+psycopg://user:password@host/db``) when several app processes share sessions.
Every user turn is written before it is processed and every answer right after,
each in its own transaction, so a chat resumes after a restart and no turn is
lost on a crash. Turn indexes are assigned under the session's row lock (PostgreSQL)
or the database write lock (SQLite), and the (session, index) primary key backs it up,
so writers in several processes never lose or duplicate a turn. Schema changes are
named migrations, applied once, in order, under a lock, on either database.

Every read-modify-write of a session's state runs inside :meth:`SessionStore.session_lock`, a
per-session mutex across processes and hosts (:mod:`recagent.agent.session_locks`).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc

from recagent.agent.schema import RecommendationResponse
from recagent.agent.session_locks import SessionLocks
from recagent.agent.state.model import ChatState
from recagent.errors import SessionStoreError, UserError


class UnknownSessionError(UserError):
    code = "unknown_session"
    status = 404

    def __init__(self, session_id: str):
        super().__init__(f"no chat session {session_id!r}")


class Turn(BaseModel):
    """One stored turn of a session: a user message, or an answer with its response."""

    index: int
    role: str
    content: str
    response: RecommendationResponse | None = None
    created_at: float


# The schema, as the first SQLite version wrote it (same names and columns: old files open as they are).
metadata = sa.MetaData()
migrations_table = sa.Table(
    "migrations",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("applied_at", sa.Float, nullable=False),
)
sessions_table = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)
turns_table = sa.Table(
    "turns",
    metadata,
    sa.Column("session_id", sa.Text, sa.ForeignKey("sessions.id"), primary_key=True),
    sa.Column("idx", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("response", sa.Text),
    sa.Column("created_at", sa.Float, nullable=False),
)


def _create_sessions_and_turns(conn: sa.Connection) -> None:
    sessions_table.create(conn)
    turns_table.create(conn)


# Named migrations, applied once each, in this order. Append; never edit or reorder one that shipped.
MIGRATIONS: list[tuple[str, Callable[[sa.Connection], None]]] = [
    ("001_sessions_and_turns", _create_sessions_and_turns),
]

_MIGRATION_LOCK = 0x7265636167  # PostgreSQL advisory lock key ("recag"): one migrator at a time
_TURN_RETRIES = 5


def database_url(target: str | Path) -> sa.URL:
    """A SQLAlchemy URL from a URL string, or from a file path for SQLite."""
    if isinstance(target, str) and "://" in target:
        try:
            url = sa.make_url(target)
        except (sa_exc.ArgumentError, ValueError) as e:
            raise SessionStoreError(f"invalid session store URL {target!r}: {e}") from None
    else:
        url = sa.URL.create("sqlite", database=str(target))
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        try:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise SessionStoreError(f"cannot create the folder of the session store {url.database}: {e}") from None
    return url


class SessionStore:
    """Chat sessions in SQLite (a file path or ``sqlite:///...``) or PostgreSQL (``postgresql+psycopg://...``)."""

    def __init__(self, target: str | Path):
        self.url = database_url(target)
        self.path = Path(self.url.database) if self.url.get_backend_name() == "sqlite" and self.url.database else None
        self._where = self.url.render_as_string(hide_password=True)
        self._engine = self._create_engine()
        self._pid = os.getpid()
        self._locks = SessionLocks(self.url, self.dialect, self.path, self._failed)
        self._migrate()

    # ------------------------------------------------------------------ engine and transactions

    def _create_engine(self) -> sa.Engine:
        try:
            backend = self.url.get_backend_name()
            if backend == "sqlite":
                engine = sa.create_engine(self.url, connect_args={"check_same_thread": False, "timeout": 30})
                sa.event.listen(engine, "connect", _sqlite_connect)
                sa.event.listen(engine, "begin", _sqlite_begin)
                return engine
            connect_args = {"connect_timeout": 10} if backend == "postgresql" else {}
            return sa.create_engine(self.url, pool_pre_ping=True, connect_args=connect_args)
        except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError, ImportError) as e:
            raise SessionStoreError(f"cannot use {self._where!r} as the session store: {e}") from None

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    @contextlib.contextmanager
    def _transaction(self, write: bool = False) -> Iterator[sa.Connection]:
        """One transaction; database failures become a :class:`SessionStoreError`."""
        if os.getpid() != self._pid:  # forked: the parent's pooled connections are not ours to use
            self._engine.dispose(close=False)
            self._pid = os.getpid()
        try:
            with self._engine.connect() as conn:
                if write:
                    conn = conn.execution_options(sqlite_immediate=True)
                with conn.begin():
                    yield conn
        except sa_exc.IntegrityError:
            raise
        except (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DatabaseError) as e:
            raise self._failed(e) from e

    def _failed(self, e: Exception) -> SessionStoreError:
        reason = str(getattr(e, "orig", None) or e).strip().splitlines()[0]
        hint = "is the file's folder writable?" if self.path else "is RECAGENT_SESSIONS_URL right and the server up?"
        return SessionStoreError(f"the session store at {self._where} failed: {reason} ({hint})")

    def _migrate(self) -> None:
        with self._transaction(write=True) as conn:
            if self.dialect == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
            migrations_table.create(conn, checkfirst=True)
            done = set(conn.scalars(sa.select(migrations_table.c.name)))
            for name, apply in MIGRATIONS:
                if name not in done:
                    apply(conn)
                    conn.execute(migrations_table.insert().values(name=name, applied_at=time.time()))

    def applied_migrations(self) -> list[str]:
        with self._transaction() as conn:
            return list(conn.scalars(sa.select(migrations_table.c.name).order_by(migrations_table.c.applied_at)))

    # ------------------------------------------------------------------ the per-session lock

    def session_lock(self, session_id: str, timeout: float = 30.0) -> contextlib.AbstractContextManager[None]:
        """Hold ``session_id`` against every other holder, in any thread, process or host sharing
        this database, for a read-modify-write of its state: ``get`` (or ``load_or_create``) inside.
        Waits up to ``timeout`` seconds, then raises :class:`SessionBusyError`. Not reentrant."""
        return self._locks.hold(session_id, timeout)

    # ------------------------------------------------------------------ the store

    def get(self, session_id: str) -> ChatState:
        with self._transaction() as conn:
            state = conn.scalar(sa.select(sessions_table.c.state).where(sessions_table.c.id == session_id))
        if state is None:
            raise UnknownSessionError(session_id)
        return ChatState.model_validate_json(state)

    def load_or_create(self, session_id: str, user_id: str | None = None) -> ChatState:
        try:
            state = self.get(session_id)
        except UnknownSessionError:
            state = ChatState(session_id=session_id, user_id=user_id)
            now = time.time()
            insert = _insert_ignoring_duplicates(self.dialect).values(
                id=session_id, state=state.model_dump_json(), created_at=now, updated_at=now
            )
            with self._transaction(write=True) as conn:
                conn.execute(insert)
            return self.get(session_id)
        if user_id is not None and state.user_id != user_id:
            state.user_id = user_id
            self.save(state)
        return state

    def save(self, state: ChatState) -> None:
        with self._transaction(write=True) as conn:
            conn.execute(
                sessions_table.update()
                .where(sessions_table.c.id == state.session_id)
                .values(state=state.model_dump_json(), updated_at=time.time())
            )

    def add_turn(self, session_id: str, role: str, content: str, response: RecommendationResponse | None = None) -> int:
        """Append a turn and return its index. The session must exist (``load_or_create``)."""
        payload = response.model_dump_json() if response else None
        for attempt in range(_TURN_RETRIES):
            try:
                with self._transaction(write=True) as conn:
                    # the session's row lock serialises appenders on PostgreSQL; SQLite's write lock
                    # (BEGIN IMMEDIATE) already does, and ignores FOR UPDATE
                    locked = conn.scalar(
                        sa.select(sessions_table.c.id).where(sessions_table.c.id == session_id).with_for_update()
                    )
                    if locked is None:
                        raise UnknownSessionError(session_id)
                    idx = conn.scalar(
                        sa.select(sa.func.coalesce(sa.func.max(turns_table.c.idx), -1) + 1).where(
                            turns_table.c.session_id == session_id
                        )
                    )
                    conn.execute(
                        turns_table.insert().values(
                            session_id=session_id,
                            idx=idx,
                            role=role,
                            content=content,
                            response=payload,
                            created_at=time.time(),
                        )
                    )
                return idx
            except sa_exc.IntegrityError:  # another writer took this index: read the new maximum, try again
                if attempt == _TURN_RETRIES - 1:
                    raise SessionStoreError(
                        f"could not append a turn to session {session_id!r} after {_TURN_RETRIES} attempts"
                    ) from None
        raise AssertionError("unreachable")

    def turns(self, session_id: str) -> list[Turn]:
        with self._transaction() as conn:
            rows = conn.execute(
                sa.select(
                    turns_table.c.idx,
                    turns_table.c.role,
                    turns_table.c.content,
                    turns_table.c.response,
                    turns_table.c.created_at,
                )
                .where(turns_table.c.session_id == session_id)
                .order_by(turns_table.c.idx)
            ).all()
        return [
            Turn(
                index=i,
                role=role,
                content=content,
                response=RecommendationResponse.model_validate_json(resp) if resp else None,
                created_at=ts,
            )
            for i, role, content, resp, ts in rows
        ]

    def close(self) -> None:
        self._engine.dispose()
        self._locks.close()


def _insert_ignoring_duplicates(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise SessionStoreError(f"unsupported session store database {dialect!r}: use SQLite or PostgreSQL")
    return insert(sessions_table).on_conflict_do_nothing(index_elements=["id"])


def _sqlite_connect(dbapi_connection, _record) -> None:
    # the driver's own transaction handling is off: _sqlite_begin emits BEGIN itself
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA journal_mode=WAL")
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def _sqlite_begin(conn: sa.Connection) -> None:
    # writers take the database write lock up front (waiting up to the timeout), so a transaction never
    # fails half-way on a lock upgrade; readers read a snapshot without blocking anyone
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("sqlite_immediate") else "BEGIN")
