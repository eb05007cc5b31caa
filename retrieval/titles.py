"""Resolve free-typed titles ("Heat", "the matrix 1999") to catalog ids.

A fuzzy match on normalised titles (articles moved to the front, years and
alternative titles split off) decides clear cases. Unclear ones are confirmed
by a vector match of the text against the index; anything still unclear is
reported as unresolved with suggestions, never guessed silently.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np
from pydantic import BaseModel, Field
from rapidfuzz import fuzz, process

from recagent.errors import UnresolvedTitleError
from recagent.retrieval.catalog import Catalog

_ARTICLE_SUFFIX = re.compile(r"^(.*?),\s*(the|a|an|les|la|le|il|el|der|die|das)$", re.IGNORECASE)
# a parenthesised part of a title ("(1995)", "(Trolljegeren)"), and a year at the end of one (shared with
# the grounding of LLM replies and the ReDial bridge)
PARENTHESISED = re.compile(r"\s*\(([^()]*)\)")
TRAILING_YEAR = re.compile(r"(?:\(|\s)((?:19|20)\d{2})\)?\s*$")

ACCEPT = 92.0  # fuzzy score accepted on its own
CONFIRM = 75.0  # fuzzy score accepted when the vector match agrees
MARGIN = 3.0  # a runner-up this close makes a fuzzy match ambiguous
CLEAR_FAVOURITE = 2.0  # in free text, a title shared by several items names the most popular if it is this far ahead
_WORD = re.compile(r"[^\W_]+")
_ARTICLES = {"the", "a", "an"}
_MINOR = {"the", "a", "an", "of", "and", "in", "on", "to"}


class TitleSpan(BaseModel):
    """A catalog title found in free text: where, and which item(s) it can be."""

    start: int
    end: int
    item_ids: list[str] = Field(description="the items the words name, the likeliest first")
    title: str = Field(description="the catalog title of the first item")
    ambiguous: bool = Field(False, description="several items fit and none stands out (remakes, a series)")
    titles: list[str] = Field(default_factory=list, description="each item's catalog title, in item_ids' order")
    years: list[int | None] = Field(default_factory=list, description="each item's year, in item_ids' order")

    def version(self, newest: bool) -> int | None:
        """The index in ``item_ids`` of the newest (or the oldest) dated item: "the new Ghostbusters", "the
        original It". None when fewer than two items are dated."""
        dated = [(y, i) for i, y in enumerate(self.years) if y is not None]
        if len(dated) < 2:
            return None
        return (max(dated, key=lambda d: (d[0], -d[1])) if newest else min(dated, key=lambda d: (d[0], d[1])))[1]


class TitleMatch(BaseModel):
    query: str
    item_id: str
    title: str
    score: float
    method: str  # "exact", "prefix", "fuzzy" or "fuzzy+vector"


