"""The session store's contract, run against SQLite and against a real PostgreSQL server.

Each database gets the same tests: create/load/save, turn order, resuming after the store is
reopened, idempotent migrations, two processes appending to one session at once, and the
per-session lock: two processes updating one state lose nothing, a held lock times out with a
typed error, and a holder that is killed leaves the session free.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import threading
import time

import pytest
import sqlalchemy as sa

from recagent.agent import session_store as session_module
from recagent.agent.schema import Recommendation, RecommendationResponse
from recagent.agent.session_store import SessionStore, UnknownSessionError
from recagent.agent.state.model import ChatState
from recagent.errors import SessionBusyError, SessionStoreError
from recagent.recommender import Recommender
from recagent.settings import Settings
from tests.support.postgres import postgres_server
from tests.support.servers import free_port

TURNS_PER_WRITER = 40
UPDATES_PER_WRITER = 30


def _response(item_id: str) -> RecommendationResponse:
    rec = Recommendation(item_id=item_id, title=f"Movie {item_id}", rank=1, score=0.5, explanation="because")
    return RecommendationResponse(recommendations=[rec], source="retrieval", message="here you go")


def _append_turns(url: str, session_id: str, writer: str, n: int, start: multiprocessing.Event) -> None:
    """Runs in a separate process: its own store, its own connections."""
    store = SessionStore(url)
    start.wait(30)
    for i in range(n):
        store.add_turn(session_id, "user", f"{writer}-{i}")
    store.close()


def _update_state(url: str, session_id: str, writer: str, n: int, start: multiprocessing.Event) -> None:
    """Runs in a separate process: n read-modify-writes of one session's state, each under the lock."""
    store = SessionStore(url)
    start.wait(30)
    for i in range(n):
        with store.session_lock(session_id, timeout=30):
            state = store.get(session_id)
            time.sleep(0.002)  # the other writer reads in here: without the lock one of the two saves is lost
            state.liked_ids.append(f"{writer}-{i}")
            store.save(state)
    store.close()


def _hold_lock(url: str, session_id: str, held: multiprocessing.Event, release: multiprocessing.Event) -> None:
    """Runs in a separate process: takes the session's lock and keeps it until told (or killed)."""
    store = SessionStore(url)
    with store.session_lock(session_id, timeout=30):
        held.set()
        release.wait(60)


