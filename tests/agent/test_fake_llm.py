"""The shared fake LLM (tests/support/fake_llm.py) keeps its promises: replies in order, a history of
what was asked, and a loud failure on a call no test planned."""

from __future__ import annotations

import pytest

from recagent.agent.backends.base import BackendError, ChatMessage, Completion, CompletionRequest
from tests.support.fake_llm import FakeLLM, label_reply, shown_labels


def ask(text: str, **extra) -> CompletionRequest:
    return CompletionRequest(messages=[ChatMessage(role="user", content=text)], **extra)


def test_replies_come_in_order_and_every_request_is_recorded():
    fake = FakeLLM("first", lambda r: r.messages[-1].content.upper(), BackendError("503"))
    out = fake.complete(ask("hello there"))
    assert out.text == "first" and out.backend == "fake" and out.model == "fake-1" and out.prompt_tokens > 0
    assert fake.complete(ask("shout")).text == "SHOUT"
    with pytest.raises(BackendError, match="503"):
        fake.complete(ask("third"))
    assert fake.calls == 3 and fake.prompts == ["hello there", "shout", "third"]


def test_an_unplanned_call_fails_loudly_and_names_the_prompt():
    fake = FakeLLM("only one")
    fake.complete(ask("planned"))
    with pytest.raises(AssertionError, match="unexpected LLM call #2.*'not planned'"):
        fake.complete(ask("not planned"))
    assert len(fake.unexpected) == 1, "remembered, so the fixture fails the test even if the call was caught"
    assert FakeLLM(default="again").complete(ask("x")).text == "again"


def test_label_replies_read_the_titles_behind_the_letters():
    prompt = "Rank these:\nA. Heat (1995) | Action\nB. Toy Story (1995) | Animation\n"
    assert shown_labels(ask(prompt)) == {"A": "Heat (1995)", "B": "Toy Story (1995)"}
    fake = FakeLLM(label_reply(lambda i, label, title: 0.0 if title.startswith("Toy") else -1.0))
    out = fake.complete(ask(prompt, label_tokens=["A", "B"]))
    assert isinstance(out, Completion) and out.label_logprobs == {"A": -1.0, "B": 0.0}