def normalize(title: str, move_article: bool = True) -> str:
    """Lower-case ASCII words; with ``move_article``, a catalog-style trailing article moves to the front
    ("Matrix, The" -> "the matrix"). Text that is not a catalog title (a sentence, a title already
    displayed with its article in front) is normalised with ``move_article=False``."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[^a-z0-9,'&:\- ]+", " ", text)
    text = re.sub(r"\s+", " ", text).strip(" ,:-")
    m = _ARTICLE_SUFFIX.match(text) if move_article else None
    if m:
        text = f"{m.group(2)} {m.group(1)}"
    text = re.sub(r"[,':\-&]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def display_title(title: str) -> str:
    """'Matrix, The (1999)' -> 'The Matrix (1999)': the article back in front, for people to read."""
    m = re.match(r"^(.*?), (The|A|An)( \(.*)?$", title)
    return f"{m.group(2)} {m.group(1)}{m.group(3) or ''}" if m else title


def title_keys(title: str) -> list[str]:
    """Normalised keys for a catalog title: the main title, plus alternative titles in parentheses."""
    alts = [a for a in PARENTHESISED.findall(title) if not re.fullmatch(r"\s*\d{4}\s*", a)]
    main = PARENTHESISED.sub("", title)
    keys = [normalize(main)]
    for alt in alts:
        alt = re.sub(r"^(a\.k\.a\.|aka)\s*", "", alt.strip(), flags=re.IGNORECASE)
        if alt:
            keys.append(normalize(alt))
    return [k for k in dict.fromkeys(keys) if k]


def split_year(query: str) -> tuple[str, int | None]:
    m = TRAILING_YEAR.search(query.strip())
    if m and len(query.strip()) > len(m.group(0)):
        return query.strip()[: m.start()].strip(" (,"), int(m.group(1))
    return query.strip(), None


def _fold(word: str) -> str:
    return unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode().lower()


def covers(query_key: str, title_key: str, min_ratio: float = 80.0) -> bool:
    """Whether the title accounts for the query's words: nearly every word of the query (all of them up to
    three) is close to a word of the title. One shared word ("Marriage Story" vs "The Philadelphia Story")
    is never enough."""
    words = [w for w in query_key.split() if w not in _MINOR] or query_key.split()
    title_words = title_key.split()
    matched = sum(1 for w in words if any(w == t or fuzz.ratio(w, t) >= min_ratio for t in title_words))
    return matched >= len(words) - len(words) // 4


class TitleResolver:
    def __init__(
        self,
        catalog: Catalog,
        popularity: np.ndarray | None = None,
        vector_lookup: Callable[[str, int], list[str]] | None = None,
    ):
        self.catalog = catalog
        self.popularity = popularity if popularity is not None else np.zeros(len(catalog))
        self.vector_lookup = vector_lookup  # text, k -> item ids, nearest first
        self._by_key: dict[str, list[int]] = defaultdict(list)
        self._by_prefix: dict[str, set[str]] = defaultdict(set)  # "terminator 2" -> {"terminator 2 judgment day"}
        for pos, item in enumerate(catalog):
            for key in title_keys(item.title):
                self._by_key[key].append(pos)
            main = PARENTHESISED.sub("", item.title)
            if ":" in main:
                self._by_prefix[normalize(main.split(":")[0])].add(normalize(main))
        self._keys = list(self._by_key)
        # free-text spotting: token tuples of every key, the key without a leading article, and a title
        # without its subtitle ("terminator 2"), each to the catalog positions it may name
        # (an exact title beats a title without its article, which beats a title without its subtitle)
        self._spot: dict[tuple[str, ...], set[int]] = {}
        fallback: dict[tuple[str, ...], set[int]] = defaultdict(set)
        for key, positions in self._by_key.items():
            words = tuple(key.split())
            self._spot.setdefault(words, set()).update(positions)
            if len(words) > 1 and words[0] in _ARTICLES:
                fallback[words[1:]].update(positions)
        for prefix, fulls in self._by_prefix.items():
            for full in fulls:
                fallback[tuple(prefix.split())].update(self._by_key[full])
        for words, positions in fallback.items():
            self._spot.setdefault(words, positions)
        self._spot_len = max((len(k) for k in self._spot), default=1)

    def _best(self, positions: Sequence[int], year: int | None) -> int:
        """Among items sharing a title, prefer the stated year, then the most popular."""

        def rank(p: int):
            item_year = self.catalog.items[p].year
            return (year is not None and item_year != year, -self.popularity[p], p)

        return min(positions, key=rank)

    def resolve_one(self, query: str) -> TitleMatch | list[str]:
        """A match, or a list of suggestions when the title is not clear enough."""
        text, year = split_year(query)
        key = normalize(text)
        if not key:
            return []
        if key in self._by_key:
            pos = self._best(self._by_key[key], year)
            return self._match(query, pos, 100.0, "exact")
        if len(self._by_prefix.get(key, ())) == 1:  # the title without its subtitle, and only one such
            (full,) = self._by_prefix[key]
            return self._match(query, self._best(self._by_key[full], year), 100.0, "prefix")
        hits = process.extract(key, self._keys, scorer=fuzz.WRatio, limit=8, score_cutoff=50)
        if not hits:
            return []
        # collapse to items, keeping the best score per item
        scored: dict[int, float] = {}
        for k, s, _ in hits:
            pos = self._best(self._by_key[k], year)
            scored[pos] = max(scored.get(pos, 0.0), s)
        ranked = sorted(scored.items(), key=lambda kv: (-kv[1], -self.popularity[kv[0]]))
        # never a match (nor a suggestion) from one shared word: the title must account for the query's words
        ranked = [(p, sc) for p, sc in ranked if any(covers(key, k) for k in title_keys(self.catalog.items[p].title))]
        if not ranked:
            return []
        best_pos, best = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        if best >= ACCEPT and best - runner_up >= MARGIN:
            return self._match(query, best_pos, best, "fuzzy")
        if self.vector_lookup is not None and best >= CONFIRM:
            near = self.vector_lookup(text, 5)
            for pos, s in ranked:
                if s >= CONFIRM and self.catalog.ids[pos] in near:
                    return self._match(query, pos, s, "fuzzy+vector")
        return [self.catalog.items[p].title for p, _ in ranked[:3]]

    def spot(self, text: str) -> list[TitleSpan]:
        """Catalog titles written in free text, in any case ("i loved the matrix"): the longest run of words
        that is exactly a title (or a title without its leading article or subtitle), left to right.

        Returns :class:`TitleSpan` values; a name several items share (a
        remake, a series) names the most popular one when it is clearly ahead, else it is ``ambiguous``
        with every candidate listed. A year right after the name ("Heat 1995", "Hamlet (1948)") picks
        that year's item. Deciding whether a common word ("up", "it") is really a title is the caller's.
        """
        words = [(_fold(m.group(0)), m.start(), m.end()) for m in _WORD.finditer(text)]
        spans = []
        i = 0
        while i < len(words):
            for n in range(min(self._spot_len, len(words) - i), 0, -1):
                key = tuple(w for w, _, _ in words[i : i + n])
                positions = self._spot.get(key)
                if positions:
                    start, end = words[i][1], words[i + n - 1][2]
                    spans.append(self._span(text, start, end, sorted(positions)))
                    i += n
                    break
            else:
                i += 1
        return spans

    def _span(self, text: str, start: int, end: int, positions: list[int]) -> TitleSpan:
        year_m = re.match(r"\s*\(?\s*((?:19|20)\d{2})\b", text[end : end + 10])
        year = int(year_m.group(1)) if year_m else None
        ranked = sorted(positions, key=lambda p: (year is not None and self.catalog.items[p].year != year, -self.popularity[p], p))
        ambiguous = False
        if len(ranked) > 1 and not (year is not None and self.catalog.items[ranked[0]].year == year):
            top, second = self.popularity[ranked[0]], self.popularity[ranked[1]]
            ambiguous = not top >= CLEAR_FAVOURITE * max(second, 1e-9)
        return TitleSpan(
            start=start,
            end=end,
            item_ids=[self.catalog.ids[p] for p in ranked],
            title=self.catalog.items[ranked[0]].title,
            ambiguous=ambiguous,
            titles=[self.catalog.items[p].title for p in ranked],
            years=[self.catalog.items[p].year for p in ranked],
        )

    def _match(self, query: str, pos: int, score: float, method: str) -> TitleMatch:
        item = self.catalog.items[pos]
        return TitleMatch(query=query, item_id=item.id, title=item.title, score=round(score, 1), method=method)

    def resolve_all(self, queries: Sequence[str]) -> tuple[list[TitleMatch], dict[str, list[str]]]:
        """(matches, {unresolved title: suggestions}); blank titles are ignored."""
        matches, unresolved = [], {}
        for q in queries:
            if not q.strip():
                continue
            got = self.resolve_one(q)
            if isinstance(got, TitleMatch):
                matches.append(got)
            else:
                unresolved[q] = got
        return matches, unresolved

    def resolve(self, queries: Sequence[str]) -> list[TitleMatch]:
        """Resolve every title or raise one error naming all the unresolved ones."""
        matches, unresolved = self.resolve_all(queries)
        if unresolved:
            raise UnresolvedTitleError(unresolved)
        return matches
