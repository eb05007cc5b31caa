"""Understand one chat message: constraints, mentioned titles, and follow-up moves.

A deterministic parser handles what must never be missed (years and decades,
genres from the catalog's own vocabulary, negations, "only", "older", "more
like the second one", "not that one"). The LLM pass may add titles, genres and
keywords it recognises; the two are merged and the parser wins on conflicts, so
a constraint the user states is honoured even when the LLM misses it.
"""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, Field, ValidationError

from recagent.agent.backends.base import ChatMessage, CompletionRequest, LLMBackend, LLMError
from recagent.agent.safety import for_prompt
from recagent.prompts import load_template

# words people use for the genres MovieLens-style catalogs have; only genres present in the catalog are used
GENRE_WORDS: dict[str, list[str]] = {
    "Action": ["action"],
    "Adventure": ["adventure", "adventures"],
    "Animation": ["animation", "animated", "cartoon", "cartoons", "anime"],
    "Children": ["children", "children's", "kids", "kid", "family"],
    "Comedy": ["comedy", "comedies", "funny", "comic", "humor", "humour", "laugh"],
    "Crime": ["crime", "heist", "heists", "gangster", "gangsters", "mafia", "mob"],
    "Documentary": ["documentary", "documentaries"],
    "Drama": ["drama", "dramas"],
    "Fantasy": ["fantasy"],
    "Film-Noir": ["noir", "film-noir", "film noir"],
    "Horror": ["horror", "scary", "slasher", "slashers", "gore"],
    "IMAX": ["imax"],
    "Musical": ["musical", "musicals"],
    "Mystery": ["mystery", "mysteries", "whodunit"],
    "Romance": ["romance", "romantic", "romcom", "rom-com", "love story", "love stories"],
    "Sci-Fi": ["sci-fi", "scifi", "sci fi", "science fiction", "science-fiction"],
    "Thriller": ["thriller", "thrillers", "suspense"],
    "War": ["war"],
    "Western": ["western", "westerns", "cowboy", "cowboys"],
}
NEGATION = re.compile(
    r"\b(no|not|without|nothing|avoid|avoiding|hate|hates|dislike|never|except|minus|skip|don'?t want|do not want|no more)\b"
    r"(?:\s+(?:\w+\s+){0,2})$"
)
ONLY = re.compile(r"\b(only|just|strictly|purely)\s+(?:\w+\s+){0,1}$")
ORDINALS = {
    "first": 1,
    "1st": 1,
    "second": 2,
    "2nd": 2,
    "third": 3,
    "3rd": 3,
    "fourth": 4,
    "4th": 4,
    "fifth": 5,
    "5th": 5,
    "sixth": 6,
    "6th": 6,
    "seventh": 7,
    "7th": 7,
    "eighth": 8,
    "8th": 8,
    "ninth": 9,
    "9th": 9,
    "tenth": 10,
    "10th": 10,
    "top": 1,
    "last": -1,
}
_ORD = "|".join(sorted(ORDINALS, key=len, reverse=True))
MORE_LIKE = re.compile(
    rf"\bmore\s+like\s+(?:the\s+)?(?:(?P<ord>{_ORD})(?:\s+one)?|(?:number|no\.?|#)\s*(?P<num>\d+))\b"
)
REJECT = re.compile(
    r"\b(not that one|not this one|seen (it|that|this)( one)?|i'?ve seen (it|that|this)|already seen|already watched|"
    r"watched (it|that) already|not (interested|for me)|no thanks|don'?t like (it|that))\b"
)
REJECT_ORD = re.compile(rf"\b(?:not|seen|watched|skip|no)\s+(?:the\s+)?(?P<ord>{_ORD})(?:\s+one)?\b")
DECADE = re.compile(r"\b(?:the\s+)?(?:(?P<century>19|20)(?P<d1>\d)0|'?(?P<d2>\d)0)'?s\b")
BEFORE = re.compile(r"\b(?:before|older than|earlier than|pre-?)\s*(?P<y>(?:19|20)\d{2})\b")
AFTER = re.compile(r"\b(?:after|newer than|later than|since|post-?)\s*(?P<y>(?:19|20)\d{2})\b")
BETWEEN = re.compile(r"\b(?:between|from)\s+(?P<a>(?:19|20)\d{2})\s*(?:and|to|-|–)\s*(?P<b>(?:19|20)\d{2})\b")
IN_YEAR = re.compile(r"\b(?:in|from|of)\s+(?P<y>(?:19|20)\d{2})\b")
OLDER = re.compile(r"\b(older|earlier|classic|classics|old-school|vintage)\b")
NEWER = re.compile(r"\b(newer|more recent|recent|latest|modern|new ones?)\b")
QUOTED = re.compile(r"[\"“”‘’']([^\"“”‘’']{2,80})[\"“”‘’']")
LIKE_TITLE = re.compile(
    r"\b(?:like|similar to|loved|enjoyed|liked|fan of|in the vein of|such as|as good as)\s+"
    r"(?P<t>[A-Z0-9][^,.;!?]*?)(?=\s+(?:but|and then|with|from|that|which|or|for|though|because|except)\b|[,.;!?]|$)"
)
SEEN_TITLE = re.compile(
    r"\b(?:i'?ve seen|already seen|seen|watched)\s+(?P<t>[A-Z0-9][^,.;!?]*?)(?=[,.;!?]|\s+(?:and|but)\b|$)"
)
DISLIKE_TITLE = re.compile(
    r"\b(?:hated|disliked|didn'?t like|did not like|not a fan of)\s+(?P<t>[A-Z0-9][^,.;!?]*?)(?=[,.;!?]|\s+(?:and|but)\b|$)"
)
RESET = re.compile(r"\b(start over|reset|forget everything|new search)\b")
REPEAT = re.compile(r"\b(show (me )?(them|those|it) again|repeat|same (list|ones) again)\b")
SOFT_WISHES = [  # no catalog field to filter on: they travel as keywords into the query text and the prompt
    (re.compile(r"\b(less violent|not (too|so) violent|non-?violent|no violence|gentler)\b"), "less violent"),
    (re.compile(r"\b(not too long|short(er)?|quick watch)\b"), "short"),
    (re.compile(r"\b(feel-?good|uplifting|light-?hearted|cheerful)\b"), "feel-good"),
    (re.compile(r"\b(dark|gritty|bleak)\b"), "dark"),
    (re.compile(r"\b(smart|clever|thought-?provoking|mind-?bending)\b"), "clever"),
]
STOPWORDS = {"it", "that", "this", "one", "them", "those", "the second one", "the first one", "something", "anything"}


