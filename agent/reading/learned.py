"""The learned reader: a small classifier decides the role of each candidate span the patterns find.

Patterns are good at *finding* years and genre words and at reading their numbers; they are poor at deciding
whether "the 90s" or "horror" states what the user wants now, which is what every new phrasing breaks. So the
span finder (:mod:`recagent.agent.reading.spans`) proposes, and a softmax classifier per span kind decides:

* a year span: ``none`` (narrative, taste, question, hedge) or ``hard`` (its window becomes a filter);
* a genre word: ``none`` (a title, another film, an amount), ``only``, ``exclude`` (hard), ``like``,
  ``dislike`` (soft).

Features (:func:`span_features`): the all-MiniLM-L6-v2 embedding of the span's sentence with the span marked
(the product's embedder; all spans of a message in one batch, a message with no span embeds nothing), hashed
words around the span, cue flags, and the parser's own reading of the span. Weights live in
``agent/reading/data/reader.npz`` (written by ``scripts/train_reader.py``).

Confidence: a hard role read with probability under ``threshold`` is never applied silently: a genre is kept
soft, a year window goes to ``Understanding.unsure`` and the reply asks ("Only films before 1995?").
Titles, stances, references, critiques, topics and people stay the parser's.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from recagent.agent.reading.model import HardConstraint, Understanding
from recagent.agent.reading.patterns import (
    CONDITIONAL_NEG,
    HARD_NEG,
    HARD_POS,
    HEDGE,
    IF_NOT,
    NARRATIVE,
    QUALIFIER,
    SOFT_NEG,
    TASTE,
    WISH,
)
from recagent.agent.reading.people import find_people
from recagent.agent.reading.spans import Span, genre_spans, year_spans
from recagent.agent.reading.text import about_someone_else, fold_text, sentence_bounds

log = logging.getLogger(__name__)

MODEL_PATH = Path(__file__).parent / "data" / "reader.npz"
YEAR_ROLES = ("none", "hard")
GENRE_ROLES = ("none", "only", "exclude", "like", "dislike")
HASH_DIM = 4096
THRESHOLD = 0.7  # below it a hard role is kept soft (genre) or asked about (year)
SOFT_WEIGHT = {"like": 1.0, "dislike": -0.7, "only": 1.0, "exclude": -1.0}

Embed = Callable[[list[str]], np.ndarray]

_FLAGS: list[tuple[str, re.Pattern]] = [
    ("hard_neg", HARD_NEG),
    ("soft_neg", SOFT_NEG),
    ("hard_pos", HARD_POS),
    ("cond_neg", CONDITIONAL_NEG),
    ("if_not", IF_NOT),
    ("qualifier", QUALIFIER),
]
_WORD = re.compile(r"[a-z0-9']+|[?!]")
# "comedies from 2000 onwards only": a restriction said after the words it restricts
_TRAILING_ONLY = re.compile(r"\b(?:only|and nothing else|nothing else)\W*(?:please|pls|thanks|thank you)?\W*$")


def _h(token: str) -> int:
    return zlib.crc32(token.encode()) % HASH_DIM


def flag_names() -> list[str]:
    names = [f"before_{n}" for n, _ in _FLAGS]
    names += ["hedge", "taste", "wish", "narrative", "question", "someone_else", "only_in_clause", "trailing_only"]
    names += ["p_hard", "p_soft_pos", "p_soft_neg", "p_weight", "p_year_lo", "p_year_hi", "p_any_year"]
    names += ["lo_open", "hi_open", "single", "neg_in_span", "n_spans", "first", "last", "short_msg"]
    return names


N_FLAGS = len(flag_names())


def marked_window(text: str, span: Span) -> str:
    """The span's sentence (at most ~100 characters either side) with the span in brackets: the MiniLM input."""
    low = fold_text(text)
    s, e = sentence_bounds(low, span.start)
    s, e = max(s, span.start - 100), min(e, span.end + 100)
    return (text[s : span.start] + "[" + text[span.start : span.end] + "]" + text[span.end : e]).strip()