class SessionStoreContract:
    """Subclasses provide ``url``: a database no one has used yet."""

    @pytest.fixture
    def url(self) -> str:
        raise NotImplementedError

    def test_create_load_save(self, url):
        store = SessionStore(url)
        with pytest.raises(UnknownSessionError):
            store.get("s1")
        state = store.load_or_create("s1")
        assert state == ChatState(session_id="s1")
        assert store.load_or_create("s1") == state, "a second load_or_create finds the same session"
        state.liked_ids = ["1", "2"]
        state.genres = ["Comedy"]
        state.year_max = 1999
        state.last_years = [1995, None]
        state.turns = 3
        store.save(state)
        assert store.get("s1") == state
        assert store.load_or_create("s1", user_id="42").user_id == "42"
        assert store.get("s1").user_id == "42" and store.get("s1").liked_ids == ["1", "2"]
        assert store.get("s1") != store.load_or_create("s2")

    def test_turns_keep_their_order_and_responses(self, url):
        store = SessionStore(url)
        store.load_or_create("chat")
        store.load_or_create("other")
        store.add_turn("other", "user", "elsewhere")
        written = []
        for i in range(5):
            written.append(store.add_turn("chat", "user", f"message {i} – ünïcode ✓"))
            written.append(store.add_turn("chat", "assistant", f"reply {i}", _response(str(i))))
        assert written == list(range(10))
        turns = store.turns("chat")
        assert [t.index for t in turns] == list(range(10))
        assert [t.role for t in turns] == ["user", "assistant"] * 5
        assert turns[2].content == "message 1 – ünïcode ✓" and turns[2].response is None
        assert turns[3].response == _response("1")
        assert all(a.created_at <= b.created_at for a, b in zip(turns, turns[1:]))
        assert [t.content for t in store.turns("other")] == ["elsewhere"]
        assert store.turns("nobody") == []

    def test_a_turn_needs_its_session(self, url):
        store = SessionStore(url)
        with pytest.raises(UnknownSessionError):
            store.add_turn("never-created", "user", "hello")

    def test_resume_after_reopening(self, url):
        store = SessionStore(url)
        state = store.load_or_create("resume", user_id="7")
        store.add_turn("resume", "user", "something funny")
        state.disliked_ids = ["10"]
        store.save(state)
        store.add_turn("resume", "assistant", "try these", _response("3"))
        store.close()

        reopened = SessionStore(url)
        assert reopened.get("resume") == state
        assert [(t.role, t.content) for t in reopened.turns("resume")] == [
            ("user", "something funny"),
            ("assistant", "try these"),
        ]
        assert reopened.add_turn("resume", "user", "more") == 2

    def test_migrations_are_applied_once_in_order(self, url, monkeypatch):
        names = [name for name, _ in session_module.MIGRATIONS]
        SessionStore(url).close()
        store = SessionStore(url)
        assert store.applied_migrations() == names
        store.load_or_create("kept")
        store.close()

        calls = []

        def add_index(conn: sa.Connection) -> None:
            calls.append(1)
            conn.execute(sa.text("CREATE INDEX turns_created_at ON turns (created_at)"))

        monkeypatch.setattr(session_module, "MIGRATIONS", [*session_module.MIGRATIONS, ("999_test_index", add_index)])
        store = SessionStore(url)
        SessionStore(url).close()
        assert calls == [1], "a new migration runs once, however often the store is opened"
        assert store.applied_migrations() == [*names, "999_test_index"]
        assert store.get("kept") == ChatState(session_id="kept"), "data survives a migration"

    def test_two_processes_append_to_one_session(self, url):
        store = SessionStore(url)
        store.load_or_create("busy")
        ctx = multiprocessing.get_context("spawn")
        start = ctx.Event()
        writers = [
            ctx.Process(target=_append_turns, args=(url, "busy", name, TURNS_PER_WRITER, start)) for name in "ab"
        ]
        for w in writers:
            w.start()
        start.set()
        # and a third writer in this process, on two threads sharing one store
        threads = [threading.Thread(target=self._append_in_thread, args=(store, f"t{j}")) for j in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for w in writers:
            w.join(120)
            assert w.exitcode == 0
        turns = store.turns("busy")
        total = 4 * TURNS_PER_WRITER
        assert [t.index for t in turns] == list(range(total)), "no index lost or taken twice"
        contents = [t.content for t in turns]
        assert len(set(contents)) == total
        for name in ("a", "b", "t0", "t1"):
            mine = [c for c in contents if c.startswith(f"{name}-")]
            assert mine == [f"{name}-{i}" for i in range(TURNS_PER_WRITER)], "each writer's turns stay in order"

    @staticmethod
    def _append_in_thread(store: SessionStore, name: str) -> None:
        for i in range(TURNS_PER_WRITER):
            store.add_turn("busy", "user", f"{name}-{i}")

    def test_two_processes_update_one_state_under_the_lock(self, url):
        store = SessionStore(url)
        store.load_or_create("shared")
        ctx = multiprocessing.get_context("spawn")
        start = ctx.Event()
        writers = [
            ctx.Process(target=_update_state, args=(url, "shared", name, UPDATES_PER_WRITER, start)) for name in "ab"
        ]
        for w in writers:
            w.start()
        start.set()
        for w in writers:
            w.join(120)
            assert w.exitcode == 0
        liked = store.get("shared").liked_ids
        assert sorted(liked) == sorted(f"{w}-{i}" for w in "ab" for i in range(UPDATES_PER_WRITER)), "no update lost"
        for w in "ab":
            assert [x for x in liked if x.startswith(f"{w}-")] == [f"{w}-{i}" for i in range(UPDATES_PER_WRITER)]

    def test_a_held_lock_times_out_with_a_typed_error(self, url):
        store = SessionStore(url)
        ctx = multiprocessing.get_context("spawn")
        held, release = ctx.Event(), ctx.Event()
        holder = ctx.Process(target=_hold_lock, args=(url, "held", held, release))
        holder.start()
        try:
            assert held.wait(60), "the holder process took the lock"
            t0 = time.monotonic()
            with pytest.raises(SessionBusyError, match="'held' is busy") as e:
                with store.session_lock("held", timeout=0.5):
                    pytest.fail("the lock was given while another process held it")
            waited = time.monotonic() - t0
            assert 0.45 <= waited < 5, waited
            assert e.value.code == "session_busy" and e.value.retry_after > 0
            with store.session_lock("another-session", timeout=1):  # other sessions are not held up
                pass
        finally:
            release.set()
            holder.join(30)
        assert holder.exitcode == 0
        with store.session_lock("held", timeout=5):  # free again once the holder let go
            pass

    def test_a_killed_holder_leaves_the_session_free(self, url):
        store = SessionStore(url)
        ctx = multiprocessing.get_context("spawn")
        held, release = ctx.Event(), ctx.Event()
        holder = ctx.Process(target=_hold_lock, args=(url, "orphan", held, release))
        holder.start()
        try:
            assert held.wait(60), "the holder process took the lock"
            with pytest.raises(SessionBusyError):
                with store.session_lock("orphan", timeout=0.2):
                    pass
        finally:
            os.kill(holder.pid, signal.SIGKILL)  # no finally, no unlock: only its death can release the lock
            holder.join(30)
        assert holder.exitcode == -signal.SIGKILL
        t0 = time.monotonic()
        with store.session_lock("orphan", timeout=10):
            assert time.monotonic() - t0 < 5


class TestSQLiteSessions(SessionStoreContract):
    @pytest.fixture(params=["path", "url"])
    def url(self, request, tmp_path) -> str:
        path = tmp_path / "state" / "sessions.sqlite"
        return str(path) if request.param == "path" else f"sqlite:///{path}"

    def test_a_file_written_before_sqlalchemy_still_opens(self, tmp_path):
        """The schema the sqlite3 version created, byte for byte: old session files keep working."""
        path = tmp_path / "sessions.sqlite"
        db = sqlite3.connect(path)
        db.executescript(
            """
            CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL);
            CREATE TABLE sessions (
                id TEXT PRIMARY KEY, state TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL
            );
            CREATE TABLE turns (
                session_id TEXT NOT NULL REFERENCES sessions(id), idx INTEGER NOT NULL, role TEXT NOT NULL,
                content TEXT NOT NULL, response TEXT, created_at REAL NOT NULL, PRIMARY KEY (session_id, idx)
            );
            INSERT INTO migrations VALUES ('001_sessions_and_turns', 1.0);
            """
        )
        old = ChatState(session_id="old", liked_ids=["5"], turns=1)
        db.execute("INSERT INTO sessions VALUES ('old', ?, 1.0, 1.0)", (old.model_dump_json(),))
        db.execute("INSERT INTO turns VALUES ('old', 0, 'user', 'hi', NULL, 1.0)")
        db.commit()
        db.close()

        store = SessionStore(path)
        assert store.applied_migrations() == ["001_sessions_and_turns"]
        assert store.get("old") == old
        assert [t.content for t in store.turns("old")] == ["hi"]
        assert store.add_turn("old", "assistant", "hello again") == 1

    def test_the_recommender_uses_the_configured_url(self, tmp_path):
        default = Recommender(Settings(data_dir=tmp_path / "a"))
        assert default.sessions.path == tmp_path / "a" / "sessions.sqlite"
        other = tmp_path / "b" / "shared.sqlite"
        configured = Recommender(Settings(data_dir=tmp_path / "a", sessions_url=f"sqlite:///{other}"))
        configured.sessions.load_or_create("x")
        assert configured.sessions.path == other and SessionStore(other).get("x").session_id == "x"

    def test_sessions_url_from_the_environment(self, tmp_path, monkeypatch):
        monkeypatch.setenv("RECAGENT_SESSIONS_URL", "postgresql+psycopg://app@db.internal/recagent")
        assert Settings(data_dir=tmp_path).sessions_url == "postgresql+psycopg://app@db.internal/recagent"


@pytest.fixture(scope="module")
def postgres():
    with postgres_server() as server:
        yield server


@pytest.mark.slow  # a real PostgreSQL server (scale-out)
class TestPostgresSessions(SessionStoreContract):
    @pytest.fixture
    def url(self, postgres) -> str:
        return postgres.new_database()

    def test_two_stores_open_a_fresh_database_at_once(self, url):
        """Concurrent first starts: the migration lock lets exactly one of them create the schema."""
        stores, errors = [], []

        def open_store():
            try:
                stores.append(SessionStore(url))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=open_store) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors and len(stores) == 4
        assert stores[0].applied_migrations() == [name for name, _ in session_module.MIGRATIONS]


def test_a_dead_server_is_a_clear_error():
    url = f"postgresql+psycopg://app:secret@127.0.0.1:{free_port()}/recagent"
    with pytest.raises(SessionStoreError, match=r"session store at postgresql\+psycopg://app:\*\*\*@127.0.0.1") as e:
        SessionStore(url)
    assert "secret" not in str(e.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("nosuchdb://somewhere/x", "cannot use 'nosuchdb://somewhere/x' as the session store"),
        ("postgresql+psycopg://app@db:port/recagent", "invalid session store URL"),
    ],
)
def test_a_bad_url_is_a_clear_error(url, message):
    with pytest.raises(SessionStoreError, match=message):
        SessionStore(url)


def test_an_unusable_sqlite_path_is_a_clear_error(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(SessionStoreError, match="cannot create the folder of the session store"):
        SessionStore(tmp_path / "a-file" / "sessions.sqlite")
