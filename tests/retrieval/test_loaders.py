"""Catalog and interaction loaders, on real data and on every kind of bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from recagent.errors import DataError
from recagent.retrieval.loaders import ColumnMapping, load_dataset, load_table
from tests.support.data import shared_dataset


def test_bundled_catalog_is_the_full_ml_latest_small():
    ds = load_dataset("bundled")
    assert len(ds.catalog) == 9742
    assert len(ds.interactions) == 100836
    assert ds.interactions.n_users == 610
    heat = ds.catalog.get("6")
    assert heat.title == "Heat (1995)" and heat.year == 1995
    assert heat.genres == ("Action", "Crime", "Thriller")
    assert heat.text.startswith("Heat (1995). Genres: Action, Crime, Thriller.")
    assert ds.catalog.get("1").metadata["tmdbId"] == "862"


def test_item_text_carries_the_most_frequent_tags():
    ds = load_dataset("bundled")
    pulp = ds.catalog.get("296")  # Pulp Fiction has many user tags
    assert len(pulp.tags) == 8
    assert "Tags: " in pulp.text and pulp.tags[0] in pulp.text


def test_no_genres_listed_becomes_empty(slice_dir, tmp_path):
    (tmp_path / "movies.csv").write_text("movieId,title,genres\n1,Odd Film (2001),(no genres listed)\n")
    item = load_dataset(tmp_path).catalog.get("1")
    assert item.genres == () and item.year == 2001


def test_history_is_in_time_order():
    log = load_dataset("bundled").interactions
    h = log.history("1")
    assert len(h.item_positions) == 232
    assert np.all(np.diff(h.timestamps) >= 0)


def test_movielens_100k_loads_latin1_titles():
    ds = load_dataset(shared_dataset("ml-100k"))
    assert len(ds.catalog) == 1682
    assert len(ds.interactions) == 100000 and ds.interactions.n_users == 943
    toy = ds.catalog.get("1")
    assert toy.title == "Toy Story (1995)" and set(toy.genres) == {"Animation", "Children's", "Comedy"}
    assert any("é" in it.title or "è" in it.title for it in ds.catalog), "latin-1 accents decode"


def test_generic_csv_with_column_mapping(tmp_path):
    cat = tmp_path / "books.csv"
    cat.write_text(
        "isbn,name,blurb,published,shelves\n"
        "b1,Dune,Desert planet epic,1965,sci-fi|classic\n"
        "b2,Emma,Matchmaking in Highbury,1815,romance|classic\n"
    )
    inter = tmp_path / "reads.csv"
    inter.write_text("reader,isbn,stars,when\nu1,b1,5,100\nu1,b2,3,200\nu2,b2,4,150\n")
    cols = ColumnMapping(
        id="isbn",
        title="name",
        description="blurb",
        year="published",
        genres="shelves",
        user="reader",
        item="isbn",
        value="stars",
        timestamp="when",
    )
    ds = load_table(cat, cols, inter)
    dune = ds.catalog.get("b1")
    assert dune.year == 1965 and dune.genres == ("sci-fi", "classic")
    assert "Desert planet epic" in dune.text
    assert len(ds.interactions) == 3 and ds.interactions.n_users == 2
    assert ds.interactions.history("u1").values.tolist() == [5.0, 3.0]


def test_generic_jsonl(tmp_path):
    cat = tmp_path / "items.jsonl"
    cat.write_text(
        json.dumps({"id": "p1", "title": "Trail shoe", "genres": ["running", "outdoor"]})
        + "\n"
        + json.dumps({"id": "p2", "title": "Rain jacket", "description": "Light and waterproof"})
        + "\n"
    )
    ds = load_dataset(cat)
    assert ds.catalog.get("p1").genres == ("running", "outdoor")
    assert "waterproof" in ds.catalog.get("p2").text


# --------------------------------------------------------------------------- bad input


def _err(path, **kw) -> DataError:
    with pytest.raises(DataError) as info:
        load_dataset(path, **kw)
    return info.value


def test_missing_file(tmp_path):
    e = _err(tmp_path / "nope.csv")
    assert "nope.csv" in str(e) and "file not found" in str(e)


def test_missing_folder_file(tmp_path):
    (tmp_path / "movies.csv").write_text("movieId,title,genres\n1,A (2000),Drama\n")
    (tmp_path / "ratings.csv").write_text("userId,movieId,rating\n1,1,4.0\n")
    e = _err(tmp_path)
    assert e.path.name == "ratings.csv" and e.line == 1
    assert "missing column 'timestamp'" in str(e)


def test_missing_column(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("id,name\n1,x\n")
    e = _err(p)
    assert e.line == 1 and "missing column 'title'" in str(e) and "found: id, name" in str(e)


def test_duplicate_ids_name_both_lines(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("id,title\n1,A\n2,B\n1,C\n")
    e = _err(p)
    assert e.line == 4 and "duplicate item id '1' (first on line 2)" in str(e)


def test_empty_catalog(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("id,title\n")
    assert "has no items" in str(_err(p))
    p.write_text("")
    assert "file is empty" in str(_err(p))


def test_bad_encoding_names_the_line(tmp_path):
    p = tmp_path / "c.csv"
    p.write_bytes(b"id,title\n1,Fine\n2,Caf\xe9 latin-1\n")
    e = _err(p)
    assert e.line == 3 and "bad encoding" in str(e) and "0xe9" in str(e)


def test_bad_number_and_ragged_row(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("id,title,year\n1,A,1999\n2,B,nineteen\n")
    e = _err(p)
    assert e.line == 3 and "'nineteen' is not an integer" in str(e)
    p.write_text("id,title\n1,A,extra\n")
    assert "expected 2 fields, found 3" in str(_err(p))


def test_interaction_with_unknown_item_is_an_error_not_a_drop(tmp_path):
    (tmp_path / "movies.csv").write_text("movieId,title,genres\n1,A (2000),Drama\n")
    (tmp_path / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,1,4.0,1\n1,99,3.0,2\n2,98,3.0,2\n")
    e = _err(tmp_path)
    assert e.line == 3 and "'99' is not in the catalog (1 more such lines)" in str(e)


def test_invalid_jsonl_line(tmp_path):
    p = tmp_path / "c.jsonl"
    p.write_text('{"id": "1", "title": "A"}\n{"id": "2", "title": \n')
    e = _err(p)
    assert e.line == 2 and "invalid JSON" in str(e)


def test_unknown_format(tmp_path):
    p = tmp_path / "c.xlsx"
    p.write_text("x")
    assert "unknown catalog format" in str(_err(p))
    d = tmp_path / "empty_dir"
    d.mkdir()
    assert "neither movies.csv" in str(_err(d))