def span_features(text: str, span: Span, parsed: Understanding, spans: list[Span]) -> np.ndarray:
    """The non-neural features of one span: hashed words around it and flags (cues, the parser's reading)."""
    low = fold_text(text)
    x = np.zeros(HASH_DIM + N_FLAGS, dtype=np.float32)
    anchor = span.group_start if span.kind == "genre" and span.group_start >= 0 else span.start
    s_start, s_end = sentence_bounds(low, anchor)
    before_words = _WORD.findall(low[max(0, anchor - 80) : anchor])[-8:]
    after_words = _WORD.findall(low[span.end : span.end + 60])[:5]
    sentence_words = _WORD.findall(low[s_start:s_end])
    tokens = [f"b:{w}" for w in before_words] + [f"a:{w}" for w in after_words]
    tokens += [f"bb:{a}_{b}" for a, b in zip(before_words, before_words[1:])]
    tokens += [f"b1:{w}" for w in before_words[-2:]] + [f"a1:{w}" for w in after_words[:2]]
    tokens += [f"s:{w}" for w in sentence_words] + [f"t:{w}" for w in _WORD.findall(span.text)]
    tokens.append(f"k:{span.kind}")
    for t in tokens:
        x[_h(t)] = 1.0
    f = x[HASH_DIM:]
    before = low[max(s_start, anchor - 60) : anchor]
    i = 0
    for _, pat in _FLAGS:
        f[i] = bool(pat.search(before))
        i += 1
    sentence = low[s_start:s_end]
    clause_before = low[max(s_start, anchor - 40) : anchor]
    f[i : i + 8] = [
        bool(HEDGE.search(sentence)),
        bool(TASTE.search(clause_before)),
        bool(WISH.search(sentence)),
        bool(NARRATIVE.search(sentence)),
        "?" in sentence,
        about_someone_else(low[s_start:anchor], sentence),
        bool(re.search(r"\b(only|just|strictly|exclusively)\b", sentence)),
        bool(_TRAILING_ONLY.search(low[span.end : s_end])),
    ]
    i += 8
    if span.kind == "genre":
        hard_g = [c for c in parsed.hard if c.value == span.genre]
        w = parsed.genres.get(span.genre, 0.0)
        f[i : i + 4] = [1.0 if hard_g else 0.0, w > 0, w < 0, w]
    else:
        f[i + 4] = any(c.kind == "year_min" and c.value == span.lo for c in parsed.hard)
        f[i + 5] = any(c.kind == "year_max" and c.value == span.hi for c in parsed.hard)
        f[i + 6] = any(c.kind in ("year_min", "year_max") for c in parsed.hard)
    i += 7
    same = [sp for sp in spans if sp.kind == span.kind]
    f[i : i + 8] = [
        span.lo is None,
        span.hi is None,
        span.lo is not None and span.lo == span.hi,
        bool(re.match(r"(nothing|no|not|none|never|don)", span.text)),
        min(len(same), 4) / 4,
        same[0] is span,
        same[-1] is span,
        len(low) < 60,
    ]
    return x


class SpanModel:
    """Two softmax classifiers (years, genres) over [MiniLM window embedding, span features]."""

    def __init__(self, weights: dict[str, np.ndarray], genres: list[str], use_embedding: bool = True):
        self.weights = weights
        self.genres = genres
        self.use_embedding = use_embedding

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> SpanModel:
        with np.load(path) as z:
            weights = {k: z[k] for k in z.files if k.startswith(("year_", "genre_"))}
            genres = [str(g) for g in z["genres"]]
            use_embedding = bool(z["use_embedding"]) if "use_embedding" in z.files else True
        return cls(weights, genres, use_embedding)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, genres=np.array(self.genres), use_embedding=self.use_embedding, **self.weights)

    def proba(self, kind: str, x: np.ndarray) -> np.ndarray:
        w, b = self.weights[f"{kind}_w"], self.weights[f"{kind}_b"]
        mu, sd = self.weights[f"{kind}_mu"], self.weights[f"{kind}_sd"]
        z = ((x - mu) / sd) @ w + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def covers(self, vocab: list[str]) -> bool:
        """Whether the model was trained for this catalog's genres (else the parser reads it)."""
        return set(vocab) <= set(self.genres)


def candidate_spans(text: str, parsed: Understanding, vocab: list[str]) -> list[Span]:
    """Year and genre candidates outside the names and titles the parser found."""
    low = fold_text(text)
    blocked = [(s, e) for _, s, e in find_people(text)]
    titles = [(m.start, m.start + len(m.text)) for m in parsed.mentions if m.start >= 0]
    years = [y for y in year_spans(low) if not any(y.start < e and s < y.end for s, e in titles)]
    return sorted(years + genre_spans(low, vocab, blocked + titles, text), key=lambda s: s.start)


