"""Text meant for the machine, not for people: what no explanation shown to a user may contain.

An LLM that writes explanations sees candidate ids, labels, a JSON schema and a chat template; a
weak one copies them into its words ("The best candidate is 122916", "[A] is a fine pick",
``{"item_id": ...``, ``<|im_end|>``). None of that is a claim that grounding can check against the
catalog, and all of it is wrong to show, so :func:`internal_tokens` names each such token and the
grounding check (:mod:`recagent.agent.grounding`) fails the explanation for it. Years ("1995",
"1990s") are not ids; ordinary small numbers ("two hours", "top 10") are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Container

# each pattern with the name reported for it; case-insensitive unless the pattern says otherwise
_PATTERNS: list[tuple[str, re.Pattern]] = [
    (
        "a chat-template token",
        re.compile(r"<\|[^|<>]{0,40}\|>|</?s>|\[/?INST\]|<</?SYS>>|</?(?:system|user|assistant)>", re.I),
    ),
    ("a role marker", re.compile(r"(?:^|\n)\s*(?:system|user|assistant)\s*:", re.I)),
    ("JSON", re.compile(r"[{}]|\"\s*:|\"\w+\"\s*:|\\[n\"]|\[\s*\{")),
    ("a field name", re.compile(r"\b[a-z]+_[a-z0-9_]+\b", re.I)),
    (
        "an id reference",
        re.compile(r"\b(?:item|movie|film|catalog|candidate)[ _-]?ids?\b|\bid\s*[:#=]|#\s?\d+\b", re.I),
    ),
    ("a candidate label", re.compile(r"\[[A-Z]{1,2}\]|\b(?i:label|option|choice|candidate)\s+[A-Z]\b")),
    ("the word candidate", re.compile(r"\bcandidates?\b", re.I)),
    ("a score", re.compile(r"(?<![\d.])[01]\.\d{2,}\b|\blogprob|\blog-prob", re.I)),
    ("markup", re.compile(r"`|#{2,}|\*\*")),
]
_LONG_NUMBER = re.compile(r"(?<![\d.])\d{5,}(?!\d|\.\d)")  # no year, runtime or count has five digits
_NUMBER = re.compile(r"(?<![\w.])\d{4}(?!\w|\.\d)")  # four digits: an id unless it reads as a year
_YEARLIKE = re.compile(r"^(?:18|19|20)\d{2}$")
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*")


def internal_tokens(text: str, ids: Container[str] = ()) -> list[str]:
    """What in ``text`` is internal, as ``'<kind> "<token>"'``; empty when it reads as prose.

    ``ids``: the catalog's item ids; any of them written with a letter ("tt0111161") counts, and
    a number of five digits or more counts whether or not it is one.

    Give it the text without the titles it names: titles have numbers, "#" and "_" too ("Love Potion #9")."""
    found: list[str] = []
    for kind, pattern in _PATTERNS:
        m = pattern.search(text)
        if m:
            found.append(f'{kind} "{m.group(0).strip()[:30]}"')
    numbers = [n.group(0) for n in _LONG_NUMBER.finditer(text)]
    numbers += [n.group(0) for n in _NUMBER.finditer(text) if not _YEARLIKE.match(n.group(0))]
    if numbers:
        found.append(f'an item id "{numbers[0]}"')
    for token in _TOKEN.findall(text):
        if not token.isdigit() and any(c.isdigit() for c in token) and token in ids:
            found.append(f'an item id "{token}"')
            break
    return found
