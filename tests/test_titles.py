"""Title resolution: exact, fuzzy, fuzzy confirmed by vectors, and unresolved with suggestions."""

from __future__ import annotations

import pytest

from recagent.errors import UnresolvedTitleError
from recagent.retrieval.loaders import load_dataset
from recagent.retrieval.titles import TitleResolver, normalize, split_year, title_keys


@pytest.fixture(scope="module")
def full_resolver():
    ds = load_dataset("bundled")
    return TitleResolver(ds.catalog, ds.interactions.item_counts)


def test_normalize_moves_articles_and_drops_punctuation():
    assert normalize("Matrix, The") == "the matrix"
    assert normalize("Amélie") == "amelie"
    assert title_keys("Seven (a.k.a. Se7en) (1995)") == ["seven", "se7en"]
    assert split_year("Heat 1995") == ("Heat", 1995)
    assert split_year("2001: A Space Odyssey") == ("2001: A Space Odyssey", None)


@pytest.mark.parametrize(
    "query, expected",
    [
        ("Heat", "Heat (1995)"),
        ("The Matrix", "Matrix, The (1999)"),
        ("the matrix (1999)", "Matrix, The (1999)"),
        ("Se7en", "Seven (a.k.a. Se7en) (1995)"),
        ("Terminator 2", "Terminator 2: Judgment Day (1991)"),
        ("Forest Gump", "Forrest Gump (1994)"),
        ("amelie", "Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)"),
    ],
)
def test_resolves_common_ways_of_typing_a_title(full_resolver, query, expected):
    assert full_resolver.resolve([query])[0].title == expected


def test_same_title_prefers_stated_year_then_popularity(full_resolver):
    # "Hamlet" exists several times in ml-latest-small
    assert full_resolver.resolve(["Hamlet (1948)"])[0].title == "Hamlet (1948)"
    assert full_resolver.resolve(["Hamlet"])[0].title == "Hamlet (1996)"


def test_unresolvable_titles_are_reported_together(full_resolver):
    with pytest.raises(UnresolvedTitleError) as info:
        full_resolver.resolve(["Heat", "Qwxyzzy Plorb", "Star Wars"])
    err = info.value
    assert set(err.unresolved) == {"Qwxyzzy Plorb", "Star Wars"}
    assert any("Star Wars" in s for s in err.unresolved["Star Wars"]), "ambiguous: suggestions listed"
    assert "could not match title" in str(err)


def test_vector_match_confirms_an_unclear_fuzzy_match(rec):
    # a loose spelling of a slice title, confirmed by the real vector index
    match = rec.resolve_titles(["Jumanjii"])[0]
    assert match.title == "Jumanji (1995)"
