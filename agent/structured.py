"""One structured LLM call: call the backend, validate the reply, repair once, or fail with a typed error.

Every LLM call in recagent (the reranker's rankings and label scores, its explanations, the message
reading, the history summary) goes through :func:`call_structured`, so they all behave alike:

1. the request goes to the backend;
2. the reply goes to a *checker*: a function that returns the parsed value and a
   :class:`~recagent.agent.schema.ReplyCheck`, or raises :class:`InvalidReply`
   (:func:`model_checker` makes one from a pydantic model);
3. on an invalid reply or a backend error, one more attempt: with a ``repair`` prompt, the invalid
   reply and what was wrong with it are fed back (as instructor's retry does), otherwise the same
   request is sent again;
4. when the attempts are spent, :class:`StructuredCallError` carries the last raw reply, the number
   of attempts, the reason and the checks of every reply.

A check is recorded for every attempt, failures included, into the caller's :class:`CallStats`, so a
response reports what validation found in each reply. Callers catch :class:`StructuredCallError`
and fall back: an LLM call never fails a request.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from recagent.agent.backends.base import ChatMessage, Completion, CompletionRequest, LLMBackend, LLMError
from recagent.agent.schema import ReplyCheck, Usage
from recagent.prompts import RenderedPrompt

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
Checker = Callable[[Completion], tuple[T, ReplyCheck]]
REPLY_ECHO_MAX = 2000  # how much of an invalid reply a repair prompt quotes back


class InvalidReply(ValueError):
    """A reply the checker rejects.

    ``problem``: what is wrong, in words a repair prompt can quote; ``reason``: what the check and the
    failure record (default ``"invalid output: <problem>"``); ``check``: what validation found before
    it gave up (counts of returned, out-of-candidate and duplicate items), if anything."""

    def __init__(self, problem: str, check: ReplyCheck | None = None, reason: str | None = None):
        super().__init__(problem)
        self.problem = problem
        self.check = check
        self.reason = f"invalid output: {problem}" if reason is None else reason


class StructuredCallError(Exception):
    """Every attempt failed. ``raw``: the last reply the backend gave (None if it gave none);
    ``attempts``: the calls made; ``checks``: one per attempt; ``error``: the last exception (an
    :class:`~recagent.agent.backends.base.LLMError` or an :class:`InvalidReply`)."""

    def __init__(
        self, reason: str, raw: str | None, attempts: int, checks: list[ReplyCheck], error: Exception | None = None
    ):
        super().__init__(reason)
        self.reason, self.raw, self.attempts, self.checks, self.error = reason, raw, attempts, checks, error


@dataclass
class CallStats:
    """What one response's LLM calls cost and what validation found, summed over its calls."""

    usage: Usage = field(default_factory=Usage)
    attempts: int = 0
    llm_ms: float = 0.0
    model: str | None = None
    prompt: RenderedPrompt | None = None
    checks: list[ReplyCheck] = field(default_factory=list)

    def add(self, completion: Completion) -> None:
        self.usage = self.usage + Usage(
            prompt_tokens=completion.prompt_tokens, completion_tokens=completion.completion_tokens
        )
        self.llm_ms += completion.latency_ms
        self.model = completion.model


def backend_reason(error: LLMError) -> str:
    """The default record of a backend failure: its type and message."""
    return f"{type(error).__name__}: {error}"


def model_checker(model: type[M], reason: Callable[[Exception], str] | None = None) -> Checker[M]:
    """A checker that parses the reply as JSON into ``model``; ``reason`` words the failure record
    from the parse error (default ``"invalid output: <error>"``)."""

    def check(completion: Completion) -> tuple[M, ReplyCheck]:
        try:
            value = model.model_validate(json.loads(completion.text))
        except (json.JSONDecodeError, ValidationError) as e:
            raise InvalidReply(str(e), reason=reason(e) if reason else None) from e
        return value, ReplyCheck(valid=True)

    return check


def call_structured(
    backend: LLMBackend,
    request: CompletionRequest,
    check: Checker[T],
    stats: CallStats | None = None,
    *,
    attempts: int = 2,
    repair: Callable[[InvalidReply], str] | None = None,
    describe: Callable[[LLMError], str] = backend_reason,
    count_unanswered: bool = True,
) -> T:
    """The checker's value for the first valid reply within ``attempts`` calls; raises
    :class:`StructuredCallError` when none is valid.

    ``repair`` words the follow-up message after an invalid reply (the conversation then goes on with
    the reply and that message); without it, a failed attempt sends the same request again.
    ``describe`` words the record of a backend error. ``count_unanswered=False`` counts in
    ``stats.attempts`` only the calls the backend answered (the LLM explanations have always
    counted so)."""
    stats = stats if stats is not None else CallStats()
    messages = list(request.messages)
    raw, reason, error = None, "", None
    checks: list[ReplyCheck] = []

    def record(c: ReplyCheck) -> None:
        checks.append(c)
        stats.checks.append(c)

    for _ in range(attempts):
        if count_unanswered:
            stats.attempts += 1
        try:
            completion = backend.complete(request.model_copy(update={"messages": messages}))
        except LLMError as e:
            reason, error = describe(e), e
            record(ReplyCheck(valid=False, error=reason))
            continue
        stats.add(completion)
        if not count_unanswered:
            stats.attempts += 1
        raw = completion.text
        try:
            value, found = check(completion)
        except InvalidReply as e:
            reason, error = e.reason, e
            record((e.check or ReplyCheck(valid=False)).model_copy(update={"valid": False, "error": reason}))
            if repair is not None:
                messages = [
                    *request.messages,
                    ChatMessage(role="assistant", content=completion.text[:REPLY_ECHO_MAX]),
                    ChatMessage(role="user", content=repair(e)),
                ]
            continue
        record(found)
        return value
    raise StructuredCallError(reason, raw, attempts, checks, error)
