"""People's names in a message: kept out of titles and genres, and answered honestly (the catalog has
no cast or crew)."""

from __future__ import annotations

import re

from recagent.agent.reading.text import fold_text, spans_overlap
from recagent.agent.vocabulary import COMMON_WORDS, FIRST_NAMES, NICKNAMES, PEOPLE_CUES, SURNAMES


def find_people(text: str) -> list[tuple[str, int, int]]:
    """People's names in the message: (name, start, end). Known nicknames; a known first name followed by a
    surname or a capitalised word; a known surname or a capitalised name after "with", "starring", "by"."""
    low = fold_text(text)
    found: list[tuple[str, int, int]] = []
    for nick in NICKNAMES:
        for m in re.finditer(rf"(?<![\w]){re.escape(nick)}(?![\w])", low):
            found.append((nick, m.start(), m.end()))
    tokens = [(m.group(0), m.start(), m.end()) for m in re.finditer(r"[a-z](?:[a-z'-]*[a-z])?", low)]
    for i, (tok, s, e) in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if tok in FIRST_NAMES and nxt and low[e : nxt[1]].strip() == "":
            cap = text[nxt[1]].isupper() and text[s].isupper()
            if nxt[0] in SURNAMES or (cap and nxt[0] not in COMMON_WORDS):
                found.append((f"{tok} {nxt[0]}", s, nxt[2]))
                continue
        if tok in SURNAMES and not spans_overlap((s, e), [(a, b) for _, a, b in found]):
            before = low[max(0, s - 30) : s]
            after = low[e : e + 12]
            if re.search(r"\b(with|starring|featuring|by|directed by|from)\s+$", before) or re.match(
                r"\s*('s\s+)?(movies?|films?|flicks?|stuff)\b", after
            ):
                found.append((tok, s, e))
    for m in PEOPLE_CUES.finditer(low):
        rest = text[m.end() :]
        cap = re.match(r"((?:[A-Z][a-z'.-]+)(?:\s+[A-Z][a-z'.-]+){0,2})", rest)
        if cap and cap.group(1).lower() not in COMMON_WORDS:
            s = m.end()
            if not spans_overlap((s, s + len(cap.group(1))), [(a, b) for _, a, b in found]):
                found.append((cap.group(1).lower(), s, s + len(cap.group(1))))
    found.sort(key=lambda f: f[1])
    out: list[tuple[str, int, int]] = []
    for f in found:
        if not spans_overlap((f[1], f[2]), [(a, b) for _, a, b in out]):
            out.append(f)
    return out
