"""Every error the API answers is ``{"error": {"code": ..., "message": ...}}`` with a stable code.

The library's typed errors carry their code and their HTTP status on the class (a
:class:`~recagent.errors.UserError` is a 4xx, a :class:`~recagent.errors.ServiceError` a 5xx); this
module only writes them out. Anything unexpected is logged here and answered as a plain 500
``internal``: never a stack trace.
"""

from __future__ import annotations

import json
import logging
import math
import re
import unicodedata

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from recagent.errors import RecagentError

log = logging.getLogger("recagent.server")

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "overloaded",
    503: "unavailable",
}


class APIError(Exception):
    """An error raised by the HTTP layer itself (not ready, overloaded, bad body...)."""

    def __init__(self, status: int, code: str, message: str, retry_after: float | None = None, details=None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.retry_after, self.details = retry_after, details


ECHO_MAX = 80  # the longest run of client text an error message repeats
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_TOKEN = re.compile(r"\S{%d,}" % (ECHO_MAX + 1))


def _escape(text: str) -> str:
    """Control, format (bidi, zero-width) and other invisible characters written as escapes, never raw."""
    return "".join(c if c == " " or unicodedata.category(c)[0] not in "CZ" else f"\\u{ord(c):04x}" for c in text)


def _shorten(match: re.Match) -> str:
    text = match.group(0)
    if len(text) <= ECHO_MAX:
        return text
    quote = text[0] if text[0] in "'\"" else ""
    return text[: ECHO_MAX - 1 - len(quote)] + "\u2026" + quote


def echo_safe(text: str) -> str:
    """An error message as clients get it: client text it quotes (an id, a title) cut to about
    ``ECHO_MAX`` characters with an ellipsis, and no raw control or invisible character."""
    return _TOKEN.sub(_shorten, _QUOTED.sub(_shorten, _escape(text)))


def _safe(value):
    if isinstance(value, str):
        return echo_safe(value)
    if isinstance(value, list):
        return [_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: _safe(v) for k, v in value.items()}
    return value


def error_body(code: str, message: str, details=None) -> dict:
    error = {"code": code, "message": echo_safe(message)}
    if details is not None:
        error["details"] = _safe(details)
    return {"error": error}


def error_response(
    status: int, code: str, message: str, retry_after: float | None = None, details=None, headers=None
) -> JSONResponse:
    headers = dict(headers or {})
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def _details(error: RecagentError):
    unresolved = getattr(error, "unresolved", None)
    if unresolved is not None:
        return {"unresolved": unresolved}
    return None


def recagent_error(error: RecagentError) -> JSONResponse:
    status = error.status
    if status >= 500:
        log.error("%s: %s", error.code, error)
    if error.opaque:  # the message names the server's own files or hosts
        return error_response(status, error.code, f"{error.opaque}; see the server log")
    retry_after = getattr(error, "retry_after", None)  # e.g. session_busy: when to send it again
    return error_response(status, error.code, str(error), retry_after=retry_after, details=_details(error))


def _validation_details(errors) -> list[dict]:
    out = []
    for e in errors:
        loc = [str(x) for x in e.get("loc", ()) if x != "body"]
        out.append({"field": ".".join(loc) or "body", "message": e.get("msg", ""), "type": e.get("type", "")})
    return out


def validation_error(errors) -> JSONResponse:
    errors = list(errors)
    if any(e.get("type") == "json_invalid" for e in errors):
        ctx = next(e for e in errors if e.get("type") == "json_invalid").get("ctx", {})
        return error_response(400, "malformed_json", f"the request body is not valid JSON: {ctx.get('error', '')}")
    details = _validation_details(errors)
    first = details[0] if details else {"field": "body", "message": "invalid"}
    return error_response(422, "invalid_request", f"invalid {first['field']}: {first['message']}", details=details)


def install(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api_error(request: Request, exc: APIError):
        return error_response(exc.status, exc.code, exc.message, exc.retry_after, exc.details)

    @app.exception_handler(RecagentError)
    async def _recagent_error(request: Request, exc: RecagentError):
        return recagent_error(exc)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(request: Request, exc: RequestValidationError):
        return validation_error(exc.errors())

    @app.exception_handler(ValidationError)
    async def _model_validation(request: Request, exc: ValidationError):  # e.g. Filters built from a body
        return validation_error(exc.errors(include_url=False))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        code = HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        if exc.status_code == 404:
            message = f"no route {request.method} {request.url.path}"
        elif exc.status_code == 405:
            message = f"method {request.method} is not allowed on {request.url.path}"
        else:
            message = str(exc.detail)
        return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))


def json_error_bytes(code: str, message: str) -> bytes:
    return json.dumps(error_body(code, message)).encode()
