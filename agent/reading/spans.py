"""Candidate spans for the learned reader: every year or decade expression and every genre word of a message,
each with the reading its words would have *if* it were a hard constraint (a year window, a genre).

Finding a span and reading its numbers is deterministic ("before 1995" is up to 1994, "since 2010" from 2010,
"nothing from before the 2000s" from 2000, "the last 5 years" from this year minus 5); whether the span states
a constraint at all, and which kind, is the classifier's job (:mod:`recagent.agent.reading.learned`). The
finder is deliberately generous: a narrative year or a genre word in a passing remark is still a candidate,
labelled "none" in training.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

from recagent.agent.reading.genres import genre_hits
from recagent.agent.reading.patterns import GENRE_JOIN
from recagent.agent.reading.years import decade_window

_WORD_DECADES = {
    "twenties": 1920, "thirties": 1930, "forties": 1940, "fifties": 1950, "sixties": 1960, "seventies": 1970,
    "eighties": 1980, "nineties": 1990, "two thousands": 2000, "noughties": 2000, "aughts": 2000,
}  # fmt: skip
_Y = r"(?:19|20)\d{2}"
# a decade: "90s", "'90s", "90's", "1990s", "the nineties", with "early/mid/late"
_DEC = (
    r"(?:(?P<early>early|mid|late)\s*-?\s*)?(?:(?P<full>(?:19|20)\d0)\s*'?s|'?(?P<short>\d0)\s*'?s|"
    rf"(?P<word>{'|'.join(_WORD_DECADES)}))"
)
_NEG = r"(?P<neg>\b(?:nothing|no|not|none|never|don'?t want anything|nothing that (?:was|is)|anything but)\b[a-z\s']{0,22}?\s)?"
_OP_BEFORE = r"(?P<op>before|older than|earlier than|prior to|pre-?|until|till|til|up to|up until|through|by)"
_OP_AFTER = (
    r"(?P<op>after|newer than|later than|more recent than|post-?|since|starting (?:from|in|with)|from|beyond|past)"
)
_RANGE = re.compile(
    rf"\b(?:between|from|in)?\s*(?P<a>{_Y})\s*(?:and|to|until|till|through|-|–|—)\s*(?P<b>{_Y}|\d{{2}})\b"
)
_LAST_N = re.compile(
    r"\b(?:the\s+)?(?:last|past|previous)\s+(?P<n>\d{1,2}|two|three|four|five|six|seven|eight|nine|ten|"
    r"fifteen|twenty|few|couple(?: of)?)\s+(?P<unit>years?|decades?)\b|\b(?:the\s+)?(?:last|past)\s+(?P<dec>decade)\b"
)
_NUM = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
        "fifteen": 15, "twenty": 20, "few": 3, "couple": 2, "couple of": 2}  # fmt: skip
_BOUND = re.compile(rf"{_NEG}\b{_OP_BEFORE}\s*(?:the\s+)?(?:(?P<y>{_Y})\b|{_DEC}\b)")
_ABOVE = re.compile(rf"{_NEG}\b{_OP_AFTER}\s*(?:the\s+)?(?:(?P<y>{_Y})\b|{_DEC}\b)")
_DECADE = re.compile(rf"\b(?:the\s+)?{_DEC}(?!\w)")
_YEAR = re.compile(rf"(?<![\w$])(?P<y>{_Y})(?![\w%])")
_OPEN_AFTER = re.compile(
    r"^\s*(?:(?:and|or)\s+(?:later|after|newer|up|on|beyond|since|above)|on(?:wards?)?\b|onwards?|and up|\+|"
    r"(?:up )?(?:till|until|to|through) (?:now|today|the present|present)|forward)"
)
_OPEN_BEFORE = re.compile(r"^\s*(?:or|and)\s+(?:earlier|before|older|prior|below)")


@dataclass
class Span:
    """A candidate: where it is, its words, and what it would mean as a hard constraint."""

    kind: str  # "year" or "genre"
    start: int
    end: int
    text: str
    lo: int | None = None  # year window (None: open)
    hi: int | None = None
    genre: str = ""
    group_start: int = -1  # genres: the start of the coordinated list it is in ("no horror or sci-fi")


def this_year() -> int:
    return _dt.date.today().year


def _decade_window(m: re.Match) -> tuple[int, int]:
    if m["full"]:
        start = int(m["full"])
    elif m["short"]:
        d = int(m["short"][0])
        start = (1900 if d >= 3 else 2000) + d * 10
    else:
        start = _WORD_DECADES[m["word"]]
    return decade_window(start, m["early"])


def _has(m: re.Match, name: str) -> bool:
    return name in m.re.groupindex and m[name] is not None


def year_spans(low: str, today: int | None = None) -> list[Span]:
    """Every year expression of the lowercased message, longest forms first, never overlapping."""
    today = today or this_year()
    out: list[Span] = []

    def free(s: int, e: int) -> bool:
        return not any(s < sp.end and sp.start < e for sp in out)

    def add(m: re.Match, lo: int | None, hi: int | None, start: int | None = None) -> None:
        s = m.start() if start is None else start
        if free(s, m.end()):
            out.append(Span("year", s, m.end(), low[s : m.end()].strip(), lo, hi))

    for m in _RANGE.finditer(low):
        a, b = int(m["a"]), m["b"]
        b = int(b) if len(b) == 4 else (a // 100) * 100 + int(b)
        if b >= a and b - a < 80:
            add(m, a, b, m.start("a") if not m.group(0).lstrip()[:1].isalpha() else None)
    for m in _LAST_N.finditer(low):
        if m["dec"]:
            n = 10
        else:
            n = int(m["n"]) if m["n"].isdigit() else _NUM[m["n"]]
            n = n * 10 if m["unit"].startswith("decade") else n
        add(m, today - n, None)
    for pattern, before in ((_BOUND, True), (_ABOVE, False)):
        for m in pattern.finditer(low):
            if m["y"]:
                lo_y = hi_y = int(m["y"])
            else:
                lo_y, hi_y = _decade_window(m)
            op = m["op"]
            inclusive = op in ("until", "till", "til", "up to", "up until", "through", "by") or op.startswith(
                ("since", "starting", "from")
            )
            tail = low[m.end() : m.end() + 30]
            if not before and op == "from" and not _OPEN_AFTER.match(tail):
                continue  # "from 2010" alone is a single year or a range: read below
            if not before and op == "past" and not m["y"]:
                continue
            start = m.start() if m["neg"] else m.start("op")
            if before:
                bound = hi_y if inclusive else lo_y - 1
                lo, hi = (bound + 1, None) if m["neg"] else (None, bound)
            else:
                bound = lo_y if inclusive else hi_y + 1
                lo, hi = (None, bound - 1) if m["neg"] else (bound, None)
            add(m, lo, hi, start)
    for m in _DECADE.finditer(low):
        lo, hi = _decade_window(m)
        tail = low[m.end() : m.end() + 30]
        if _OPEN_AFTER.match(tail):
            hi = None
        elif _OPEN_BEFORE.match(tail):
            lo = None
        add(m, lo, hi)
    _join_decades(low, out)
    for m in _YEAR.finditer(low):
        y = int(m["y"])
        tail = low[m.end() : m.end() + 30]
        if _OPEN_AFTER.match(tail):
            add(m, y, None)
        elif _OPEN_BEFORE.match(tail):
            add(m, None, y)
        else:
            add(m, y, y)
    return sorted(out, key=lambda s: s.start)


_DECADE_JOIN = re.compile(r"^\s*(?:,|or|and|to|through|-|/|,\s*or|,\s*and)\s*(?:the\s+)?$")


def _join_decades(low: str, out: list[Span]) -> None:
    """ "the 1970s or 1980s", "the 70s and 80s", "80s to 90s": one window over all of them (in place)."""
    out.sort(key=lambda s: s.start)
    i = 0
    while i + 1 < len(out):
        a, b = out[i], out[i + 1]
        if a.lo is not None and a.hi is not None and b.lo is not None and _DECADE_JOIN.match(low[a.end : b.start]):
            hi = b.hi if b.hi is not None else None
            out[i] = Span("year", a.start, b.end, low[a.start : b.end].strip(), a.lo, hi)
            del out[i + 1]
        else:
            i += 1


def genre_spans(low: str, vocab: list[str], blocked: list[tuple[int, int]], original: str = "") -> list[Span]:
    """Every genre word outside titles and names (the parser's own finder), with the start of its list."""
    out: list[Span] = []
    group_start, prev_end = -1, -1
    for genre, s, e, word in genre_hits(low, vocab, blocked, original):
        if prev_end < 0 or not (s >= prev_end and GENRE_JOIN.match(low[prev_end:s])):
            if not (out and out[-1].start == s):  # "rom-com": one word, two genres, one list
                group_start = s
        out.append(Span("genre", s, e, word, genre=genre, group_start=group_start))
        prev_end = max(prev_end, e)
    return out
