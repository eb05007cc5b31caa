"""Per-session locks of the session store: one mutex per session that holds across processes and hosts.

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
from sqlalchemy import exc as sa_exc

from recagent.errors import SessionBusyError, SessionStoreError

try:
    import fcntl as _fcntl
except ImportError:  # Windows has no flock: SQLite sessions are then locked within one process only
    _fcntl = None

_LOCK_POLL_S = (0.005, 0.05)  # SQLite: first and longest sleep between flock attempts


def session_lock_key(session_id: str) -> int:
    """The session's lock key: a signed 64-bit hash of its id, the same in every process and host."""
    return int.from_bytes(hashlib.blake2b(session_id.encode(), digest_size=8).digest(), "big", signed=True)


class SessionLocks:
    """The per-session locks of one session store: an advisory lock (PostgreSQL), a lock file (SQLite
    on disk) or a lock in this process (an in-memory database, or no flock on this platform)."""

    def __init__(self, url: sa.URL, dialect: str, path: Path | None, failed: Callable[[Exception], SessionStoreError]):
        """``failed`` turns a database failure into the store's :class:`SessionStoreError`."""
        self.url, self.dialect, self.path = url, dialect, path
        self._failed = failed
        self._lock_engine: sa.Engine | None = None  # PostgreSQL: unpooled connections that hold session locks
        self._local_locks: weakref.WeakValueDictionary[str, threading.Lock] = weakref.WeakValueDictionary()
        self._local_locks_guard = threading.Lock()

    @contextlib.contextmanager
    def hold(self, session_id: str, timeout: float) -> Iterator[None]:
        """Hold ``session_id``'s lock, waiting up to ``timeout`` seconds (then :class:`SessionBusyError`)."""
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

    def close(self) -> None:
        if self._lock_engine is not None:
            self._lock_engine.dispose()
