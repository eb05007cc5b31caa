"""The structured-call helper: call, validate, one repair with the error fed back, a typed failure.

A local stub with a queue of replies stands in for the LLM (these tests are about the loop around
it; the real llama.cpp path is exercised by test_rerank.py)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from recagent.agent.backends import BackendTimeout, ChatMessage, Completion, CompletionRequest, LLMBackend
from recagent.agent.schema import ReplyCheck
from recagent.agent.structured import CallStats, InvalidReply, StructuredCallError, call_structured, model_checker


class Queue(LLMBackend):
    name = model = "queue"

    def __init__(self, *replies):
        self.replies = list(replies)
        self.requests: list[CompletionRequest] = []

    def _complete(self, request):
        self.requests.append(request)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return Completion(text=reply, prompt_tokens=3, completion_tokens=2)


class Pick(BaseModel):
    item_id: str


REQUEST = CompletionRequest(messages=[ChatMessage(role="user", content="pick one")])


def _repair(e: InvalidReply) -> str:
    return f"invalid ({e.problem}); again"


def test_a_valid_first_reply_is_one_call_and_one_valid_check():
    backend, stats = Queue('{"item_id": "7"}'), CallStats()
    got = call_structured(backend, REQUEST, model_checker(Pick), stats, repair=_repair)
    assert got == Pick(item_id="7") and len(backend.requests) == 1
    assert stats.attempts == 1 and stats.checks == [ReplyCheck(valid=True)]
    assert stats.usage.prompt_tokens == 3 and stats.model == "queue"


def test_an_invalid_reply_is_repaired_with_the_error_fed_back():
    backend, stats = Queue("not json", '{"item_id": "7"}'), CallStats()
    got = call_structured(backend, REQUEST, model_checker(Pick), stats, repair=_repair)
    assert got.item_id == "7" and stats.attempts == 2
    assert [c.valid for c in stats.checks] == [False, True]
    assert stats.checks[0].error.startswith("invalid output: Expecting value")
    first, second = backend.requests
    assert first.messages == REQUEST.messages
    assert [m.role for m in second.messages] == ["user", "assistant", "user"]
    assert second.messages[1].content == "not json" and second.messages[2].content.startswith(
        "invalid (Expecting value"
    )


def test_two_invalid_replies_raise_a_typed_failure_with_the_last_raw_reply():
    backend, stats = Queue("not json", '{"id": 1}'), CallStats()
    with pytest.raises(StructuredCallError) as failed:
        call_structured(backend, REQUEST, model_checker(Pick), stats, repair=_repair)
    e = failed.value
    assert e.attempts == 2 and e.raw == '{"id": 1}' and "validation error for Pick" in e.reason
    assert isinstance(e.error, InvalidReply) and [c.valid for c in e.checks] == [False, False]
    assert stats.checks == e.checks and stats.attempts == 2


def test_a_backend_error_is_retried_with_the_same_request_and_recorded():
    backend, stats = Queue(BackendTimeout("slow"), '{"item_id": "2"}'), CallStats()
    assert call_structured(backend, REQUEST, model_checker(Pick), stats, repair=_repair).item_id == "2"
    assert backend.requests[0] == backend.requests[1]
    assert stats.checks[0] == ReplyCheck(valid=False, error="BackendTimeout: slow") and stats.attempts == 2


def test_without_a_repair_prompt_a_rejected_reply_is_sent_again_unchanged():
    backend = Queue("x", "y")
    with pytest.raises(StructuredCallError) as failed:
        call_structured(backend, REQUEST, model_checker(Pick))
    assert backend.requests[0] == backend.requests[1] and failed.value.raw == "y"


def test_one_attempt_means_no_repair_and_the_checker_words_the_reason():
    def short(c: Completion):
        raise InvalidReply("too short", check=ReplyCheck(valid=True, returned=1), reason="summary: too short")

    backend, stats = Queue("hi"), CallStats()
    with pytest.raises(StructuredCallError) as failed:
        call_structured(backend, REQUEST, short, stats, attempts=1, repair=_repair)
    assert len(backend.requests) == 1 and failed.value.attempts == 1
    assert stats.checks == [ReplyCheck(valid=False, returned=1, error="summary: too short")]


def test_unanswered_calls_can_be_left_out_of_the_attempts():
    stats = CallStats()
    with pytest.raises(StructuredCallError):
        call_structured(
            Queue(BackendTimeout("t")), REQUEST, model_checker(Pick), stats, attempts=1, count_unanswered=False
        )
    assert stats.attempts == 0 and stats.checks[0].error == "BackendTimeout: t"
