"""The chat agent reading people correctly, end to end on the slice: real retrieval (Chroma, MiniLM,
ALS), real title lookups, real SQLite sessions; retrieval order instead of the LLM reranker, so each
turn takes well under a second."""

from __future__ import annotations

import pytest

from recagent.agent.backends.base import LLMError
from recagent.agent.chat import ChatAgent
from recagent.agent.pipeline import RequestPipeline
from recagent.agent.rerank import Reranker
from recagent.agent.safety import MessageTooLongError
from recagent.agent.session_store import SessionStore


def chat_agent(rec, path, backend=None, mode="parser") -> ChatAgent:
    """A chat agent over ``rec``'s retrieval, in retrieval order (no LLM reranker)."""
    pipeline = RequestPipeline.from_tools(rec.chat_tools, Reranker(None), backend, mode)
    return ChatAgent(pipeline, SessionStore(path))


@pytest.fixture()
def agent(rec, tmp_path):
    return chat_agent(rec, tmp_path / "sessions.sqlite")


def items(rec, response):
    return [rec.catalog.get(r.item_id) for r in response.recommendations]


def test_the_web_page_example_reads_as_asked(rec, agent):
    resp = agent.turn("heat", "something like Heat but less violent, from the 90s")
    state = agent.store.get("heat")
    assert state.liked_ids == ["6"] and (state.year_min, state.year_max) == (1990, 1999)
    assert [(c.attribute, c.direction) for c in state.critiques] == [("violence", -1)]
    assert len(resp.recommendations) == 5 and all(1990 <= it.year <= 1999 for it in items(rec, resp))
    assert "less violent" in resp.message
    later = agent.turn("heat", "what else?")
    assert later.recommendations and agent.store.get("heat").critiques == state.critiques, "the critique lasts"


def test_a_narrative_year_never_empties_the_list(agent):
    resp = agent.turn("m4", "They are coming out with Matrix 4 in 2021")
    state = agent.store.get("m4")
    assert state.year_min is None and state.year_max is None and len(resp.recommendations) == 5


def test_over_tight_filters_are_relaxed_and_the_reply_says_which(rec, agent):
    resp = agent.turn("tight", "only westerns from the 1950s")
    assert len(resp.recommendations) == 5, "never an empty answer while the catalog has items"
    assert "relaxed" in resp.message and "1950s" in resp.message


def test_something_older_narrows_to_before_the_list_and_is_relaxed_once_nothing_older_is_left(rec, agent):
    first = agent.turn("older", "only comedies please")
    cutoff = min(it.year for it in items(rec, first))
    older = agent.turn("older", "something older")
    assert "relaxed" not in older.message and f"up to {cutoff - 1}" in older.message, older.message
    assert all("Comedy" in it.genres and it.year < cutoff for it in items(rec, older))
    oldest = min(it.year for it in items(rec, older))
    assert not [it for it in rec.catalog.items if "Comedy" in it.genres and it.year and it.year < oldest], (
        "the slice has no comedy older than the second list"
    )
    again = agent.turn("older", "something older")
    assert "relaxed “older than those”" in again.message, again.message
    assert len(again.recommendations) == 5 and all("Comedy" in it.genres for it in items(rec, again))


def test_conflicting_constraints_get_a_clarifying_reply_not_an_error(agent):
    resp = agent.turn("conflict", "before 1980 and after 2000")
    assert "Which did you mean?" in resp.message and len(resp.recommendations) == 5
    turns = agent.store.turns("conflict")
    assert [t.role for t in turns] == ["user", "assistant"]


def test_a_typed_like_undoes_a_button_dislike(agent):
    first = agent.turn("undo", "a comedy please")
    top = first.recommendations[0].item_id
    assert agent.feedback("undo", top, "dislike").disliked_ids == [top]
    agent.turn("undo", "actually I liked the first one")
    state = agent.store.get("undo")
    assert top in state.liked_ids and top not in state.disliked_ids


def test_people_get_an_honest_answer(agent):
    resp = agent.turn("jlo", "any jlo movies? i like movies with jennifer lopez")
    assert "no cast or crew" in resp.message and len(resp.recommendations) == 5
    assert agent.store.get("jlo").liked_ids == []


