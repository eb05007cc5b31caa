"""Query understanding: the deterministic parser, and how the LLM's reading is merged."""

from __future__ import annotations

import pytest

from recagent.agent.understanding import _LLMReading, merge, needs_llm, parse_message
from recagent.retrieval.loaders import load_dataset


@pytest.fixture(scope="module")
def vocab():
    return load_dataset("bundled").catalog.genre_vocab


@pytest.mark.parametrize(
    "message, expected",
    [
        (
            "something like Heat but less violent, from the 90s",
            {"liked_titles": ["Heat"], "year_min": 1990, "year_max": 1999, "keywords": ["less violent"]},
        ),
        ("no horror please, only comedies", {"genres": ["Comedy"], "exclude_genres": ["Horror"], "only_genres": True}),
        (
            "a sci-fi movie from the 1980s without romance",
            {"genres": ["Sci-Fi"], "exclude_genres": ["Romance"], "year_min": 1980, "year_max": 1989},
        ),
        ('movies before 2000 like "Toy Story"', {"liked_titles": ["Toy Story"], "year_max": 1999}),
        ("anything after 2010", {"year_min": 2011}),
        (
            "between 1990 and 1995 crime thrillers",
            {"genres": ["Crime", "Thriller"], "year_min": 1990, "year_max": 1995},
        ),
        ("funny animated films for kids", {"genres": ["Comedy", "Animation", "Children"]}),
        ("nothing scary, not too long", {"exclude_genres": ["Horror"], "keywords": ["short"]}),
        ("something older", {"older": True}),
        ("more recent ones please", {"newer": True}),
        ("more like the second one", {"more_like": [2]}),
        ("more like number 4", {"more_like": [4]}),
        ("not that one, I've seen it", {"reject": [1]}),
        ("not the third one", {"reject": [3]}),
        ("I've seen Jumanji", {"seen_titles": ["Jumanji"]}),
        ("I hated Titanic", {"disliked_titles": ["Titanic"]}),
        ("let's start over", {"reset": True}),
    ],
)
def test_parser(vocab, message, expected):
    got = parse_message(message, vocab).model_dump()
    for key, value in expected.items():
        assert got[key] == value, (key, got[key])
    untouched = {k for k, v in got.items() if v not in (None, [], False)} - set(expected)
    assert not untouched, f"unexpected: { {k: got[k] for k in untouched} }"


def test_merge_keeps_only_titles_present_in_the_message(vocab):
    msg = "I want something like Alien, but funny"
    parsed = parse_message(msg, vocab)
    reading = _LLMReading(liked_titles=["Alien", "Aliens vs Predator", "Comedy"], keywords=["funny", "space"])
    merged = merge(parsed, reading, msg, vocab)
    assert merged.liked_titles == ["Alien"]
    assert merged.keywords == ["funny"] and merged.genres == ["Comedy"] and merged.llm_used


def test_parser_wins_conflicts_and_llm_failure_changes_nothing(vocab):
    msg = "no horror, but I liked The Shining"
    parsed = parse_message(msg, vocab)
    merged = merge(parsed, _LLMReading(disliked_titles=["The Shining"]), msg, vocab)
    assert merged.liked_titles == ["The Shining"] and merged.disliked_titles == []
    assert merged.exclude_genres == ["Horror"]
    assert merge(parsed, None, msg, vocab) == parsed


def test_llm_is_skipped_for_follow_ups_and_short_messages(vocab):
    assert not needs_llm(parse_message("more like the second one", vocab), "more like the second one")
    assert not needs_llm(parse_message("only comedies", vocab), "only comedies")
    msg = "I'd love a sweeping romantic epic like Titanic"
    assert needs_llm(parse_message(msg, vocab), msg)
