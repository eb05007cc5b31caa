"""The ReDial -> MovieLens bridge: ReDial movies matched to the bundled ml-latest-small by title and year,
and the item-to-item similarity of MovieLens ratings it gives ReDial movies.

The shipped co-mention and dialogue data (``recagent data build-comentions``) hold the bridged MovieLens ids;
the ReDial evals use the bridge to score MovieLens-side models. ReDial has no interaction log beyond 500
training dialogues; MovieLens users' ratings give a collaborative signal instead. ReDial titles are matched
to MovieLens titles (``match_movielens``) by normalised title and year (within one year; a title without a year
takes the most rated MovieLens title of that name). A title that finds no such match is tried, in order, in a
canonical form (numbers as digits, "Vol."/"Chapter"/"Part"/"and" dropped, "%3F" decoded: "Kill Bill: Volume 2" =
"Kill Bill: Vol. 2", "John Wick: Chapter 2" = "Chapter Two"), then as a MovieLens title's head before its subtitle
("Jumanji" (2017) = "Jumanji: Welcome to the Jungle (2017)"; without a year, the most rated such film: "Anchorman"
= "Anchorman: The Legend of Ron Burgundy"), then by words when the ReDial title holds all of a MovieLens title's
words (at least three besides "the", "of"...) with the year ("Star Wars: Episode VIII – The Last Jedi" = "Star
Wars: The Last Jedi"). Those rules were written from the unmatched movies of the train subset (never test).
Similarity is the cosine between the items' rating vectors (every rating counts as one interaction, as in the
ml100k-loo protocol). MovieLens is external data: nothing of ReDial's test split is used.
"""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import scipy.sparse as sp

from recagent.retrieval.catalog import Catalog
from recagent.retrieval.loaders import BUNDLED_CATALOG
from recagent.retrieval.titles import display_title, normalize, split_year, title_keys, without_parens

_NUMBERS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9", "ten": "10", "ii": "2", "iii": "3", "iv": "4", "vi": "6", "vii": "7", "viii": "8", "ix": "9",
}  # fmt: skip
_DROPPED = {"vol", "volume", "chapter", "part", "and"}
_MINOR = {"the", "a", "an", "of", "in", "on", "to", "by", "or", "vs"}
_SUBTITLE = re.compile(r":\s|\s[-\u2013]\s")  # "Title: Subtitle", "Title - Subtitle"
MIN_SHARED_WORDS = 3
MIN_UNSPACED = 5


def _canonical(key: str) -> str:
    """A normalised key with numbers as digits and the words that series spell differently dropped."""
    words = key.split()
    if len(words) > 1:  # "Chapter Two" = "Chapter 2", but "Nine" (2009) is not "9" (2009)
        words = [_NUMBERS.get(w, w) for w in words]
    return " ".join(w for w in words if w not in _DROPPED)


def _unspaced(key: str) -> str | None:
    """The key without spaces ("wall e" = "walle", "super8" = "super 8"), for keys long enough not to
    collide ("i t" is not "it")."""
    joined = key.replace(" ", "")
    return joined if len(joined) >= MIN_UNSPACED else None


def _heads(title: str) -> list[str]:
    """The normalised parts of a MovieLens title before each of its subtitles ("Avengers: Infinity War -
    Part I" -> "avengers", "avengers infinity war")."""
    main = display_title(without_parens(title).strip())
    return [normalize(main[: m.start()], move_article=False) for m in _SUBTITLE.finditer(main)]


@dataclass
class _MovieLensTitle:
    movie_id: str
    year: int | None
    ratings: int
    keys: list[str]
    heads: list[str]

    @cached_property
    def words(self) -> list[set[str]]:
        return [set(_canonical(k).split()) for k in self.keys]


def _contains(movielens: set[str], redial: set[str]) -> bool:
    """The ReDial title holds every word of the MovieLens title, which has at least MIN_SHARED_WORDS words
    besides minor ones ("Star Wars: Episode VIII - The Last Jedi" holds "Star Wars: The Last Jedi"; "Nanny
    McPhee and the Big Bang" does not name "The Big Bang")."""
    return len(movielens - _MINOR) >= MIN_SHARED_WORDS and movielens <= redial