def features(text: str, parsed: Understanding, spans: list[Span], embed: Embed | None) -> dict[str, np.ndarray]:
    """The feature rows of a message's spans by kind: MiniLM (one batch for all spans) then the span features."""
    cheap = [span_features(text, sp, parsed, spans) for sp in spans]
    if embed is not None and spans:
        emb = embed([marked_window(text, sp) for sp in spans])
        rows = [np.concatenate([e.astype(np.float32), c]) for e, c in zip(emb, cheap)]
    else:
        rows = cheap
    out: dict[str, np.ndarray] = {}
    for kind in ("year", "genre"):
        mine = [r for r, sp in zip(rows, spans) if sp.kind == kind]
        if mine:
            out[kind] = np.stack(mine)
    return out


class LearnedReader:
    """Reads hard constraints and soft genres span by span with a :class:`SpanModel`; the rest is the parser's.
    ``fallback``: what a low-confidence hard role becomes: ``soft`` (the product: a soft genre, or a year asked
    about) or ``parser`` (the parser's reading of the message stands: the combination, for the report)."""

    def __init__(
        self,
        model: SpanModel,
        vocab: list[str],
        embed: Embed | None,
        threshold: float = THRESHOLD,
        fallback: str = "soft",
    ):
        self.model, self.vocab, self.embed = model, vocab, embed if model.use_embedding else None
        self.threshold, self.fallback = threshold, fallback

    def read(self, text: str, parsed: Understanding) -> Understanding:
        spans = candidate_spans(text, parsed, self.vocab)
        if not spans:
            return parsed.model_copy(update={"hard": [c for c in parsed.hard if c.kind not in _READ]})
        feats = features(text, parsed, spans, self.embed)
        probs = {kind: self.model.proba(kind, x) for kind, x in feats.items()}
        roles: list[tuple[Span, str, float]] = []
        counters = {"year": 0, "genre": 0}
        for sp in spans:
            p = probs[sp.kind][counters[sp.kind]]
            counters[sp.kind] += 1
            names = YEAR_ROLES if sp.kind == "year" else GENRE_ROLES
            k = int(p.argmax())
            roles.append((sp, names[k], float(p[k])))
        return self.assemble(parsed, roles)

    def assemble(self, parsed: Understanding, roles: list[tuple[Span, str, float]]) -> Understanding:
        """The parser's reading with its hard constraints and soft genres replaced by the spans' roles."""
        u = parsed.model_copy(deep=True)
        u.hard = [c for c in u.hard if c.kind not in _READ]
        u.genres = {}
        unsure_parser = False
        lo: list[tuple[int, str]] = []
        hi: list[tuple[int, str]] = []
        for sp, role, conf in roles:
            confident = conf >= self.threshold
            if sp.kind == "year":
                if role != "hard":
                    continue
                if not confident:
                    unsure_parser = True
                    if self.fallback == "soft":
                        if sp.lo is not None:
                            u.unsure.append(HardConstraint(kind="year_min", value=sp.lo, phrase=sp.text))
                        if sp.hi is not None:
                            u.unsure.append(HardConstraint(kind="year_max", value=sp.hi, phrase=sp.text))
                    continue
                if sp.lo is not None:
                    lo.append((sp.lo, sp.text))
                if sp.hi is not None:
                    hi.append((sp.hi, sp.text))
                continue
            if role == "none":
                continue
            if role in ("only", "exclude") and not confident:
                unsure_parser = True
                role = "like" if role == "only" else "dislike"
            if role in ("only", "exclude"):
                kind = "genre" if role == "only" else "exclude_genre"
                if not any(c.kind == kind and c.value == sp.genre for c in u.hard):
                    u.hard.append(HardConstraint(kind=kind, value=sp.genre, phrase=sp.text))
            old = u.genres.get(sp.genre)
            w = SOFT_WEIGHT[role]
            u.genres[sp.genre] = w if old is None or abs(w) > abs(old) else old
        if lo:
            v, phrase = max(lo)
            u.hard.append(HardConstraint(kind="year_min", value=v, phrase=phrase))
        if hi:
            v, phrase = min(hi)
            u.hard.append(HardConstraint(kind="year_max", value=v, phrase=phrase))
        if unsure_parser and self.fallback == "parser":
            return parsed
        u.asks = u.asks or bool(u.hard or u.genres)
        return u


_READ = ("genre", "exclude_genre", "year_min", "year_max")


def load_model(path: Path = MODEL_PATH) -> SpanModel | None:
    """The shipped span model, or None (with a warning) when the file is missing or unreadable."""
    try:
        return SpanModel.load(path)
    except (OSError, KeyError, ValueError) as e:
        log.warning("learned reader model %s not loaded (%s): the parser reads messages", path, e)
        return None
