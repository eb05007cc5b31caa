"""The one reader of a user's message, whichever way it arrives (``recommend``, ``chat``, HTTP, the evals).

The deterministic parser reads every message; in the ``hybrid`` and ``llm`` modes the LLM also reads the
messages the parser cannot settle on its own (:func:`~recagent.agent.reading.llm.needs_llm`), and the two
readings are merged. A message is parsed once: the server asks whether a turn may call the LLM before it
runs the turn, and both questions are answered from the same parse.
"""

from __future__ import annotations

from collections import OrderedDict

from recagent.agent.backends.base import LLMBackend
from recagent.agent.reading.llm import Mode, llm_reading, merge, needs_llm
from recagent.agent.reading.model import Spotter, Understanding
from recagent.agent.reading.parser import parse_message
from recagent.agent.schema import ReplyCheck

PARSE_CACHE = 256  # recent messages whose parse is kept (the parse is a pure function of the text)


class MessageReader:
    def __init__(
        self,
        genre_vocab: list[str],
        spot: Spotter | None = None,
        backend: LLMBackend | None = None,
        mode: Mode = "parser",
    ):
        """``mode``: ``parser`` (no LLM), ``hybrid`` or ``llm`` (see :mod:`recagent.agent.reading.llm`);
        without a ``backend`` the reader is the parser alone, whatever the mode."""
        self.genre_vocab = genre_vocab
        self.spot = spot
        self.backend = backend
        self.mode: Mode = mode if backend is not None else "parser"
        self._parsed: OrderedDict[str, Understanding] = OrderedDict()

    def parse(self, message: str) -> Understanding:
        """The parser's reading (a fresh copy: callers may change it)."""
        hit = self._parsed.get(message)
        if hit is None:
            hit = parse_message(message, self.genre_vocab, self.spot)
            self._parsed[message] = hit
            if len(self._parsed) > PARSE_CACHE:
                self._parsed.popitem(last=False)
        else:
            self._parsed.move_to_end(message)
        return hit.model_copy(deep=True)

    def may_call_llm(self, message: str) -> bool:
        """Whether reading ``message`` calls the LLM."""
        return self.mode != "parser" and needs_llm(self.parse(message), message)

    def read(self, message: str) -> tuple[Understanding, list[ReplyCheck]]:
        """The message's reading in this reader's mode, and the check of each LLM call made for it."""
        parsed = self.parse(message)
        if self.mode == "parser" or not needs_llm(parsed, message):
            return parsed, []
        result = llm_reading(self.backend, message, self.genre_vocab)
        return merge(parsed, result.reading, message, self.mode), [result.check]
