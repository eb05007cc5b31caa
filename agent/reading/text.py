"""Text helpers of the reader: the folded message, spans, clause and sentence bounds, and the few
judgements about a stretch of text that several readers share (a wish, a description, someone else)."""

from __future__ import annotations

import re

from recagent.agent.reading.patterns import CLAUSE_BREAK, FIRST_PERSON_WISH, SUBJECT, THIRD_PERSON, WISH
from recagent.agent.vocabulary import DESCRIPTIVE_BEFORE


def fold_text(text: str) -> str:
    """Lowercase with every apostrophe a plain ', the same length as the message (offsets hold)."""
    return text.lower().replace("’", "'").replace("‘", "'")


def spans_overlap(a: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(a[0] < e and s < a[1] for s, e in spans)


def clause_bounds(low: str, pos: int) -> tuple[int, int]:
    """The clause around ``pos``: from the previous clause break to the next one."""
    start, end = 0, len(low)
    for m in CLAUSE_BREAK.finditer(low):
        if m.end() <= pos:
            start = m.end()
        elif m.start() >= pos:
            end = m.start()
            break
    return start, end


def sentence_of(low: str, pos: int) -> str:
    s, e = sentence_bounds(low, pos)
    return low[s:e]


def sentence_bounds(low: str, pos: int) -> tuple[int, int]:
    start, end = 0, len(low)
    for m in re.finditer(r"[.!?…]+|\n", low):
        if m.end() <= pos:
            start = m.end()
        elif m.start() >= pos:
            end = m.end()
            break
    return start, end


def is_wishful(sentence: str) -> bool:
    """A wish: a wish word ("looking for", "something", "please"), or a bare request fragment with no
    subject of its own ("a sci-fi movie from the 1980s without romance", "funny animated films for kids")."""
    return bool(WISH.search(sentence)) or not SUBJECT.search(sentence)


def adjacent(low: str, a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Two spans with at most spaces or an apostrophe between them ("80's classics", "older 80's comedies")."""
    gap = low[a[1] : b[0]] if a[1] <= b[0] else low[b[1] : a[0]] if b[1] <= a[0] else ""
    return bool(re.fullmatch(r"[\s'-]*", gap))


def about_someone_else(sentence_before: str, message: str = "") -> bool:
    """The sentence so far is about another person ("He has some classics from the 90's") and ``message`` (that
    sentence when not given) asks for nothing ("He likes adventure ... Any ideas?" asks for him)."""
    return bool(THIRD_PERSON.search(sentence_before)) and not FIRST_PERSON_WISH.search(message or sentence_before)


def is_descriptive(before: str) -> bool:
    """'most horror today is not scary': a description, not a wish ('something that's not too dark' is a wish)."""
    if not DESCRIPTIVE_BEFORE.search(before):
        return False
    return not re.search(
        r"\b(something|anything|one|ones|movie|movies|film|films)\s+(that|which)\s*('s|'re|is|are)?\s+(\w+\s+){0,2}$",
        before,
    )
