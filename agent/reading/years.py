"""Hard year constraints in a message: ranges, "before"/"after", decades and single years said as a
wish; narrative years ("I grew up in the 80s") are nothing. Also the follow-up "older"/"newer"."""

from __future__ import annotations

import re

from recagent.agent.reading.model import HardConstraint, Understanding
from recagent.agent.reading.patterns import (
    AFTER,
    BEFORE,
    BETWEEN,
    DECADE,
    FOLLOW_UP_YEARS,
    HEDGE,
    IN_YEAR,
    NARRATIVE,
    TASTE,
    TIME_RELAXED,
    WISH,
)
from recagent.agent.reading.text import about_someone_else, clause_bounds, is_wishful, sentence_bounds, spans_overlap


def read_years(low: str, u: Understanding, drop: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Hard year constraints into ``u`` (their spans also into ``drop``), then the follow-up "older" or
    "newer"; returns the spans they were read from. Ranges first, then bounds, decades and single years:
    a span read once is not read again."""
    reader = _YearReader(low, u, drop)
    reader.read_ranges()
    reader.read_bounds(BEFORE, _before_bound)
    reader.read_bounds(AFTER, _after_bound)
    reader.read_decades()
    reader.read_single_years()
    read_follow_up(low, u)
    return reader.spans


def read_follow_up(low: str, u: Understanding) -> None:
    """ "Something older", "newer than those": relative to the list shown, resolved by the state."""
    if m := FOLLOW_UP_YEARS.search(low):
        word = m["w"] or m["w2"]
        if word == "older":
            u.older = True
        else:
            u.newer = True


def _before_bound(m: re.Match) -> tuple[str, int]:
    """ "before 2000" is up to 1999; "nothing before 2000" is from 2000."""
    y = int(m["y"])
    return ("year_min", y) if m["neg"] else ("year_max", y - 1)


def _after_bound(m: re.Match) -> tuple[str, int]:
    """ "after 2000" is from 2001, "since 2000" from 2000; "nothing after 2000" is up to 2000."""
    y = int(m["y"])
    if m["neg"]:
        return "year_max", y
    return "year_min", y if m["op"].startswith("since") else y + 1


def decade_years(m: re.Match) -> tuple[int, int]:
    """The years of a decade match: "the 90s" 1990-1999, "early 80s" 1980-1984, "mid" 3-7, "late" 5-9."""
    if m["century"]:
        start = int(m["century"]) * 100 + int(m["d1"]) * 10
    else:
        d = int(m["d2"])
        start = (1900 if d >= 3 else 2000) + d * 10
    return decade_window(start, m["early"])


_STYLE_AFTER = re.compile(r"\s*-?(?:type|style|kind|vibe|feel|esque|like)\b")
_OPEN_AFTER = re.compile(
    r"\s*(?:(?:up )?(?:till|until|to|through) (?:now|today|the present|present)|(?:and|or) "
    r"(?:later|after|newer|up|on|beyond|since)|onwards?|on\b|and up|\+)"
)
_OPEN_BEFORE = re.compile(r"\s*(?:or|and) (?:earlier|before|older)")


class _YearReader:
    """One message's year reading: what it has read so far (``used``) and what it keeps (``spans``)."""

    def __init__(self, low: str, u: Understanding, drop: list[tuple[int, int]]):
        self.low, self.u, self.drop = low, u, drop
        self.spans: list[tuple[int, int]] = []
        self.used: list[tuple[int, int]] = []
        self.relaxed = bool(TIME_RELAXED.search(low))  # "... 80s movies? A more modern comedy is good too though!"

    # ------------------------------------------------------------------ is it a wish?

    def is_wish(self, pos: int) -> bool:
        s, e = sentence_bounds(self.low, pos)
        return is_wishful(self.low[s:e])

    def is_soft(self, pos: int) -> bool:
        """A year said with a hedge, about someone else, or opened up elsewhere in the message is no filter."""
        s, _ = sentence_bounds(self.low, pos)
        before = self.low[s:pos]
        if HEDGE.search(before) or self.relaxed:
            return True
        return about_someone_else(before)

    def is_narrative(self, pos: int, own: tuple[int, int] | None = None) -> bool:
        """A year in a sentence that tells of a film (it "came out", "was released") rather than asks. ``own``: the
        bound's own words, whose "released" asks ("only movies released before 1995") and tells nothing."""
        s, e = sentence_bounds(self.low, pos)
        told = (
            m
            for m in NARRATIVE.finditer(self.low, s, e)
            if own is None or not spans_overlap((m.start(), m.end()), [own])
        )
        return next(told, None) is not None or self.is_soft(pos)

    def add(self, kind: str, value: int, m: re.Match) -> None:
        self.u.hard.append(HardConstraint(kind=kind, value=value, phrase=m.group(0).strip()))
        self.drop.append(m.span())
        self.spans.append(m.span())

    # ------------------------------------------------------------------ the forms of a year wish

    def read_ranges(self) -> None:
        """ "between 1990 and 2000", "from 1990 to 2000" (a narrative range is still read, and skipped)."""
        for m in BETWEEN.finditer(self.low):
            if not self.is_narrative(m.start()):
                a, b = sorted((int(m["a"]), int(m["b"])))
                self.add("year_min", a, m)
                self.add("year_max", b, m)
            self.used.append(m.span())

    def read_bounds(self, pattern: re.Pattern, bound) -> None:
        """ "before 2000", "nothing after 2010": one bound each, ``bound(match)`` says which."""
        for m in pattern.finditer(self.low):
            if spans_overlap(m.span(), self.used) or self.is_narrative(m.start(), own=m.span()):
                continue
            self.add(*bound(m), m)
            self.used.append(m.span())

    def read_decades(self) -> None:
        """ "from the 90s", "the 1970s or 1980s" (one range over all of them), "the 90s up till now"."""
        decades: list[tuple[int | None, int | None, re.Match]] = []
        for m in DECADE.finditer(self.low):
            years = self._decade(m)
            if years is not None:
                decades.append((*years, m))
                self.used.append(m.span())
        if decades:
            self.spans.extend(d[2].span() for d in decades)
            if all(d[0] is not None for d in decades):
                self.add("year_min", min(d[0] for d in decades), decades[0][2])
            if all(d[1] is not None for d in decades):
                self.add("year_max", max(d[1] for d in decades), decades[-1][2])

    def _decade(self, m: re.Match) -> tuple[int | None, int | None] | None:
        """The window a decade match asks for (None at an open end), or None when it asks for none."""
        low = self.low
        if spans_overlap(m.span(), self.used) or self.is_narrative(m.start()) or not self.is_wish(m.start()):
            return None
        c_start, c_end = clause_bounds(low, m.start())
        lead = low[c_start : m.start()]
        if TASTE.search(lead) and not WISH.search(lead):
            return None  # "I really like 90s comedies": a taste, not what they want now
        if re.search(r"\b(even|too|also|as well)\b", low[c_start:c_end]):
            return None  # "even the bad 2000's ones", "2000's movies are okay too": inclusive, not a restriction
        lo, hi = decade_years(m)
        tail = low[m.end() : m.end() + 30]
        if _STYLE_AFTER.match(tail):
            return None  # "a funny 90's type movie": a style, not a release window
        if _OPEN_AFTER.match(tail):
            return lo, None  # "from the 90s up till now": open-ended
        if _OPEN_BEFORE.match(tail):
            return None, hi
        return lo, hi

    def read_single_years(self) -> None:
        """ "movies from 2016", "films that came out in 2016": that year only, when said as a wish."""
        low = self.low
        for m in IN_YEAR.finditer(low):
            s_start, s_end = sentence_bounds(low, m.start())
            # "movies that came out in 2016" is the wish itself: the narrative words are looked for around it
            rest = low[s_start : m.start()] + " " + low[m.end() : s_end]
            if spans_overlap(m.span(), self.used) or NARRATIVE.search(rest) or not self.is_wish(m.start()):
                continue
            self.add("year_min", int(m["y"]), m)
            self.add("year_max", int(m["y"]), m)


def decade_window(start: int, part: str | None) -> tuple[int, int]:
    """The years of the decade from ``start``, or of its ``part`` ("early" 0-4, "mid" 3-7, "late" 5-9)."""
    if part == "early":
        return start, start + 4
    if part == "late":
        return start + 5, start + 9
    if part == "mid":
        return start + 3, start + 7
    return start, start + 9
