"""The HTTP API and the web chat page: a thin shell over one :class:`Recommender`.

``create_app()`` with no argument reads the settings from the environment, so uvicorn can
build one app per worker process (``recagent.server.app:create_app`` with ``factory=True``).
The index and the models load in a background thread at startup: ``/healthz`` answers at
once, ``/readyz`` and the API answer 503 ``not_ready`` until the load is done. Blocking work
(embedding, Chroma, llama.cpp, SQLite) runs in worker threads, never on the event loop; LLM
work goes through :class:`~recagent.server.gate.LLMGate`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Annotated

from anyio import to_thread
from fastapi import FastAPI, Query, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.background import BackgroundTask

from recagent.agent.schema import RecommendationResponse
from recagent.errors import RecagentError, ServiceError, UnknownUserError
from recagent.recommender import Recommender, SearchHit
from recagent.server import errors
from recagent.server.errors import APIError, error_body
from recagent.server.gate import LLMGate, SessionLocks
from recagent.server.middleware import APIKey, BodyLimit, CatchAll, JSONOnly
from recagent.server.models import (
    ChatRequest,
    ErrorBody,
    FeedbackRequest,
    Health,
    Item,
    RecommendRequest,
    SessionView,
    VisibleText,
)
from recagent.server.worker import WorkerHeader
from recagent.settings import Settings
from recagent.threads import blas_limit

log = logging.getLogger("recagent.server")
STATIC = Path(__file__).resolve().parent / "static"
NOT_READY_RETRY_S = 5

ERROR_TEXT = {
    400: "malformed JSON or invalid UTF-8",
    401: "missing or wrong X-API-Key (when the server has a key)",
    404: "unknown user, item or session",
    409: "another process holds the session's turn lock (Retry-After)",
    413: "the body is over the size limit",
    415: "the body is not application/json",
    422: "the request does not validate (blank text, a bool for a number...), or a title/genre cannot be matched",
    429: "overloaded: too many LLM requests waiting (Retry-After)",
    500: "an internal error (logged on the server)",
    503: "not ready yet, or no LLM slot within the queue timeout (Retry-After)",
}
ALWAYS = (500, 503)  # any route: an unexpected error; the API before the load is done (readiness)
API = (401, *ALWAYS)  # every /v1/ route: the API key
BODY = (400, 413, 415, 422, *API)  # every route that takes a JSON body


def errors_for(*statuses: int) -> dict:
    """The error answers of one route, for its OpenAPI ``responses`` (every one in the ErrorBody shape)."""
    return {s: {"model": ErrorBody, "description": ERROR_TEXT[s]} for s in sorted(set(statuses))}


def warm_up(rec: Recommender) -> None:
    """Load everything a request needs: catalog, vector index (must be built), ALS, embedder, LLM(s)."""
    # the hybrid retriever needs the catalog, the vector store (IndexNotBuiltError when empty), ALS and
    # popularity; the agent needs the reranker and its LLM backend (the model loads here) and the sessions
    for part in ("hybrid", "resolver", "agent", "summarizer"):
        getattr(rec, part)
    # one search before any concurrency: the vector store allocates its in-memory matrix on the first
    # fetch (and a small catalog loads every vector then), which is not safe to race from two threads
    rec.search("warm up", 1)


class LoadFailed(ServiceError):
    """Loading the catalog, the index or the models failed with an unexpected error (logged with its traceback)."""

    code = "load_failed"
    status = 503


class Readiness:
    def __init__(self):
        self.status = "loading"
        self.error: RecagentError | None = None
        self.loaded_in_s: float | None = None

    def load(self, rec: Recommender, warm: Callable[[Recommender], None]) -> None:
        t0 = time.perf_counter()
        try:
            warm(rec)
        except RecagentError as e:
            self.error, self.status = e, "failed"
            log.error("recagent could not load: %s", e)
            return
        except Exception as e:  # logged with its traceback; the API answers 503 with a plain message
            self.error, self.status = LoadFailed(f"loading failed ({type(e).__name__}); see the server log"), "failed"
            log.exception("recagent could not load")
            return
        self.loaded_in_s = round(time.perf_counter() - t0, 2)
        self.status = "ready"
        log.info("recagent ready in %.1f s", self.loaded_in_s)

    def check(self) -> None:
        if self.status == "ready":
            return
        if self.status == "loading":
            raise APIError(503, "not_ready", "the index and the model are still loading", retry_after=NOT_READY_RETRY_S)
        raise APIError(503, self.error.code, str(self.error))


def _llm_concurrency(settings: Settings) -> int:
    # one llama.cpp context must never run two calls at once (the backend also holds a lock)
    return 1 if settings.llm_backend == "llama_cpp" else settings.server.llm_concurrency


def sse(event: str, data) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def create_app(
    settings: Settings | None = None,
    recommender: Recommender | None = None,
    warm: Callable[[Recommender], None] = warm_up,
) -> FastAPI:
    """The app. ``recommender`` lets tests share an already loaded one; ``warm`` is the startup load.

    Called with neither settings nor a recommender, as uvicorn's factory does in each worker process
    (``recagent serve``), the process is the server's: it also limits BLAS to ``Settings.blas_threads``
    threads for the rest of the process. Given either, it changes nothing process-wide."""
    if settings is None and recommender is None:
        settings = Settings()
        blas_limit(settings.blas_threads)
    elif settings is None:
        settings = recommender.settings
    rec = recommender or Recommender(settings)
    server = settings.server
    readiness = Readiness()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # created inside the running loop: asyncio primitives bind to the loop that first uses them
        app.state.gate = LLMGate(_llm_concurrency(settings), server.queue_size, server.queue_timeout)
        app.state.locks = SessionLocks()
        threading.Thread(target=readiness.load, args=(rec, warm), name="recagent-load", daemon=True).start()
        yield

    app = FastAPI(
        title="recagent",
        summary="Conversational recommendations: hybrid retrieval, LLM reranking, validated JSON.",
        version="1",
        lifespan=lifespan,
    )
    app.state.recommender = rec
    app.state.readiness = readiness
    errors.install(app)
    # add_middleware wraps: the last added is the outermost
    app.add_middleware(CatchAll)
    app.add_middleware(BodyLimit, max_bytes=server.max_body_bytes)
    app.add_middleware(JSONOnly)
    app.add_middleware(APIKey, key=server.api_key.get_secret_value() if server.api_key else None)
    if server.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=server.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-API-Key"],
            expose_headers=["Retry-After"],
        )
    app.add_middleware(WorkerHeader)  # outermost: every answer, errors included, names its process

    def gate(request: Request) -> LLMGate:
        return request.app.state.gate

    def locks(request: Request) -> SessionLocks:
        return request.app.state.locks

    def check_message(message: str) -> str:
        from recagent.agent.safety import clean_message

        return clean_message(message, settings.max_message_chars)  # before queueing: MessageTooLongError

    def check_query(query: str) -> str:
        """A recommend query may be a whole dialogue: the recommender folds one over the message limit."""
        from recagent.agent.safety import clean_message

        return clean_message(query, settings.max_query_chars)

    def check_user(user_id: str | int | None) -> None:
        """One rule on every endpoint: a user_id that is not in the interaction log is a 404
        ``unknown_user``, before anything is stored (pass liked titles or ids for a new user)."""
        if user_id is not None and not rec.hybrid.knows(str(user_id)):
            raise UnknownUserError(str(user_id))

    # ------------------------------------------------------------------ probes and page

    @app.get("/healthz", response_model=Health, tags=["probes"], responses=errors_for(500))
    async def healthz() -> Health:
        """The process is alive: always 200, with the load's state in ``status`` ("loading", "ok" once ready,
        "failed"), so the page can wait for readiness without logging a 503 per poll."""
        state = {"ready": "ok", "loading": "loading"}.get(readiness.status, "failed")
        return Health(status=state)

    @app.get("/readyz", response_model=Health, tags=["probes"], responses=errors_for(*ALWAYS))
    async def readyz(request: Request) -> Health:
        """200 once the index and the model are loaded; 503 before (or when loading failed)."""
        readiness.check()
        return Health(status="ok", detail=f"loaded in {readiness.loaded_in_s} s", llm=gate(request).stats())

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        """The page links its icon; this answers a browser's or a bookmark's default request for it."""
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # ------------------------------------------------------------------ API

    @app.post(
        "/v1/recommend",
        response_model=RecommendationResponse,
        tags=["recommend"],
        responses=errors_for(*BODY, 404, 429),
    )
    async def recommend(body: RecommendRequest, request: Request) -> RecommendationResponse:
        """Recommendations for a known user, liked titles or ids, and/or a request in words."""
        readiness.check()
        check_user(body.user_id)
        if body.query:
            check_query(body.query)

        def work():
            return rec.recommend(
                user_id=body.user_id,
                likes=body.likes,
                liked_ids=body.liked_ids,
                query=body.query,
                k=body.k,
                filters=body.filters,
                rerank=body.rerank,
                mode=body.mode,
                bootstrap=body.bootstrap,
            )

        # no LLM slot when no LLM is called: no rerank, or a reranker whose calibrated weight is 0
        if not body.rerank or not rec.reranker.uses_llm(body.mode):
            return await to_thread.run_sync(work)
        async with gate(request).slot():
            return await to_thread.run_sync(work)

    @app.post(
        "/v1/chat",
        response_model=RecommendationResponse,
        tags=["chat"],
        responses=errors_for(*BODY, 404, 409, 429),
    )
    async def chat(body: ChatRequest, request: Request) -> RecommendationResponse:
        """One chat turn in a session (created on first use, persisted, resumable)."""
        readiness.check()
        check_user(body.user_id)
        message = check_message(body.message)
        async with AsyncExitStack() as held:
            await held.enter_async_context(locks(request).hold(body.session_id))
            if rec.chat_uses_llm(message):  # a turn that calls no LLM does not queue for a slot
                await held.enter_async_context(gate(request).slot())
            return await to_thread.run_sync(lambda: rec.chat(body.session_id, message, body.k, body.user_id))

    @app.post(
        "/v1/chat/stream",
        tags=["chat"],
        response_class=StreamingResponse,
        responses={
            200: {"content": {"text/event-stream": {}}, "description": "server-sent events"},
            **errors_for(*BODY, 404, 409, 429),
        },
    )
    async def chat_stream(body: ChatRequest, request: Request) -> StreamingResponse:
        """The chat turn as server-sent events: ``status``, ``message``, one ``recommendation`` per
        item, then ``done`` with the whole response (or ``error``). Overload is refused before the
        stream starts (429/503), like ``/v1/chat``."""
        readiness.check()
        check_user(body.user_id)
        message = check_message(body.message)
        held = AsyncExitStack()
        await held.enter_async_context(locks(request).hold(body.session_id))
        try:
            if rec.chat_uses_llm(message):
                await held.enter_async_context(gate(request).slot())
        except BaseException:
            await held.aclose()
            raise

        async def events() -> AsyncIterator[bytes]:
            try:
                yield sse("status", {"stage": "started", "session_id": body.session_id})
                try:
                    response = await to_thread.run_sync(
                        lambda: rec.chat(body.session_id, message, body.k, body.user_id)
                    )
                except RecagentError as e:
                    yield sse("error", error_body(e.code, str(e)))
                    return
                except Exception:
                    log.exception("unhandled error in a chat stream")
                    yield sse("error", error_body("internal", "an internal error occurred; it has been logged"))
                    return
                yield sse("message", {"message": response.message, "source": response.source})
                for r in response.recommendations:
                    yield sse("recommendation", r.model_dump(mode="json"))
                yield sse("done", response.model_dump(mode="json"))
            finally:
                await held.aclose()

        # the background task releases the slot even when the client leaves before the stream starts
        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            background=BackgroundTask(held.aclose),
        )

    @app.get(
        "/v1/sessions/{session_id}", response_model=SessionView, tags=["chat"], responses=errors_for(*API, 404, 422)
    )
    async def session(session_id: str) -> SessionView:
        """A session's state (likes, dislikes, constraints, shown items) and all its turns."""
        readiness.check()

        def work():
            state = rec.sessions.get(session_id)  # UnknownSessionError -> 404
            return SessionView(session_id=session_id, state=state, turns=rec.sessions.turns(session_id))

        return await to_thread.run_sync(work)

    @app.post(
        "/v1/sessions/{session_id}/feedback",
        response_model=SessionView,
        tags=["chat"],
        responses=errors_for(*BODY, 404, 409),
    )
    async def feedback(session_id: str, body: FeedbackRequest, request: Request) -> SessionView:
        """Like, dislike or mark as seen one item: a disliked or seen item is never shown again in the
        session; a liked one steers the next answers."""
        readiness.check()

        def work():
            state = rec.feedback(session_id, body.item_id, body.kind)
            return SessionView(session_id=session_id, state=state, turns=rec.sessions.turns(session_id))

        async with locks(request).hold(session_id):
            return await to_thread.run_sync(work)

    @app.get("/v1/items/search", response_model=list[SearchHit], tags=["items"], responses=errors_for(*API, 422))
    async def search(
        q: Annotated[VisibleText, Query(min_length=1, max_length=500, description="text to match")],
        k: Annotated[int, Query(ge=1, le=100)] = 10,
    ) -> list[SearchHit]:
        """Items whose text is nearest to ``q`` (vector search only, no LLM)."""
        readiness.check()
        return await to_thread.run_sync(lambda: rec.search(q, k))

    @app.get("/v1/items", response_model=list[Item], tags=["items"], responses=errors_for(*API, 404, 422))
    async def items(
        ids: Annotated[str, Query(description="comma-separated item ids", max_length=2000)],
    ) -> list[Item]:
        """Catalog facts (title, year, genres) for item ids, e.g. to show recommendations as cards."""
        readiness.check()
        out = []
        for iid in dict.fromkeys(i.strip() for i in ids.split(",") if i.strip()):
            it = rec.catalog.get(iid)  # UnknownItemError -> 404
            out.append(Item(item_id=it.id, title=it.title, year=it.year, genres=list(it.genres)))
        return out

    return app


__all__ = ["create_app", "warm_up"]
