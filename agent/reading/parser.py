"""Understand one chat message: titles with the user's stance, soft and hard wishes, follow-up moves.

People first: a **hard** constraint (a filter) only comes from an explicit, scoped statement of what
the user wants now ("only comedies", "no horror", "nothing before 2000", "from the 90s" as a wish).
Genres said in passing, taste statements ("I love horror", "not a fan of sci-fi"), critiques ("less
violent", "nothing too dark"), topics ("a heist") and plain wishes ("I'm looking for a comedy") are
**soft**: they re-rank, they never filter. Narrative years ("I grew up in the 80s", "Matrix 4 comes
out in 2021", "from 2002 I believe") are nothing at all.

The parser is deterministic and never calls an LLM. It finds titles three ways: real quotes (an
apostrophe is never a quote), a ``spot`` callable over the catalog's titles (finds lowercase titles;
see :meth:`recagent.retrieval.titles.TitleResolver.spot`), and capitalised words after a cue ("like
Heat", "seen Jumanji"), which the caller resolves. People's names are recognised first and never read
as title or genre words. The LLM reading (:mod:`recagent.agent.reading.llm`) may add to this.
"""

from __future__ import annotations

import re

from recagent.agent.reading.critiques import read_critiques_and_topics
from recagent.agent.reading.genres import read_genres
from recagent.agent.reading.model import Spotter, Understanding
from recagent.agent.reading.patterns import CONTINUES, FILM_NOUN, NOUN_REQUEST, REPEAT, RESET, SUBJECT_WORDS, WISH
from recagent.agent.reading.people import find_people
from recagent.agent.reading.references import read_references
from recagent.agent.reading.text import fold_text
from recagent.agent.reading.titles import read_titles
from recagent.agent.reading.years import read_years
from recagent.agent.vocabulary import COMMON_WORDS


def parse_message(message: str, genre_vocab: list[str], spot: Spotter | None = None) -> Understanding:
    """The deterministic reading of a message. Never calls an LLM."""
    text = message.strip()
    low = fold_text(text)
    u = Understanding()

    people = find_people(text)
    u.people = list(dict.fromkeys(name for name, _, _ in people))
    blocked: list[tuple[int, int]] = [(s, e) for _, s, e in people]

    read_titles(text, low, spot, blocked, u, genre_vocab)
    title_spans = [(m.start, m.start + len(m.text)) for m in u.mentions if m.start >= 0]
    read_references(low, u, title_spans)
    drop: list[tuple[int, int]] = list(blocked)
    read_genres(low, genre_vocab, blocked + title_spans, u, drop, text)
    year_spans = read_years(low, u, drop)
    read_critiques_and_topics(low, blocked + title_spans, u, drop, year_spans)
    u.search_text = _search_text(text, drop)

    u.reset = bool(RESET.search(low))
    u.repeat = bool(REPEAT.search(low))
    u.continues = bool(CONTINUES.match(low.strip()))
    u.asks = bool(
        u.continues
        or u.hard
        or u.genres
        or u.critiques
        or u.topics
        or u.people
        or any(m.stance == "liked" for m in u.mentions)
        or (WISH.search(low) and not u.references)
        or _noun_request(low)
    )
    return u


def _noun_request(low: str) -> bool:
    """A bare noun phrase that says what films to find: "a prison movie", "a movie set in a hospital" (not "a great
    movie": no word in it says what for; not "I saw a prison movie": a sentence about something)."""
    if not NOUN_REQUEST.match(low) or SUBJECT_WORDS.search(low) or len(low.split()) > 15:
        return False
    words = re.findall(r"[a-z][a-z'-]*", re.sub(rf"\b{FILM_NOUN}\b", " ", low))
    return any(w not in COMMON_WORDS for w in words)


def _search_text(text: str, spans: list[tuple[int, int]]) -> str | None:
    """The message with ``spans`` blanked out and the joints left dangling tidied; None when no word is left."""
    keep = list(text)
    for s, e in spans:
        keep[s:e] = [" "] * (e - s)
    out = re.sub(r"\s+", " ", re.sub(r"(\s*[,;:]\s*)+", ", ", "".join(keep))).strip(" ,;:")
    out = re.sub(r"\b(but|and|or|with|from)\s*([,.!?]|$)", r"\2", out).strip(" ,;:")
    return out if len(re.findall(r"\w+", out)) >= 1 else None