class Understanding(BaseModel):
    """What one message asks for. Lists are additions to the session state."""

    liked_titles: list[str] = Field(default_factory=list)
    disliked_titles: list[str] = Field(default_factory=list)
    seen_titles: list[str] = Field(default_factory=list)
    genres: list[str] = Field(default_factory=list)
    exclude_genres: list[str] = Field(default_factory=list)
    only_genres: bool = False
    year_min: int | None = None
    year_max: int | None = None
    older: bool = False
    newer: bool = False
    more_like: list[int] = Field(default_factory=list, description="1-based positions in the last list; -1 = last")
    reject: list[int] = Field(default_factory=list, description="positions in the last list the user turns down")
    keywords: list[str] = Field(default_factory=list)
    reset: bool = False
    repeat: bool = False
    llm_used: bool = False


def _genre_hits(text: str, vocab: list[str]) -> list[tuple[str, int, int]]:
    """(genre, start, end) for each genre word in text; longest words first, no overlaps."""
    present = {g.lower(): g for g in vocab}
    words: list[tuple[str, str]] = []
    for genre, ws in GENRE_WORDS.items():
        if genre.lower() in present:
            words += [(w, present[genre.lower()]) for w in ws]
    for g in vocab:  # the catalog's own names, and plurals
        words += [(g.lower(), g), (g.lower() + "s", g)]
    hits: list[tuple[str, int, int]] = []
    taken = [False] * len(text)
    for word, genre in sorted(words, key=lambda w: -len(w[0])):
        for m in re.finditer(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text):
            if not any(taken[m.start() : m.end()]):
                hits.append((genre, m.start(), m.end()))
                for i in range(m.start(), m.end()):
                    taken[i] = True
    return sorted(hits, key=lambda h: h[1])


def _clean_title(t: str) -> str | None:
    t = t.strip(" \"'“”‘’")
    t = re.sub(r"^(the movie|the film|movies? like)\s+", "", t, flags=re.IGNORECASE)
    if (
        len(t) < 2
        or t.lower() in STOPWORDS
        or t.lower().startswith(("the second", "the first", "the third", "the last"))
    ):
        return None
    return t


