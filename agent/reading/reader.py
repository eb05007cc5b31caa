"""The one reader of a user's message, whichever way it arrives (``recommend``, ``chat``, HTTP, the evals).

The deterministic parser reads every message. In the ``learned`` mode (an option; the parser is the default) the span classifier of
:mod:`recagent.agent.reading.learned` then decides which year and genre spans are hard constraints, soft
genres or nothing (``combined``: the same, but where it is unsure the parser's reading stands; for the
eval). Without a span model (the file missing, or a catalog whose genres it was not trained for) the
parser's reading is the learned mode's. In the ``hybrid`` and ``llm`` modes the LLM also reads the
messages the parser cannot settle on its own (:func:`~recagent.agent.reading.llm.needs_llm`), and the two
readings are merged. A message is parsed once: the server asks whether a turn may call the LLM before it
runs the turn, and both questions are answered from the same parse.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Literal

from recagent.agent.backends.base import LLMBackend
from recagent.agent.reading.learned import LearnedReader
from recagent.agent.reading.llm import llm_reading, merge, needs_llm
from recagent.agent.reading.model import Spotter, Understanding
from recagent.agent.reading.parser import parse_message
from recagent.agent.schema import ReplyCheck

ReaderMode = Literal["learned", "combined", "parser", "hybrid", "llm"]
PARSE_CACHE = 256  # recent messages whose parse is kept (the parse is a pure function of the text)


class MessageReader:
    def __init__(
        self,
        genre_vocab: list[str],
        spot: Spotter | None = None,
        backend: LLMBackend | None = None,
        mode: ReaderMode = "parser",
        learned: LearnedReader | None = None,
    ):
        """``mode``: ``learned`` or ``combined`` (with ``learned``: the span classifier), ``parser`` (no LLM),
        ``hybrid`` or ``llm`` (see :mod:`recagent.agent.reading.llm`); without a ``backend`` (LLM modes) or
        ``learned`` (learned modes) the reader is the parser alone, whatever the mode."""
        self.genre_vocab = genre_vocab
        self.spot = spot
        self.backend = backend
        self.learned = learned if mode in ("learned", "combined") else None
        usable = backend is not None if mode in ("hybrid", "llm") else self.learned is not None
        self.mode: ReaderMode = mode if usable else "parser"
        self._parsed: OrderedDict[str, Understanding] = OrderedDict()
        self._learned: OrderedDict[str, Understanding] = OrderedDict()

    def parse(self, message: str) -> Understanding:
        """The parser's reading (a fresh copy: callers may change it)."""
        return _cached(self._parsed, message, lambda: parse_message(message, self.genre_vocab, self.spot))

    def may_call_llm(self, message: str) -> bool:
        """Whether reading ``message`` calls the LLM."""
        return self.mode in ("hybrid", "llm") and needs_llm(self.parse(message), message)

    def read_learned(self, message: str) -> Understanding:
        """The span classifier's reading (cached like the parse; a fresh copy)."""
        return _cached(self._learned, message, lambda: self.learned.read(message, self.parse(message)))

    def read(self, message: str) -> tuple[Understanding, list[ReplyCheck]]:
        """The message's reading in this reader's mode, and the check of each LLM call made for it."""
        if self.learned is not None:
            return self.read_learned(message), []
        parsed = self.parse(message)
        if self.mode == "parser" or not needs_llm(parsed, message):
            return parsed, []
        result = llm_reading(self.backend, message, self.genre_vocab)
        return merge(parsed, result.reading, message, self.mode), [result.check]


def _cached(cache: OrderedDict[str, Understanding], message: str, read) -> Understanding:
    """``read()``'s reading of ``message``, kept for the last ``PARSE_CACHE`` messages (a reading is a pure function
    of the text); a fresh copy each time, since callers may change it."""
    hit = cache.get(message)
    if hit is None:
        hit = cache[message] = read()
        if len(cache) > PARSE_CACHE:
            cache.popitem(last=False)
    else:
        cache.move_to_end(message)
    return hit.model_copy(deep=True)
