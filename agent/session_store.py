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

A session's state is read, changed and written back by a whole chat turn (seconds of LLM work in
between) or by a like/dislike. Two of those at once for one session, in two processes, would each
save the state they read and the later save would drop the other's changes. So every
read-modify-write runs inside :meth:`SessionStore.session_lock`, a per-session mutex that holds
across processes and hosts:

* PostgreSQL: a session-level advisory lock, ``pg_advisory_lock(key)`` with ``key`` a 64-bit hash
  of the session id, on a connection of its own (opened for the lock, closed when it is released).
  The wait is bounded by ``lock_timeout``. PostgreSQL releases the lock when that connection ends,
  so a process that is killed while holding it never leaves the session locked.
* SQLite: ``flock`` on an empty file ``<database>.locks/<key>.lock``, one per session, which the
  kernel releases when the holder exits, however it exits; every process that opens the database
  file (on one machine: SQLite is not for network file systems) sees the same lock files. The
  lock files are never deleted (deleting one safely would need an inode check on every acquire);
  they are empty and may be removed while no app process runs. An in-memory database, seen by one
  process only, uses a lock in that process.

Waiting past the timeout raises :class:`~recagent.errors.SessionBusyError` (``session_busy``, HTTP
409 with ``Retry-After``). The lock is not reentrant: never take it twice for one session in one
thread. Its scope is the state only: turns are appended under their own row lock and may be
written with or without it. A row version checked on save would only turn the lost update into an
error after the LLM work is done; the lock makes the second request wait instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc

from recagent.agent.schema import RecommendationResponse
from recagent.agent.state.model import ChatState
from recagent.errors import RecagentError, SessionBusyError, SessionStoreError

try:
    import fcntl as _fcntl
except ImportError:  # Windows has no flock: SQLite sessions are then locked within one process only
    _fcntl = None


class UnknownSessionError(RecagentError):
    code = "unknown_session"

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
_LOCK_POLL_S = (0.005, 0.05)  # SQLite: first and longest sleep between flock attempts


def session_lock_key(session_id: str) -> int:
    """The session's lock key: a signed 64-bit hash of its id, the same in every process and host."""
    return int.from_bytes(hashlib.blake2b(session_id.encode(), digest_size=8).digest(), "big", signed=True)


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
        self._lock_engine: sa.Engine | None = None  # PostgreSQL: unpooled connections that hold session locks
        self._local_locks: weakref.WeakValueDictionary[str, threading.Lock] = weakref.WeakValueDictionary()
        self._local_locks_guard = threading.Lock()
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

    @contextlib.contextmanager
    def session_lock(self, session_id: str, timeout: float = 30.0) -> Iterator[None]:
        """Hold ``session_id`` against every other holder, in any thread, process or host sharing
        this database, for a read-modify-write of its state: ``get`` (or ``load_or_create``) inside.
        Waits up to ``timeout`` seconds, then raises :class:`SessionBusyError`. Not reentrant."""
        if self.dialect == "postgresql":
            lock = self._advisory_lock(session_id, timeout)
        elif self.path is not None and _fcntl is not None:
            lock = self._file_lock(session_id, timeout)
        else:  # an in-memory database (one process sees it), or no flock on this platform
            lock = self._local_lock(session_id, timeout)
        with lock:
            yield

    @contextlib.contextmanager
    def _advisory_lock(self, session_id: str, timeout: float) -> Iterator[None]:
        if self._lock_engine is None:
            # no pool: the lock lives exactly as long as its connection, which nothing else ever reuses
            self._lock_engine = sa.create_engine(
                self.url, poolclass=sa.NullPool, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 10}
            )
        key = session_lock_key(session_id)
        try:
            conn = self._lock_engine.connect()
        except (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DatabaseError) as e:
            raise self._failed(e) from e
        try:
            try:
                # lock_timeout bounds the wait for any lock, advisory ones included (0 would mean no bound)
                conn.execute(sa.select(sa.func.set_config("lock_timeout", f"{max(1, round(timeout * 1000))}ms", False)))
                conn.execute(sa.select(sa.func.pg_advisory_lock(key)))
            except sa_exc.OperationalError as e:
                if getattr(e.orig, "sqlstate", None) == "55P03":  # lock_not_available: the timeout passed
                    raise SessionBusyError(session_id, timeout) from None
                raise self._failed(e) from e
            except (sa_exc.InterfaceError, sa_exc.DatabaseError) as e:
                raise self._failed(e) from e
            try:
                yield
            finally:
                try:
                    conn.execute(sa.select(sa.func.pg_advisory_unlock(key)))
                except sa_exc.DBAPIError:
                    pass  # the connection is broken, so the server has dropped the lock already
        finally:
            conn.close()  # ends the server session: the lock is gone even if the unlock above failed

    @contextlib.contextmanager
    def _file_lock(self, session_id: str, timeout: float) -> Iterator[None]:
        assert self.path is not None and _fcntl is not None
        folder = self.path.with_name(self.path.name + ".locks")
        name = f"{session_lock_key(session_id) & 0xFFFFFFFFFFFFFFFF:016x}.lock"
        try:
            folder.mkdir(exist_ok=True)
            # a descriptor of our own per acquire: flock excludes other threads of this process too
            fd = os.open(folder / name, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as e:
            raise SessionStoreError(f"cannot open the session lock file in {folder}: {e.strerror}") from None
        try:
            deadline = time.monotonic() + timeout
            pause = _LOCK_POLL_S[0]
            while True:
                try:
                    _fcntl.flock(fd, _fcntl.LOCK_EX | _fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise SessionBusyError(session_id, timeout) from None
                    time.sleep(min(pause, left))
                    pause = min(pause * 2, _LOCK_POLL_S[1])
            try:
                yield
            finally:
                _fcntl.flock(fd, _fcntl.LOCK_UN)
        finally:
            os.close(fd)  # the kernel also drops the lock when the process dies holding it

    @contextlib.contextmanager
    def _local_lock(self, session_id: str, timeout: float) -> Iterator[None]:
        with self._local_locks_guard:
            lock = self._local_locks.get(session_id)
            if lock is None:
                lock = self._local_locks[session_id] = threading.Lock()
        if not lock.acquire(timeout=max(timeout, 0)):
            raise SessionBusyError(session_id, timeout)
        try:
            yield
        finally:
            lock.release()

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
        if self._lock_engine is not None:
            self._lock_engine.dispose()


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
