"""Titles in a message and the user's stance on each: quoted titles, titles the catalog's spotter finds
(lowercase ones too, when the user says something about them) and capitalised words after a cue."""

from __future__ import annotations

import re

from recagent.agent.reading.model import Spotter, TitleMention, Understanding
from recagent.agent.reading.patterns import (
    AFTER_STANCE,
    ANAPHOR,
    BEFORE_STANCE,
    CRITIQUES,
    CUE_TITLE,
    NOT_SEEN,
    QUOTED,
    STOP_TITLES,
    TITLE_TAIL,
    WANT_ANY,
)
from recagent.agent.reading.text import clause_bounds, sentence_bounds, spans_overlap
from recagent.agent.vocabulary import COMMON_WORDS, GENRE_WORDS, NEWER, VERSION_CUE, Stance
from recagent.retrieval.titles import TitleSpan


def version_cue(low: str, start: int) -> re.Match | None:
    """The version cue right before a title that starts at ``start`` of the lowercased text, if any."""
    return VERSION_CUE.search(low[max(0, start - 30) : start])


def stance_of(low: str, start: int, end: int) -> Stance:
    """The user's stance on the title at [start, end): cues before it in its clause, then after it, then an
    anaphor in the next sentence ("saw Marriage Story... liked it")."""
    s_start, s_end = sentence_bounds(low, start)
    sentence = low[s_start:s_end]
    c_start, c_end = clause_bounds(low, start)
    before = low[c_start:start].rstrip(" \"“”'‘") + " "
    after = low[end:c_end].lstrip("\"“”'’")
    rest_of_sentence = low[end:s_end].lstrip("\"“”'’")
    not_seen = NOT_SEEN.search(low[s_start:start]) or NOT_SEEN.search(rest_of_sentence[:40])
    if not_seen:
        return "want" if WANT_ANY.search(sentence + low[s_end : s_end + 60]) else "neutral"
    found: Stance | None = None
    if re.match(r"\s*(?:fan|fanatic|person)\b", after) and re.search(r"\b(?:a|an)\s+(?:\w+\s+)?$", before):
        # "Not a Star Wars fan", "I'm a huge Star Wars fan"
        return (
            "disliked"
            if re.search(r"\b(?:not|never been|wasn'?t|isn'?t)\s+(?:really\s+)?(?:a|an)\s+(?:\w+\s+)?$", before)
            else "liked"
        )
    for stance, pat in BEFORE_STANCE:
        if pat.search(before):
            found = stance  # type: ignore[assignment]
            break
    if found is None or found in ("seen", "asking"):
        for stance, pat in AFTER_STANCE:
            if pat.search(after) or pat.search(rest_of_sentence):
                return stance  # type: ignore[return-value]
    if found in (None, "seen"):
        nxt = low[s_end : s_end + 80]
        for stance, pat in AFTER_STANCE:
            if pat.search(nxt) and ANAPHOR.search(nxt[:40]):
                return stance  # type: ignore[return-value]
    if (
        found == "asking"
        and "?" not in low[start : s_end + 1]
        and not re.search(r"\b(have you|did you|ever|heard)\b", before)
    ):
        found = "neutral" if not re.search(r"\b(what|how) about\b", before) else "asking"
    if found is None and "?" in low[end:s_end] and re.search(r"\b(have you|did you|ever|heard of|know)\b", sentence):
        return "asking"
    return found or "neutral"


