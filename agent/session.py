"""Chat sessions: their state and their turns, persisted in SQLite.

Every user turn is written before it is processed and every answer right after,
each in its own transaction, so a chat resumes after a restart and no turn is
lost on a crash. Schema changes are named migrations, applied once, in order.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from pydantic import BaseModel, Field

from agent.schema import RecommendationResponse
from recagent.errors import RecagentError
from retrieval.filters import Filters


class UnknownSessionError(RecagentError):
    code = "unknown_session"

    def __init__(self, session_id: str):
        super().__init__(f"no chat session {session_id!r}")


class ChatState(BaseModel):
    session_id: str
    user_id: str | None = None
    liked_ids: list[str] = Field(default_factory=list)
    disliked_ids: list[str] = Field(default_factory=list)
    seen_ids: list[str] = Field(default_factory=list)
    genres: list[str] = Field(default_factory=list)
    exclude_genres: list[str] = Field(default_factory=list)
    year_min: int | None = None
    year_max: int | None = None
    keywords: list[str] = Field(default_factory=list)
    request: str | None = Field(None, description="the last message that asked for something in words")
    shown_ids: list[str] = Field(default_factory=list, description="everything recommended so far")
    last_shown: list[str] = Field(default_factory=list, description="the latest list, in order")
    last_years: list[int | None] = Field(default_factory=list)
    turns: int = 0

    def filters(self, allow_repeats: bool = False) -> Filters:
        excluded = self.seen_ids + self.disliked_ids + ([] if allow_repeats else self.shown_ids)
        return Filters(
            year_min=self.year_min,
            year_max=self.year_max,
            genres=list(self.genres),
            exclude_genres=list(self.exclude_genres),
            exclude_ids=list(dict.fromkeys(excluded)),
        )


class Turn(BaseModel):
    index: int
    role: str
    content: str
    response: RecommendationResponse | None = None
    created_at: float


MIGRATIONS: list[tuple[str, str]] = [
    (
        "001_sessions_and_turns",
        """
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY, state TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL
        );
        CREATE TABLE turns (
            session_id TEXT NOT NULL REFERENCES sessions(id), idx INTEGER NOT NULL, role TEXT NOT NULL,
            content TEXT NOT NULL, response TEXT, created_at REAL NOT NULL, PRIMARY KEY (session_id, idx)
        );
        """,
    ),
]


class SessionStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._migrate()

    def _migrate(self) -> None:
        with self._lock:
            self._db.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
            done = {r[0] for r in self._db.execute("SELECT name FROM migrations")}
            for name, sql in MIGRATIONS:
                if name in done:
                    continue
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    for stmt in filter(str.strip, sql.split(";")):
                        self._db.execute(stmt)
                    self._db.execute("INSERT INTO migrations VALUES (?, ?)", (name, time.time()))
                    self._db.execute("COMMIT")
                except Exception:
                    self._db.execute("ROLLBACK")
                    raise

    def get(self, session_id: str) -> ChatState:
        with self._lock:
            row = self._db.execute("SELECT state FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise UnknownSessionError(session_id)
        return ChatState.model_validate_json(row[0])

    def load_or_create(self, session_id: str, user_id: str | None = None) -> ChatState:
        try:
            state = self.get(session_id)
        except UnknownSessionError:
            state = ChatState(session_id=session_id, user_id=user_id)
            now = time.time()
            with self._lock:
                self._db.execute(
                    "INSERT OR IGNORE INTO sessions VALUES (?, ?, ?, ?)",
                    (session_id, state.model_dump_json(), now, now),
                )
            return self.get(session_id)
        if user_id is not None and state.user_id != user_id:
            state.user_id = user_id
            self.save(state)
        return state

    def save(self, state: ChatState) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE sessions SET state = ?, updated_at = ? WHERE id = ?",
                (state.model_dump_json(), time.time(), state.session_id),
            )

    def add_turn(self, session_id: str, role: str, content: str, response: RecommendationResponse | None = None) -> int:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                (idx,) = self._db.execute(
                    "SELECT COALESCE(MAX(idx), -1) + 1 FROM turns WHERE session_id = ?", (session_id,)
                ).fetchone()
                self._db.execute(
                    "INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?)",
                    (session_id, idx, role, content, response.model_dump_json() if response else None, time.time()),
                )
                self._db.execute("COMMIT")
            except Exception:
                self._db.execute("ROLLBACK")
                raise
        return idx

    def turns(self, session_id: str) -> list[Turn]:
        with self._lock:
            rows = self._db.execute(
                "SELECT idx, role, content, response, created_at FROM turns WHERE session_id = ? ORDER BY idx",
                (session_id,),
            ).fetchall()
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
        with self._lock:
            self._db.close()
