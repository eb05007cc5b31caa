"""Title resolution: exact, fuzzy, fuzzy confirmed by vectors, and unresolved with suggestions."""

from __future__ import annotations

import pytest

from recagent.errors import UnresolvedTitleError
from recagent.retrieval.loaders import load_dataset
from recagent.retrieval.titles import TitleMatch, TitleResolver, normalize, split_year, title_keys


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


@pytest.mark.parametrize("query", ["Marriage Story", "Jennifer Lopez"])
def test_one_shared_word_is_never_a_match(full_resolver, query):
    """"Story" is in "Philadelphia Story, The (1940)": one shared word is neither a match nor a suggestion."""
    assert full_resolver.resolve_one(query) == []


def test_a_title_with_an_extra_word_is_still_that_title(full_resolver):
    """Every word of the title is in the query (the query adds one): that is a match, not a shared word."""
    got = full_resolver.resolve_one("Something to Talk About It")
    assert isinstance(got, TitleMatch) and got.title == "Something to Talk About (1995)", got


def test_spotting_titles_in_free_text(full_resolver):
    def spotted(text):
        return [(text[s.start : s.end], None if s.ambiguous else s.title) for s in full_resolver.spot(text)]

    assert ("the matrix", "Matrix, The (1999)") in spotted("i loved the matrix")
    assert ("Schindler's List", "Schindler's List (1993)") in spotted("I'm into Schindler's List")
    assert ("star wars", None) in spotted("star wars is awesome"), "a series: ambiguous, every episode a candidate"
    assert ("Hamlet", "Hamlet (1948)") in spotted("the Hamlet (1948) one")
