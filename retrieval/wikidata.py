"""Wikidata facts for the bundled catalog: fine-grained genres (with their hierarchy), main subjects, companies.

The facts ship with the bundled ml-latest-small catalog (``retrieval/data/ml-latest-small/wikidata/``, CC0,
credited in its README). They are keyed by MovieLens ``movieId`` and applied to a catalog item only where the
item's ``imdbId`` (from ``links.csv``) is the one the facts were joined on, so a slice of the bundled catalog
gets them and any other catalog simply has none. Read lazily: only the facet index (``retrieval/facets.py``)
asks for them, once per catalog.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from recagent.retrieval.catalog import Catalog

WIKIDATA_DIR = Path(__file__).parent / "data" / "ml-latest-small" / "wikidata"
MAX_DEPTH = 4  # ancestors followed up the genre hierarchy


@dataclass
class WikidataFacts:
    """Per catalog position, the item's Wikidata genres, subjects and companies; ``parents`` the genre hierarchy."""

    genres: dict[int, list[str]] = field(default_factory=dict)
    subjects: dict[int, list[str]] = field(default_factory=dict)
    companies: dict[int, list[str]] = field(default_factory=dict)
    parents: dict[str, list[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.genres or self.subjects or self.companies)

    def ancestors(self, genre: str) -> dict[str, int]:
        """Every ancestor of a genre with its depth (1 = parent), the shallowest path winning; no cycles."""
        out: dict[str, int] = {}
        frontier = [genre]
        for depth in range(1, MAX_DEPTH + 1):
            nxt = []
            for g in frontier:
                for p in self.parents.get(g, ()):
                    if p != genre and p not in out:
                        out[p] = depth
                        nxt.append(p)
            frontier = nxt
        return out


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split("|") if v.strip()]


def load_wikidata(catalog: Catalog, folder: Path = WIKIDATA_DIR) -> WikidataFacts:
    """The facts of the catalog's items (empty when the folder is absent or no item's imdbId matches)."""
    movies, parents_csv = Path(folder) / "movies.csv", Path(folder) / "genre_parents.csv"
    facts = WikidataFacts()
    if not movies.is_file():
        return facts
    with movies.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            iid = row["movieId"].strip()
            if iid not in catalog:
                continue
            item = catalog.get(iid)
            imdb = str(item.metadata.get("imdbId", "")).strip()
            if not imdb or imdb.lstrip("t").lstrip("0") != row["imdbId"].strip().lstrip("t").lstrip("0"):
                continue
            pos = catalog.position(iid)
            for name, target in (
                ("genres", facts.genres),
                ("subjects", facts.subjects),
                ("companies", facts.companies),
            ):
                if values := _split(row.get(name)):
                    target[pos] = values
    if facts and parents_csv.is_file():
        with parents_csv.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                facts.parents.setdefault(row["genre"].strip(), []).append(row["parent"].strip())
    return facts
