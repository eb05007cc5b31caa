"""Plain ASGI middleware: API key, request body limit and UTF-8 check, and the last-resort 500.

Order, outermost first (see ``app.create_app``): CORS, API key, body limit, catch-all, then
FastAPI's own exception handling and the routes.
"""

from __future__ import annotations

import hmac
import logging

from recagent.server.errors import json_error_bytes

log = logging.getLogger("recagent.server")

BODY_METHODS = {"POST", "PUT", "PATCH"}


async def send_error(send, status: int, code: str, message: str, headers: list | None = None) -> None:
    body = json_error_bytes(code, message)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _header(scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value
    return None


class CatchAll:
    """An exception no handler knew: log it with its traceback, answer 500 ``internal``."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:  # part of the answer is out: the connection is closed, nothing else is possible
                raise
            await send_error(send, 500, "internal", "an internal error occurred; it has been logged on the server")


class BodyLimit:
    """Refuse bodies over ``max_bytes`` (413) and bodies that are not UTF-8 (400), before any parsing.

    The body is read here (it is small by construction) and replayed to the app.
    """

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            return await self.app(scope, receive, send)
        too_large = f"the request body is over the {self.max_bytes:,}-byte limit"
        length = _header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return await send_error(send, 413, "body_too_large", too_large)
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                return await send_error(send, 413, "body_too_large", too_large)
            if not message.get("more_body", False):
                break
        try:
            bytes(body).decode("utf-8")
        except UnicodeDecodeError as e:
            return await send_error(send, 400, "invalid_utf8", f"the request body is not valid UTF-8 (byte {e.start})")

        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class APIKey:
    """When a key is configured, every path under ``prefix`` needs it in the ``X-API-Key`` header.

    The page, the docs and the health probes stay open; CORS preflights (OPTIONS) never carry it.
    """

    def __init__(self, app, key: str | None, prefix: str = "/v1/"):
        self.app = app
        self.key = key.encode() if key else None
        self.prefix = prefix

    async def __call__(self, scope, receive, send):
        if (
            self.key is None
            or scope["type"] != "http"
            or scope["method"] == "OPTIONS"
            or not scope["path"].startswith(self.prefix)
        ):
            return await self.app(scope, receive, send)
        given = _header(scope, b"x-api-key")
        if given is None:
            return await send_error(send, 401, "unauthorized", "this API needs a key in the X-API-Key header")
        if not hmac.compare_digest(given, self.key):
            return await send_error(send, 401, "unauthorized", "the X-API-Key header does not match the server's key")
        await self.app(scope, receive, send)


class JSONOnly:
    """A request body on the API must say it is JSON: any other content type (a form, plain text, none)
    is a 415 ``unsupported_media_type``, before the body is read. A request without a body passes (the
    route answers 422 if it needed one)."""

    def __init__(self, app, prefix: str = "/v1/"):
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS or not scope["path"].startswith(self.prefix):
            return await self.app(scope, receive, send)
        kind = _header(scope, b"content-type")
        length = _header(scope, b"content-length")
        has_body = kind is not None or _header(scope, b"transfer-encoding") is not None or length not in (None, b"0")
        media = (kind or b"").split(b";")[0].strip().lower()
        if has_body and not (
            media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json"))
        ):
            shown = media.decode("latin-1")[:80] or "none"
            return await send_error(
                send, 415, "unsupported_media_type", f"the request body must be application/json, not {shown}"
            )
        await self.app(scope, receive, send)
