"""One fake LLM for unit tests of the agent logic around the model (parsing, repair, fallback, fusion).

``FakeLLM`` is a real ``LLMBackend``: it implements the one abstract method, ``_complete``, so the
latency, backend and model fields come from the base class exactly as for llama.cpp or an OpenAI-style
server. Tests queue the replies they expect and then assert on what the code under test asked:

    fake = FakeLLM('{"recommendations": []}', BackendError("503"))
    ...
    assert fake.calls == 2 and "not JSON" in fake.prompts[1]

A reply is a string (the completion text), a ``Completion`` (for label log-probabilities), an exception
instance (raised, as a failing backend would), or a callable taking the ``CompletionRequest`` and
returning one of those (for a reply that depends on the prompt). Each call takes the next queued reply;
with the queue empty it takes ``default``, and with no default the call is a test bug: it raises an
``AssertionError`` naming the prompt and is remembered in ``unexpected``, which the ``fake_llm`` fixture
checks at teardown, so a call swallowed by code that catches broadly still fails the test.

The real model is tested beside these tests (the ``llama`` fixture): this fake is for the code around it.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from typing import Union

from recagent.agent.backends.base import Completion, CompletionRequest, LLMBackend

Reply = Union[str, Completion, BaseException, Callable[[CompletionRequest], "Reply"]]

_SHOWN = re.compile(r"^([A-Z])\. (.+?) \|", flags=re.M)


class FakeLLM(LLMBackend):
    """Canned replies in order, a history of every request, and a loud failure on an unplanned call."""

    def __init__(self, *replies: Reply, default: Reply | None = None, name: str = "fake", model: str = "fake-1"):
        self.name, self.model = name, model
        self.queue: deque[Reply] = deque(replies)
        self.default = default
        self.history: list[CompletionRequest] = []
        self.unexpected: list[str] = []

    def enqueue(self, *replies: Reply) -> FakeLLM:
        self.queue.extend(replies)
        return self

    @property
    def calls(self) -> int:
        return len(self.history)

    @property
    def prompts(self) -> list[str]:
        """The last message of each request, in call order (the user turn, or the repair request)."""
        return [r.messages[-1].content for r in self.history]

    def _complete(self, request: CompletionRequest) -> Completion:
        self.history.append(request)
        if self.queue:
            reply = self.queue.popleft()
        elif self.default is not None:
            reply = self.default
        else:
            prompt = request.messages[-1].content if request.messages else ""
            msg = (
                f"{self.name}: unexpected LLM call #{self.calls} (no reply queued, no default) "
                f"for prompt: {prompt[:400]!r}"
            )
            self.unexpected.append(msg)
            raise AssertionError(msg)
        return self._answer(reply, request)

    def _answer(self, reply: Reply, request: CompletionRequest) -> Completion:
        while callable(reply) and not isinstance(reply, BaseException):
            reply = reply(request)
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, Completion):
            return reply
        prompt = "".join(m.content for m in request.messages)
        return Completion(
            text=reply, prompt_tokens=self.count_tokens(prompt), completion_tokens=self.count_tokens(reply)
        )


def shown_labels(request: CompletionRequest) -> dict[str, str]:
    """Which title the scoring prompt shows behind which letter ("A. Heat (1995) | ..."), as a model reads it."""
    return dict(_SHOWN.findall(request.messages[-1].content))


def label_reply(logprob: Callable[[int, str, str], float]) -> Callable[[CompletionRequest], Completion]:
    """A scoring-mode reply: each label's first-token log-probability is ``logprob(position, label, title)``,
    the title being the one the prompt shows behind that label ("" if none)."""

    def reply(request: CompletionRequest) -> Completion:
        shown = shown_labels(request)
        lps = {lb: logprob(i, lb, shown.get(lb, "")) for i, lb in enumerate(request.label_tokens)}
        return Completion(text="A", prompt_tokens=50, label_logprobs=lps)

    return reply
