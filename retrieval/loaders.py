"""Load catalogs and interaction logs from files.

Supported sources:

* MovieLens "latest" folders (``movies.csv``, optional ``ratings.csv``, ``tags.csv``, ``links.csv``);
* MovieLens 100K folders (``u.item``, ``u.data``, ``u.genre``);
* a generic CSV or JSONL table with a column mapping, for any product, book or film catalog.

Every problem in a file is reported as a :class:`DataError` that names the file,
the line and the problem. Nothing is skipped silently.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict

from recagent.errors import DataError
from recagent.retrieval.catalog import Catalog, InteractionLog, Item, build_item_text

BUNDLED_CATALOG = Path(__file__).parent / "data" / "ml-latest-small"
_YEAR_IN_TITLE = re.compile(r"\((\d{4})(?:[-–]\d{0,4})?\)\s*$")
MAX_TAGS = 8


@dataclass
class Dataset:
    """A catalog and, when the source has one, its interaction log."""

    catalog: Catalog
    interactions: InteractionLog | None
    source: Path


class ColumnMapping(BaseModel):
    """Which columns of a generic table hold which field. Only ``id`` and ``title`` are required."""

    model_config = ConfigDict(extra="forbid")

    id: str = "id"
    title: str = "title"
    description: str | None = "description"
    year: str | None = "year"
    genres: str | None = "genres"
    tags: str | None = "tags"
    list_separator: str = "|"
    user: str = "user_id"
    item: str = "item_id"
    value: str | None = "rating"
    timestamp: str | None = "timestamp"


# --------------------------------------------------------------------------- low-level readers


def _read_text(path: Path, encoding: str = "utf-8") -> str:
    if not path.exists():
        raise DataError(path, "file not found")
    if not path.is_file():
        raise DataError(path, "is not a file")
    raw = path.read_bytes()
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DataError(path, f"bad encoding: byte 0x{raw[e.start]:02x} is not valid {encoding} text", line) from None
    return text.removeprefix("\ufeff")


def _iter_csv(
    path: Path, required: list[str], delimiter: str = ",", encoding: str = "utf-8"
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) for a CSV with a header, checking required columns."""
    text = _read_text(path, encoding)
    if not text.strip():
        raise DataError(path, "file is empty")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except csv.Error as e:
        raise DataError(path, f"malformed CSV header: {e}", 1) from None
    missing = [c for c in required if c not in header]
    if missing:
        raise DataError(path, f"missing column {', '.join(repr(c) for c in missing)} (found: {', '.join(header)})", 1)
    try:
        for row in reader:
            line = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != len(header):
                raise DataError(path, f"expected {len(header)} fields, found {len(row)}", line)
            yield line, dict(zip(header, row))
    except csv.Error as e:
        raise DataError(path, f"malformed CSV: {e}", reader.line_num) from None


def _iter_jsonl(path: Path, required: list[str]) -> Iterator[tuple[int, dict]]:
    text = _read_text(path)
    if not text.strip():
        raise DataError(path, "file is empty")
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(path, f"invalid JSON: {e.msg}", line_no) from None
        if not isinstance(row, dict):
            raise DataError(path, "each line must be a JSON object", line_no)
        missing = [c for c in required if c not in row]
        if missing:
            raise DataError(path, f"missing field {', '.join(repr(c) for c in missing)}", line_no)
        yield line_no, row


