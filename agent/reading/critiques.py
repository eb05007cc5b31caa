"""Critiques ("less violent", "funnier", "older") and topics ("a heist") in a message: soft wishes."""

from __future__ import annotations

import re

from recagent.agent.reading.model import Understanding
from recagent.agent.reading.patterns import CRITIQUES, TOLERANCE, TOPICS, WISH
from recagent.agent.reading.text import (
    about_someone_else,
    adjacent,
    clause_bounds,
    is_descriptive,
    sentence_bounds,
    sentence_of,
    spans_overlap,
)
from recagent.retrieval.base import Critique


def read_critiques_and_topics(
    low: str,
    blocked: list[tuple[int, int]],
    u: Understanding,
    drop: list[tuple[int, int]],
    year_spans: list[tuple[int, int]] = (),
) -> None:
    seen_attrs: set[str] = set()
    for pat, attr, direction in CRITIQUES:
        for m in pat.finditer(low):
            if spans_overlap(m.span(), blocked) or attr in seen_attrs:
                continue
            if is_descriptive(low[max(0, m.start() - 40) : m.start()]) and not re.match(
                r"(less|more|not|nothing)\b", m.group(0)
            ):
                continue
            if is_descriptive(low[max(0, m.start() - 40) : m.start()]) and m.group(0).startswith("not"):
                continue
            lead = low[max(0, m.start() - 25) : m.start()]
            if about_someone_else(low[sentence_bounds(low, m.start())[0] : m.start()]):
                continue  # "He has some classics": about the actor's films, not a wish
            if attr == "recency" and any(adjacent(low, m.span(), span) for span in year_spans):
                continue  # "older 80's comedies", "80's classics": part of the decade asked for, already a filter
            c_start, c_end = clause_bounds(low, m.start())
            if attr == "recency" and TOLERANCE.search(low[c_start:c_end]):
                continue  # "a more modern comedy is good too", "I will also watch new films": an opening, not a wish
            plural = bool(re.search(r"(classics|movies|films|ones)$", m.group(0))) or bool(
                re.match(r"\s+(?:\w+\s+)?(?:movies|films|ones|stuff)\b", low[m.end() : m.end() + 20])
            )
            # "the classics", "the classic ones", "his older movies": a kind of film; "the new ones", "that recent
            # movie": specific films
            kind_of_film = plural and ("classic" in m.group(0) or bool(re.search(r"\b(his|her|their)\s+$", lead)))
            if (
                attr == "recency"
                and not kind_of_film
                and re.search(r"\b(the|that|this|those|these|most|his|her|their)\s+$", lead)
            ):
                continue
            if re.search(
                r"\b(?:not|no|without|anything but) (necessarily |really |exactly |more |a |an )?$", lead
            ) and not m.group(0).startswith(("not", "no", "less")):
                continue  # "not necessarily for kids", "no kids movies": not a wish in that direction
            if (
                attr == "recency"
                and "classic" in m.group(0)
                and not (WISH.search(sentence_of(low, m.start())) or plural)
            ):
                continue  # "Another classic!": praise for a film, not a wish for old ones
            u.critiques.append(Critique(attribute=attr, direction=direction))
            seen_attrs.add(attr)
            drop.append(m.span())
            break
    if "lighter and funnier" in low and "darkness" not in seen_attrs:
        u.critiques.append(Critique(attribute="darkness", direction=-1))
    for topic, pat in TOPICS:
        m = pat.search(low)
        if m and not spans_overlap(m.span(), blocked):
            u.topics.append(topic)