def test_apostrophes_never_become_a_missing_title(agent):
    resp = agent.turn("apos", "I'm sure it's going to be good! I'm excited")
    assert "could not find" not in resp.message


def test_observed_recommender_turns_are_shown_items(rec, agent):
    agent.observe("replay", "Have you seen Toy Story or Jumanji?", ["1", "2"])
    resp = agent.turn("replay", "I have not seen that one yet but I want to")
    state = agent.store.get("replay")
    assert state.want_ids == ["2"] and state.seen_ids == [] and state.disliked_ids == []
    assert not {"1", "2"} & {r.item_id for r in resp.recommendations}, "shown items are not re-recommended"
    agent.observe("replay2", "How about Toy Story or Jumanji?", ["1", "2"])
    agent.turn("replay2", "more like the first one")
    assert agent.store.get("replay2").liked_ids == ["1"], '"the first one" is the recommender\'s first'



def test_the_message_limit_stays_and_a_long_dialogue_query_is_folded(rec, agent):
    with pytest.raises(MessageTooLongError, match="limit is 2000"):
        agent.turn("long", "x" * 2001)
    dialogue = "\n".join(
        ["I loved Toy Story when I was a kid."] + [f"Seeker: turn {i}, just chatting about nothing much at all." for i in range(80)]
        + ["Now I want something from the 90s, no horror."]
    )
    assert len(dialogue) > 2000
    text, older = rec.pipeline.fold(dialogue)
    assert len(text) <= 2000 and text.endswith("no horror.") and older == ["1"]
    resp = rec.recommend(query=dialogue, k=5, rerank=False)
    assert len(resp.recommendations) == 5
    assert all("Horror" not in it.genres and 1990 <= it.year <= 1999 for it in items(rec, resp))


def test_understanding_modes_record_every_llm_check(rec, tmp_path, fake_llm):
    parser = chat_agent(rec, tmp_path / "a.sqlite")
    assert parser.turn("p", "something like Heat but less violent").checks == [], "not asked: no check"
    hybrid = chat_agent(rec, tmp_path / "b.sqlite", backend=fake_llm.enqueue(LLMError("model unavailable")), mode="hybrid")
    resp = hybrid.turn("h", "something like Heat but less violent")
    assert fake_llm.calls == 1 and "less violent" in fake_llm.prompts[0]
    (check,) = resp.checks
    assert check.stage == "understanding" and not check.valid and "model unavailable" in check.error
    assert hybrid.store.get("h").liked_ids == ["6"], "the parser's reading stands when the LLM fails"


def test_one_shot_queries_filter_only_what_is_stated(rec):
    from recagent.retrieval.filters import InvalidFilterError

    def filters(query):
        return rec.candidates(query=query, k=5).query.filters

    passing = filters("I love horror and I grew up in the 80s")
    assert passing.genres == passing.exclude_genres == [] and passing.year_min is passing.year_max is None
    f = filters("no horror, nothing before 1995")
    assert f.exclude_genres == ["Horror"] and f.year_min == 1995
    # the slice has nothing from 2000 on: the bound is read, then relaxed (and the reply says so)
    resp = rec.recommend(query="no horror, nothing before 2000", k=5, rerank=False)
    assert "relaxed “nothing before 2000”" in resp.message and len(resp.recommendations) == 5
    with pytest.raises(InvalidFilterError, match="no item can be both"):
        rec.candidates(query="before 1980 and after 2000")
    prefs = rec.candidates(query="something lighter, I'm not a fan of horror", k=5).query.preferences
    assert prefs.genres == {"Horror": -0.7} and [(c.attribute, c.direction) for c in prefs.critiques] == [("darkness", -1)]


@pytest.mark.slow
def test_the_bundled_llm_reading_is_checked(llama, rec):
    from recagent.agent.reading.llm import llm_reading

    result = llm_reading(llama, "something like Heat but less violent, from the 90s", rec.catalog.genre_vocab)
    assert result.check.stage == "understanding" and result.check.latency_ms is not None
    assert (result.reading is not None) == result.check.valid
    if result.reading is not None:  # the schema held: genres from the catalog, critiques from the vocabulary
        assert set(result.reading.liked_genres) <= set(rec.catalog.genre_vocab)