def parse_message(message: str, genre_vocab: list[str]) -> Understanding:
    """The deterministic reading of a message. Never calls an LLM."""
    text = message.strip()
    low = text.lower()
    u = Understanding()

    for genre, start, _ in _genre_hits(low, genre_vocab):
        before = low[max(0, start - 40) : start]
        if NEGATION.search(before):
            u.exclude_genres.append(genre)
        else:
            u.genres.append(genre)
            if ONLY.search(before):
                u.only_genres = True
    u.genres = [g for g in dict.fromkeys(u.genres) if g not in u.exclude_genres]
    u.exclude_genres = list(dict.fromkeys(u.exclude_genres))

    if m := BETWEEN.search(low):
        u.year_min, u.year_max = sorted((int(m["a"]), int(m["b"])))
    elif m := DECADE.search(low):
        if m["century"]:
            start = int(m["century"]) * 100 + int(m["d1"]) * 10
        else:
            d = int(m["d2"])
            start = (1900 if d >= 3 else 2000) + d * 10
        u.year_min, u.year_max = start, start + 9
    else:
        if m := BEFORE.search(low):
            u.year_max = int(m["y"]) - 1
        if m := AFTER.search(low):
            u.year_min = int(m["y"]) + (0 if m.group(0).startswith("since") else 1)
        if u.year_min is None and u.year_max is None and (m := IN_YEAR.search(low)):
            u.year_min = u.year_max = int(m["y"])
    if u.year_max is None and OLDER.search(low):
        u.older = True
    if u.year_min is None and NEWER.search(low):
        u.newer = True

    if m := MORE_LIKE.search(low):
        u.more_like.append(ORDINALS[m["ord"]] if m["ord"] else int(m["num"]))
    if m := REJECT_ORD.search(low):
        u.reject.append(ORDINALS[m["ord"]])
    elif REJECT.search(low):
        u.reject.append(1)
    u.keywords = [word for pattern, word in SOFT_WISHES if pattern.search(low)]
    u.reset = bool(RESET.search(low))
    u.repeat = bool(REPEAT.search(low))

    for m in QUOTED.finditer(text):
        if t := _clean_title(m.group(1)):
            u.liked_titles.append(t)
    for m in LIKE_TITLE.finditer(text):
        if (t := _clean_title(m["t"])) and not any(t in q or q in t for q in u.liked_titles):
            u.liked_titles.append(t)
    for m in DISLIKE_TITLE.finditer(text):
        if t := _clean_title(m["t"]):
            u.disliked_titles.append(t)
    for m in SEEN_TITLE.finditer(text):
        if t := _clean_title(m["t"]):
            u.seen_titles.append(t)
    genre_names = {g.lower() for g in genre_vocab}
    u.liked_titles = [
        t
        for t in u.liked_titles
        if t not in u.disliked_titles and t not in u.seen_titles and t.lower() not in genre_names
    ]
    return u


class _LLMReading(BaseModel):
    """What the LLM adds to the parser: titles it recognises and other wishes in a few words."""

    liked_titles: list[str] = Field(default_factory=list)
    disliked_titles: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)


READING_SCHEMA = {
    "type": "object",
    "properties": {
        key: {"type": "array", "items": {"type": "string", "maxLength": 60}, "maxItems": 3}
        for key in ("liked_titles", "disliked_titles", "keywords")
    },
    "required": ["liked_titles", "disliked_titles", "keywords"],
    "additionalProperties": False,
}


def needs_llm(parsed: Understanding, message: str) -> bool:
    """The LLM can only add titles and wishes: not worth a call for a follow-up move or a few words."""
    if parsed.reset or parsed.more_like or parsed.reject or parsed.older or parsed.newer or parsed.repeat:
        return False
    return len(message.split()) >= 4


def llm_reading(backend: LLMBackend, message: str, max_tokens: int = 80) -> _LLMReading | None:
    """The LLM's reading of the message, or None when it fails: the parser's reading then stands alone."""
    prompt = load_template("query_understanding").render(message=for_prompt(message, 1000))
    try:
        out = backend.complete(
            CompletionRequest(
                messages=[ChatMessage(**m) for m in prompt.messages()],
                json_schema=READING_SCHEMA,
                max_tokens=max_tokens,
            )
        )
        return _LLMReading.model_validate(json.loads(out.text))
    except (LLMError, json.JSONDecodeError, ValidationError):
        return None


def merge(parsed: Understanding, reading: _LLMReading | None, message: str, genre_vocab: list[str]) -> Understanding:
    """The parser's reading plus what the LLM adds; the parser wins on every conflict.

    Genres, years and follow-up moves come from the parser alone: they are hard filters and the
    parser reads them reliably. LLM titles are kept only when they literally occur in the message
    (a weak model invents titles) and the parser did not already place them; LLM keywords only
    when they occur in the message.
    """
    if reading is None:
        return parsed
    low = message.lower()
    vocab = set(genre_vocab)
    out = parsed.model_copy(deep=True)
    out.llm_used = True
    taken = {t.lower() for t in parsed.liked_titles + parsed.disliked_titles + parsed.seen_titles}
    for src, dst in ((reading.liked_titles, out.liked_titles), (reading.disliked_titles, out.disliked_titles)):
        for t in src:
            t = t.strip()
            if (
                len(t) >= 3
                and t.lower() in low
                and t.lower() not in taken
                and t.lower() not in {g.lower() for g in vocab}
            ):
                dst.append(t)
                taken.add(t.lower())
    out.keywords = list(
        dict.fromkeys(parsed.keywords + [k.strip() for k in reading.keywords if k.strip() and k.lower() in low])
    )
    return out
