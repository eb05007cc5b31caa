"""Real data for tests: the shared datasets beside the checkout (skipped cleanly when absent) and a
small slice of the bundled ml-latest-small."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from recagent.retrieval.loaders import BUNDLED_CATALOG

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
SLICE_ITEMS = 600  # the first 600 movies of ml-latest-small (mostly 1995-1996 titles)


def write_slice(dst: Path, n_items: int) -> Path:
    """Copy the first n movies of the bundled ml-latest-small, with their ratings, tags and links."""
    dst.mkdir(parents=True, exist_ok=True)
    keep: set[str] = set()
    with open(BUNDLED_CATALOG / "movies.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1 : n_items + 1]
    keep = {r[0] for r in body}
    with open(dst / "movies.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *body])
    for name in ("ratings.csv", "tags.csv", "links.csv"):
        with open(BUNDLED_CATALOG / name, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        col = rows[0].index("movieId")
        with open(dst / name, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([rows[0], *(r for r in rows[1:] if r[col] in keep)])
    return dst



def shared_dataset(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"dataset {name} not found at {path} (../shared/data is absent)")
    return path
