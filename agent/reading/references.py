"""References to the last list shown: "the second one", "#2", "the last one", "that one"."""

from __future__ import annotations

import re

from recagent.agent.reading.model import ListReference, Understanding
from recagent.agent.reading.patterns import (
    ANAPHOR,
    LIST_REF,
    MORE_LIKE,
    NOT_SEEN,
    ORDINALS,
    REJECT_FOCUS,
    SEEN_WORDS,
    WANT_ANY,
)
from recagent.agent.reading.text import sentence_bounds, spans_overlap
from recagent.agent.reading.titles import stance_of
from recagent.agent.vocabulary import Stance


def read_references(low: str, u: Understanding, title_spans: list[tuple[int, int]]) -> None:
    for m in LIST_REF.finditer(low):
        if spans_overlap((m.start(), m.end()), title_spans):
            continue
        if m["ord"] == "last" and not re.search(r"\bthe\s+last\b", m.group(0)):
            continue
        if m["ord"] in ("top", "first", "last") and not re.search(
            r"\b(one|pick|movie|film|suggestion|option)\b", m.group(0)
        ):
            if not re.search(r"\b(more like|not|seen|watched|skip|no|like|than)\s+(the\s+)?$", low[: m.start()] + " "):
                continue
        pos = ORDINALS[m["ord"]] if m["ord"] else int(m["num"])
        before = low[max(0, m.start() - 25) : m.start()]
        more = bool(MORE_LIKE.search(before))
        stance = "liked" if more else _ref_stance(low, m.start(), m.end())
        u.references.append(ListReference(position=pos, stance=stance, more_like=more))
    if u.references or u.mentions:
        return
    if NOT_SEEN.search(low):
        u.references.append(ListReference(position=0, stance="want" if WANT_ANY.search(low) else "neutral"))
        return
    if REJECT_FOCUS.search(low):
        u.references.append(ListReference(position=0, stance="seen" if SEEN_WORDS.search(low) else "disliked"))
        return
    if ANAPHOR.search(low) and (m := ANAPHOR.search(low)):
        stance = _ref_stance(low, m.start(), m.end())
        if stance != "neutral":
            u.references.append(ListReference(position=0, stance=stance))


def _ref_stance(low: str, start: int, end: int) -> Stance:
    s_start, s_end = sentence_bounds(low, start)
    sentence = low[s_start:s_end]
    if NOT_SEEN.search(low):
        return "want" if WANT_ANY.search(low) else "neutral"
    if re.search(r"\b(not|skip|no)\s+(the\s+)?$", low[max(0, start - 12) : start]) or REJECT_FOCUS.search(sentence):
        return "seen" if SEEN_WORDS.search(sentence) else "disliked"
    st = stance_of(low, start, end)
    if st != "neutral":
        return st
    return "asking" if "?" in sentence else "neutral"
