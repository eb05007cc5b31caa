"""Admission control for LLM work, and one-at-a-time turns per chat session.

``LLMGate`` lets ``concurrency`` requests run and ``queue_size`` wait. A request that finds
the queue full is refused at once with 429; one that waits longer than ``queue_timeout`` gets
503. Both carry a ``Retry-After`` estimated from recent service times, so an overloaded server
answers quickly instead of piling up hanging connections.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from recagent.server.errors import APIError


class LLMGate:
    def __init__(self, concurrency: int, queue_size: int, queue_timeout: float):
        self.concurrency = concurrency
        self.queue_size = queue_size
        self.queue_timeout = queue_timeout
        self._slots = asyncio.Semaphore(concurrency)
        self.running = 0
        self.waiting = 0
        self.service_s: float | None = None  # moving average of the time a slot is held
        self.refused = 0

    def retry_after(self) -> float:
        """Seconds until a slot is likely free for one more request."""
        per_call = self.service_s or 1.0
        return max(1.0, per_call * (self.waiting + 1) / self.concurrency)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._slots.locked() and self.waiting >= self.queue_size:
            self.refused += 1
            raise APIError(
                429,
                "overloaded",
                f"the server is busy: {self.running} LLM request(s) running and {self.waiting} waiting; retry later",
                retry_after=self.retry_after(),
            )
        self.waiting += 1
        try:
            await asyncio.wait_for(self._slots.acquire(), self.queue_timeout)
        except TimeoutError:
            self.refused += 1
            raise APIError(
                503,
                "queue_timeout",
                f"no LLM slot became free within {self.queue_timeout:g}s; retry later",
                retry_after=self.retry_after(),
            ) from None
        finally:
            self.waiting -= 1
        self.running += 1
        t0 = time.perf_counter()
        try:
            yield
        finally:
            held = time.perf_counter() - t0
            self.service_s = held if self.service_s is None else 0.8 * self.service_s + 0.2 * held
            self.running -= 1
            self._slots.release()

    def stats(self) -> dict:
        return {
            "concurrency": self.concurrency,
            "running": self.running,
            "waiting": self.waiting,
            "queue_size": self.queue_size,
            "refused": self.refused,
        }


class SessionLocks:
    """One turn at a time per session id in this process: two tabs on one session cannot interleave
    their state updates. Locks are dropped when nobody holds or waits for them."""

    def __init__(self):
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, session_id: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(session_id, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[session_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[session_id]
            if users <= 1:
                del self._locks[session_id]
            else:
                self._locks[session_id] = (lock, users - 1)