def read_titles(
    text: str, low: str, spot: Spotter | None, blocked: list[tuple[int, int]], u: Understanding, vocab: list[str]
) -> None:
    taken = list(blocked)
    genre_words = {w for ws in GENRE_WORDS.values() for w in ws} | {g.lower() for g in vocab}

    def add(start: int, end: int, explicit: bool, span: TitleSpan | None = None, versioned: bool = False) -> None:
        raw = text[start:end].strip(" \"'“”‘’")
        if len(raw) < 2 or (raw.lower() in STOP_TITLES and not versioned) or spans_overlap((start, end), taken):
            return
        taken.append((start, end))
        stance = stance_of(low, start, end)
        mention = TitleMention(text=raw, stance=stance, explicit=explicit, start=start)
        if span is not None:
            mention.candidates = list(span.item_ids)
            cue = version_cue(low, start)
            pick = None if cue is None or span.years[:1] == [None] else span.version(newest=cue["cue"] in NEWER)
            if pick is not None:  # "the new Ghostbusters", "the original It": the version asked for
                mention.item_id, mention.title = span.item_ids[pick], span.titles[pick]
            elif not span.ambiguous:
                mention.item_id, mention.title = span.item_ids[0], span.title
        u.mentions.append(mention)

    for m in QUOTED.finditer(text):
        g = 1 if m.group(1) is not None else 2
        s, e = m.start(g), m.end(g)
        inner = [sp for sp in (spot(text[s:e]) if spot else []) if sp.start == 0 and sp.end >= e - s - 1]
        add(s, e, True, inner[0] if inner else None)
    if spot is not None:
        for sp in spot(text):
            words = re.findall(r"[a-z0-9]+", low[sp.start : sp.end])
            capital = text[sp.start].isupper()
            if re.match(r"\s+(\d{1,2}|ii|iii|iv|v|vi)\b", low[sp.end : sp.end + 5]):
                continue  # "Matrix 4": a sequel the catalog does not have, not The Matrix
            versioned = capital and version_cue(low, sp.start) is not None
            if all(w in COMMON_WORDS for w in words) and not versioned:
                continue  # "I do", "the one": common words are never a title outside quotes ("the new It" is one)
            if low[sp.start : sp.end] in genre_words:
                continue  # "I like Drama", "Romance movies": the genre, not the film called so
            if len(words) == 1 and words[0] in COMMON_WORDS and not versioned:
                continue
            s_start, s_end = sentence_bounds(low, sp.start)
            if len(words) == 1 and re.sub(r"[^a-z0-9 ]", "", low[s_start:s_end]).strip() == words[0]:
                continue  # "Perfect! I will watch it soon": an exclamation, not the film called so
            # a single word, or a title in lowercase ("thanks for the help"), is a title only when the user says
            # something about it ("loved Heat", "have you seen Inception?", "star wars is awesome"), or it is
            # listed with a title before it ("I liked The Shining and Heat")
            listed = bool(u.mentions) and re.fullmatch(
                r"\s*(,|and|or|&|, and|as well as)\s*", low[u.mentions[-1].start + len(u.mentions[-1].text) : sp.start]
            )
            if (len(words) == 1 or not capital) and not listed and stance_of(low, sp.start, sp.end) == "neutral":
                continue
            tail = low[sp.end : sp.end + 12]
            if (
                not capital
                and re.match(r"\s+(?:movies|films|flicks|stuff)\b", tail)
                and (
                    any(
                        w in genre_words
                        for w in (" ".join(words[-1:]) + tail.split()[0], words[-1] + " " + tail.split()[0])
                    )
                    or any(p.search(low[sp.start : sp.end + len(tail)]) for p, _, _ in CRITIQUES)
                )
            ):
                continue  # "the war movies", "old school movies": a kind of film, not the film called so
            if (
                len(words) == 1
                and not capital
                and re.search(
                    r"\b(the|a|an|my|your|his|her|our|their|this|that|those|these)\s+$",
                    low[max(0, sp.start - 8) : sp.start],
                )
            ):
                continue  # "I love the memories": a noun, not the film "Memories"
            if (
                len(words) == 1
                and not capital
                and not listed
                and not any(
                    p.search(low[max(0, sp.start - 40) : sp.start]) for st, p in BEFORE_STANCE if st != "asking"
                )
            ):
                continue  # a lowercase word is a title only right after a cue ("i loved titanic")
            add(sp.start, sp.end, capital, sp, versioned)
    for m in CUE_TITLE.finditer(text):
        t = TITLE_TAIL.sub("", m["t"]).rstrip(".")
        s = m.start("t")
        if t.lower().split()[0] in COMMON_WORDS and len(t.split()) == 1:
            continue
        if re.fullmatch(r"(19|20)\d{2}|\d+|'?\d0'?s", t) or t.lower() in genre_words:
            continue
        add(s, s + len(t), True)
    u.mentions.sort(key=lambda m: m.start)
    # "I liked The Shining and Heat": a coordinated title shares the stance of the one before it
    for prev, cur in zip(u.mentions, u.mentions[1:]):
        between = low[prev.start + len(prev.text) : cur.start]
        if cur.stance == "neutral" and re.fullmatch(
            r"[\s\"“”'’]*(,|and|or|&|as well as|plus|, and)?[\s\"“”'‘]*", between
        ):
            cur.stance = prev.stance