def _near(year: int | None, wanted: int | None) -> bool:
    return wanted is None or (year is not None and abs(year - wanted) <= 1)


def match_movielens(catalog: Catalog, movielens_dir: Path = BUNDLED_CATALOG) -> dict[int, str]:
    """ReDial catalog position -> MovieLens movieId, for the titles that match (rules: the module docstring)."""
    folder = Path(movielens_dir)
    ratings: Counter[str] = Counter()
    with open(folder / "ratings.csv", newline="", encoding="utf-8") as f:
        ratings.update(row["movieId"] for row in csv.DictReader(f))
    titles = []
    with open(folder / "movies.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            title, year = split_year(row["title"])
            titles.append(
                _MovieLensTitle(row["movieId"], year, ratings[row["movieId"]], title_keys(title), _heads(title))
            )
    by_key: dict[str, list[_MovieLensTitle]] = defaultdict(list)
    by_canonical: dict[str, list[_MovieLensTitle]] = defaultdict(list)
    by_head: dict[str, list[_MovieLensTitle]] = defaultdict(list)
    by_year: dict[int, list[_MovieLensTitle]] = defaultdict(list)
    for t in titles:
        if t.year is not None:
            by_year[t.year].append(t)
        for key in t.keys:
            by_key[key].append(t)
            by_canonical[_canonical(key)].append(t)
            if unspaced := _unspaced(_canonical(key)):
                by_canonical[unspaced].append(t)
        for head in t.heads:
            by_head[head].append(t)

    def best(found: list[_MovieLensTitle], year: int | None) -> str | None:
        found = [t for t in found if _near(t.year, year)]
        return max(found, key=lambda t: (t.ratings, -int(t.movie_id))).movie_id if found else None

    out = {}
    for pos, item in enumerate(catalog):
        key = normalize(unquote(item.title))
        canonical = _canonical(key)
        movie = (
            best(by_key.get(key, []), item.year)
            or best(by_canonical.get(canonical, []) + by_canonical.get(_unspaced(canonical) or "", []), item.year)
            or best(by_head.get(key, []), item.year)
        )
        words = set(canonical.split())
        if movie is None and item.year is not None and len(words - _MINOR) >= MIN_SHARED_WORDS:
            near = (t for y in (item.year - 1, item.year, item.year + 1) for t in by_year.get(y, []))
            movie = best([t for t in near if any(_contains(w, words) for w in t.words)], item.year)
        if movie is not None:
            out[pos] = movie
    return out


class MovieLensSimilarity:
    """Cosine similarity of rating vectors between the ReDial movies that MovieLens knows."""

    def __init__(self, catalog: Catalog, movielens_dir: Path = BUNDLED_CATALOG):
        matched = match_movielens(catalog, movielens_dir)
        ml_ids = sorted(set(matched.values()), key=int)
        col = {m: i for i, m in enumerate(ml_ids)}
        users: dict[str, int] = {}
        rows, cols = [], []
        with open(Path(movielens_dir) / "ratings.csv", newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row["movieId"] in col:
                    rows.append(col[row["movieId"]])
                    cols.append(users.setdefault(row["userId"], len(users)))
        x = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(ml_ids), len(users)))
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        x = sp.diags(1.0 / np.maximum(norms, 1e-9)) @ x
        sim = (x @ x.T).toarray().astype(np.float32)
        np.fill_diagonal(sim, 0.0)
        self.sim = sim  # (n_ml, n_ml)
        self.n = len(catalog)
        self.ml_of = np.full(self.n, -1, dtype=np.int64)  # catalog position -> row of sim, -1 when unmatched
        for pos, ml in matched.items():
            self.ml_of[pos] = col[ml]

    @property
    def matched(self) -> int:
        return int((self.ml_of >= 0).sum())

    def scores(self, positions: np.ndarray, weights: np.ndarray) -> np.ndarray | None:
        """Weighted sum of the similarities of every catalog item to the given items; None if none match."""
        rows = self.ml_of[positions]
        keep = rows >= 0
        if not keep.any():
            return None
        ml_scores = weights[keep] @ self.sim[rows[keep]]
        out = np.zeros(self.n, dtype=np.float64)
        has = self.ml_of >= 0
        out[has] = ml_scores[self.ml_of[has]]
        return out
