"""Through the one pipeline: a named genre is answered with that genre, a cast request says the catalog has no
cast and answers with what it knows (real slice, MiniLM, no LLM)."""

from __future__ import annotations

import uuid


def test_a_named_genre_answers_that_genre(rec):
    got = rec.chat(f"g-{uuid.uuid4().hex[:6]}", "Animation movies from the 1990s", k=10)
    genres = [set(rec.catalog.get(r.item_id).genres) for r in got.recommendations]
    animated = sum("Animation" in g for g in genres)
    assert animated == 10 or "match" in got.message, (animated, got.message)
    assert all("Animation" in g for g in genres[:animated])


def test_a_cast_request_says_so_and_hands_the_name_to_retrieval(rec):
    got = rec.chat(f"c-{uuid.uuid4().hex[:6]}", "movies with Tom Hanks", k=5)
    assert "no cast" in got.message
    query = rec.candidates(query="movies with Tom Hanks", k=5).query
    assert query.preferences.people == ["tom hanks"]  # matched to user tags of that name (tests/retrieval)
    assert "hanks" not in (query.text or "").lower()  # never to title words


def test_not_a_kids_film_is_no_wish_for_family_films(rec):
    from recagent.agent.reading.parser import parse_message

    u = parse_message("an animated movie for adults, not a kids film", rec.catalog.genre_vocab)
    assert not any(c.attribute == "family" and c.direction == 1 for c in u.critiques)