def _iter_table(path: Path, required: list[str]) -> Iterator[tuple[int, dict]]:
    if path.suffix.lower() in {".jsonl", ".ndjson"}:
        return _iter_jsonl(path, required)
    return _iter_csv(path, required, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")


def _to_int(path: Path, line: int, field: str, value: object) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise DataError(path, f"{field} {value!r} is not an integer", line) from None


def _to_float(path: Path, line: int, field: str, value: object) -> float:
    try:
        out = float(str(value).strip())
    except ValueError:
        raise DataError(path, f"{field} {value!r} is not a number", line) from None
    if not np.isfinite(out):
        raise DataError(path, f"{field} {value!r} is not a finite number", line)
    return out


def _year_from_title(title: str) -> int | None:
    m = _YEAR_IN_TITLE.search(title)
    return int(m.group(1)) if m else None


def _check_unique(path: Path, seen: dict[str, int], item_id: str, line: int) -> None:
    if item_id in seen:
        raise DataError(path, f"duplicate item id {item_id!r} (first on line {seen[item_id]})", line)
    seen[item_id] = line


def _make_catalog(path: Path, items: list[Item], name: str) -> Catalog:
    if not items:
        raise DataError(path, "the catalog has no items")
    return Catalog(items, name=name)


def _make_log(path: Path, catalog: Catalog, rows: list[tuple[int, str, str, float, int]]) -> InteractionLog:
    """rows: (line, user, item, value, timestamp). Unknown items are an error, never dropped."""
    unknown = [(line, item) for line, _, item, _, _ in rows if item not in catalog]
    if unknown:
        line, item = unknown[0]
        more = f" ({len(unknown) - 1} more such lines)" if len(unknown) > 1 else ""
        raise DataError(path, f"item id {item!r} is not in the catalog{more}", line)
    return InteractionLog(
        catalog,
        [r[1] for r in rows],
        catalog.positions(r[2] for r in rows),
        np.fromiter((r[3] for r in rows), dtype=np.float32, count=len(rows)),
        np.fromiter((r[4] for r in rows), dtype=np.int64, count=len(rows)),
    )


# --------------------------------------------------------------------------- MovieLens latest


def load_movielens(folder: Path) -> Dataset:
    """A MovieLens 'latest' folder: movies.csv plus optional ratings.csv, tags.csv, links.csv."""
    folder = Path(folder)
    movies_csv = folder / "movies.csv"
    tags: dict[str, Counter] = defaultdict(Counter)
    tags_csv = folder / "tags.csv"
    if tags_csv.exists():
        for _, row in _iter_csv(tags_csv, ["movieId", "tag"]):
            tag = row["tag"].strip().lower()
            if tag:
                tags[row["movieId"].strip()][tag] += 1
    links: dict[str, dict[str, str]] = {}
    links_csv = folder / "links.csv"
    if links_csv.exists():
        for _, row in _iter_csv(links_csv, ["movieId"]):
            links[row["movieId"].strip()] = {k: v.strip() for k, v in row.items() if k != "movieId" and v.strip()}

    items: list[Item] = []
    seen: dict[str, int] = {}
    for line, row in _iter_csv(movies_csv, ["movieId", "title", "genres"]):
        item_id = str(_to_int(movies_csv, line, "movieId", row["movieId"]))
        _check_unique(movies_csv, seen, item_id, line)
        title = row["title"].strip()
        if not title:
            raise DataError(movies_csv, f"movie {item_id} has an empty title", line)
        genres = tuple(g for g in row["genres"].split("|") if g and g != "(no genres listed)")
        top_tags = tuple(t for t, _ in tags[item_id].most_common(MAX_TAGS))
        year = _year_from_title(title)
        items.append(
            Item(
                id=item_id,
                title=title,
                text=build_item_text(title, year, genres, top_tags),
                year=year,
                genres=genres,
                tags=top_tags,
                metadata=links.get(item_id, {}),
            )
        )
    catalog = _make_catalog(movies_csv, items, name=folder.name)

    ratings_csv = folder / "ratings.csv"
    log = None
    if ratings_csv.exists():
        rows = [
            (
                line,
                row["userId"].strip(),
                row["movieId"].strip(),
                _to_float(ratings_csv, line, "rating", row["rating"]),
                _to_int(ratings_csv, line, "timestamp", row["timestamp"]),
            )
            for line, row in _iter_csv(ratings_csv, ["userId", "movieId", "rating", "timestamp"])
        ]
        log = _make_log(ratings_csv, catalog, rows)
    return Dataset(catalog, log, folder)


# --------------------------------------------------------------------------- MovieLens 100K


def load_movielens_100k(folder: Path) -> Dataset:
    """A MovieLens 100K folder: u.item (latin-1, pipe-separated), u.data, u.genre."""
    folder = Path(folder)
    genre_names: list[str] = []
    genre_file = folder / "u.genre"
    if genre_file.exists():
        for line in _read_text(genre_file, "latin-1").splitlines():
            if line.strip():
                genre_names.append(line.partition("|")[0])
    item_file = folder / "u.item"
    text = _read_text(item_file, "latin-1")
    items: list[Item] = []
    seen: dict[str, int] = {}
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        f = line.split("|")
        if len(f) < 5:
            raise DataError(item_file, f"expected at least 5 '|'-separated fields, found {len(f)}", line_no)
        item_id = str(_to_int(item_file, line_no, "item id", f[0]))
        _check_unique(item_file, seen, item_id, line_no)
        title = f[1].strip()
        if not title:
            raise DataError(item_file, f"item {item_id} has an empty title", line_no)
        flags = f[5:]
        genres = tuple(
            genre_names[j] if j < len(genre_names) else f"genre{j}" for j, v in enumerate(flags) if v.strip() == "1"
        )
        genres = tuple(g for g in genres if g != "unknown")
        year = _year_from_title(title)
        if year is None and f[2].strip()[-4:].isdigit():
            year = int(f[2].strip()[-4:])
        items.append(Item(id=item_id, title=title, text=build_item_text(title, year, genres), year=year, genres=genres))
    catalog = _make_catalog(item_file, items, name=folder.name)

    data_file = folder / "u.data"
    log = None
    if data_file.exists():
        rows = []
        for line_no, line in enumerate(_read_text(data_file, "latin-1").splitlines(), 1):
            if not line.strip():
                continue
            f = line.split("\t")
            if len(f) != 4:
                raise DataError(data_file, f"expected 4 tab-separated fields, found {len(f)}", line_no)
            rows.append(
                (
                    line_no,
                    f[0].strip(),
                    str(_to_int(data_file, line_no, "item id", f[1])),
                    _to_float(data_file, line_no, "rating", f[2]),
                    _to_int(data_file, line_no, "timestamp", f[3]),
                )
            )
        log = _make_log(data_file, catalog, rows)
    return Dataset(catalog, log, folder)


# --------------------------------------------------------------------------- generic tables


def load_table(path: Path, columns: ColumnMapping | None = None, interactions: Path | None = None) -> Dataset:
    """A CSV/TSV/JSONL catalog with one item per row, plus an optional interaction table."""
    path = Path(path)
    cols = columns or ColumnMapping()
    items: list[Item] = []
    seen: dict[str, int] = {}

    def opt(row: dict, key: str | None) -> str:
        if key is None or row.get(key) is None:
            return ""
        return str(row[key]).strip()

    def as_list(value: object) -> tuple[str, ...]:
        if isinstance(value, list):
            return tuple(str(v).strip() for v in value if str(v).strip())
        return tuple(v.strip() for v in str(value or "").split(cols.list_separator) if v.strip())

    for line, row in _iter_table(path, [cols.id, cols.title]):
        item_id = opt(row, cols.id)
        if not item_id:
            raise DataError(path, f"empty {cols.id!r}", line)
        _check_unique(path, seen, item_id, line)
        title = opt(row, cols.title)
        if not title:
            raise DataError(path, f"item {item_id!r} has an empty {cols.title!r}", line)
        year_raw = opt(row, cols.year)
        year = _to_int(path, line, cols.year or "year", year_raw) if year_raw else _year_from_title(title)
        genres = as_list(row.get(cols.genres)) if cols.genres else ()
        tags = as_list(row.get(cols.tags)) if cols.tags else ()
        description = opt(row, cols.description)
        items.append(
            Item(
                id=item_id,
                title=title,
                text=build_item_text(title, year, genres, tags, description or None),
                year=year,
                genres=genres,
                tags=tags,
                metadata={"description": description} if description else {},  # its words are request facets
            )
        )
    catalog = _make_catalog(path, items, name=path.stem)

    log = None
    if interactions is not None:
        interactions = Path(interactions)
        required = [cols.user, cols.item]
        rows = []
        for line, row in _iter_table(interactions, required):
            value = (
                _to_float(interactions, line, cols.value, row[cols.value])
                if cols.value and opt(row, cols.value)
                else 1.0
            )
            ts = (
                _to_int(interactions, line, cols.timestamp, row[cols.timestamp])
                if cols.timestamp and opt(row, cols.timestamp)
                else 0
            )
            user = opt(row, cols.user)
            if not user:
                raise DataError(interactions, f"empty {cols.user!r}", line)
            rows.append((line, user, opt(row, cols.item), value, ts))
        if not rows:
            raise DataError(interactions, "the interaction log has no rows")
        log = _make_log(interactions, catalog, rows)
    return Dataset(catalog, log, path)


# --------------------------------------------------------------------------- dispatch


def detect_format(path: Path) -> str:
    if path.is_dir():
        if (path / "movies.csv").exists():
            return "movielens"
        if (path / "u.item").exists():
            return "ml100k"
        raise DataError(path, "folder holds neither movies.csv (MovieLens) nor u.item (MovieLens 100K)")
    if path.suffix.lower() in {".csv", ".tsv", ".jsonl", ".ndjson"}:
        return "table"
    if not path.exists():
        raise DataError(path, "file not found")
    raise DataError(
        path, f"unknown catalog format {path.suffix!r}; use a .csv, .tsv or .jsonl file or a MovieLens folder"
    )


def load_dataset(
    source: str | Path = "bundled",
    fmt: str = "auto",
    interactions: Path | None = None,
    columns: ColumnMapping | dict | None = None,
) -> Dataset:
    """Load any supported catalog. ``source='bundled'`` is the shipped ml-latest-small."""
    path = BUNDLED_CATALOG if str(source) == "bundled" else Path(source).expanduser()
    if fmt == "auto":
        if not path.exists():
            raise DataError(path, "file not found")
        fmt = detect_format(path)
    if fmt == "movielens":
        return load_movielens(path)
    if fmt == "ml100k":
        return load_movielens_100k(path)
    if fmt == "table":
        mapping = columns if isinstance(columns, ColumnMapping) else ColumnMapping(**(columns or {}))
        return load_table(path, mapping, interactions)
    raise DataError(path, f"unknown catalog format {fmt!r}")
