"""The pure dialogue-state update ``apply(state, event)``, the query it builds and relaxation: no I/O."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from recagent.agent.reading.model import HardConstraint, ListReference, TitleMention, Understanding
from recagent.agent.reading.parser import parse_message
from recagent.agent.state.model import ChatState
from recagent.agent.state.query import build_query, relax
from recagent.agent.state.update import FeedbackEvent, MessageEvent, ShownEvent, apply, list_item
from recagent.retrieval.base import Critique
from recagent.retrieval.filters import Filters

VOCAB = ["Action", "Comedy", "Drama", "Horror", "Romance", "Sci-Fi"]


def said(state, text, **reading):
    """Apply a message: parsed from ``text`` unless a reading is given."""
    u = Understanding(**reading) if reading else parse_message(text, VOCAB)
    return apply(state, MessageEvent(text=text, reading=u))


def shown(state, ids, years=None, role="assistant"):
    return apply(state, ShownEvent(item_ids=ids, years=years or [2000] * len(ids), role=role))[0]


def test_apply_does_not_change_its_input():
    s0 = ChatState(session_id="s")
    s1, _ = said(s0, "no horror please")
    assert s0.constraints == [] and s1.exclude_genres == ["Horror"]


def test_a_typed_like_undoes_a_dislike_exactly_as_the_button_does():
    s = shown(ChatState(session_id="s"), ["a", "b", "c"])
    s, _ = apply(s, FeedbackEvent(item_id="b", kind="dislike"))
    assert s.disliked_ids == ["b"]
    typed, _ = said(s, "actually I liked it", references=[ListReference(position=2, stance="liked")])
    button, _ = apply(s, FeedbackEvent(item_id="b", kind="like"))
    for st in (typed, button):
        assert st.liked_ids == ["b"] and st.disliked_ids == [] and "b" not in st.filters().exclude_ids[:0]
    assert [m.origin for m in button.mentions] == ["button", "button"] and typed.mentions[-1].origin == "parser"


def test_a_typed_dislike_undoes_a_like():
    s = ChatState(session_id="s")
    s, _ = said(s, "x", mentions=[TitleMention(text="Heat", stance="liked", item_id="6")])
    s, _ = said(s, "y", mentions=[TitleMention(text="Heat", stance="disliked", item_id="6")])
    assert s.liked_ids == [] and s.disliked_ids == ["6"] and "6" in s.filters().exclude_ids


def test_list_positions_share_one_set_of_bounds():
    s = shown(ChatState(session_id="s"), ["a", "b", "c"])
    assert [list_item(s, p) for p in (1, 2, 3, 4, -1, -3, -4, 0)] == ["a", "b", "c", None, "c", "a", None, "a"]
    s2, notes = said(s, "more like number 4")
    assert s2.liked_ids == [] and [n.kind for n in notes] == ["reference"]
    s3, _ = said(s, "more like the second one")
    assert s3.liked_ids == ["b"] and build_query(s3).liked_ids == ["b"]
    s4, _ = said(s, "not the third one")
    assert s4.disliked_ids == ["c"]


def test_that_one_is_the_top_pick_or_the_last_item_a_recommender_named():
    s = shown(ChatState(session_id="s"), ["a", "b"])
    assert said(s, "not that one, I've seen it")[0].seen_ids == ["a"]
    r = shown(ChatState(session_id="s"), ["a", "b"], role="recommender")
    want, _ = said(r, "I have not seen that one yet but I want to")
    assert want.want_ids == ["b"] and want.seen_ids == [] and want.disliked_ids == []
    assert "b" in build_query(want).liked_ids, "a wanted item steers retrieval"


def test_the_first_matrix_does_not_mark_the_top_item_seen():
    s = shown(ChatState(session_id="s"), ["a", "b"])
    u = Understanding(mentions=[TitleMention(text="Matrix", stance="seen", item_id="2571")])
    s2, _ = said(s, "I've seen the first Matrix", **u.model_dump())
    assert s2.seen_ids == ["2571"]
    assert said(s, "I've seen the first Matrix")[0].seen_ids == [], "no list reference in the words"


def test_conflicting_years_ask_instead_of_crashing():
    s, _ = said(ChatState(session_id="s"), "from the 90s")
    s2, notes = said(s, "before 1980 and after 2000")
    assert (s2.year_min, s2.year_max) == (1990, 1999), "the old range stands"
    assert [n.kind for n in notes] == ["conflict"] and "Which did you mean?" in notes[0].text
    s2.filters()  # a valid Filters: never an inverted range
    s3, notes = said(s, "only comedies but no comedies")
    assert "Comedy" not in s3.genres + s3.exclude_genres and notes[0].kind == "conflict"


def test_constraints_carry_turn_origin_and_scope():
    s = shown(ChatState(session_id="s"), ["a"], years=[1995])
    s, _ = said(s, "only comedies")
    s, _ = said(s, "something older")
    assert [(c.kind, c.value, c.turn, c.scope, c.origin) for c in s.constraints] == [
        ("genre", "Comedy", 1, "request", "parser"),
        ("year_max", 1994, 2, "last_list", "parser"),
    ]
    assert s.genres == ["Comedy"] and s.year_max == 1994


def test_a_new_genre_ask_replaces_the_old_and_exclusions_accumulate():
    s, _ = said(ChatState(session_id="s"), "only comedies")
    s, _ = said(s, "no horror")
    s, _ = said(s, "only dramas now")
    assert s.genres == ["Drama"] and s.exclude_genres == ["Horror"]


def test_soft_evidence_persists_until_changed():
    s, _ = said(ChatState(session_id="s"), "something like Heat but less violent")
    s, _ = said(s, "I'm not a fan of horror or sci-fi")
    s, _ = said(s, "what else?")
    q = build_query(s)
    assert q.filters.is_empty and {(c.attribute, c.direction) for c in q.preferences.critiques} == {("violence", -1)}
    assert q.preferences.genres == {"Horror": -0.7, "Sci-Fi": -0.7}
    s, _ = said(s, "more violent now")
    assert [(c.attribute, c.direction) for c in build_query(s).preferences.critiques] == [("violence", 1)]


def test_context_keeps_recent_turns_newest_last_and_heaviest():
    s = ChatState(session_id="s")
    for i in range(9):
        s, _ = said(s, f"turn {i}")
    ctx = build_query(s).preferences.context
    assert [c.text for c in ctx] == [f"turn {i}" for i in range(3, 9)]
    assert [c.weight for c in ctx] == sorted(c.weight for c in ctx) and ctx[-1].weight == 1.0


def test_people_get_an_honest_note_and_stay_out_of_the_text():
    s, notes = said(ChatState(session_id="s"), "any jlo movies? i like movies with jennifer lopez")
    assert s.people == ["jlo", "jennifer lopez"] and notes[0].kind == "person"
    assert "no cast or crew" in notes[0].text and s.liked_ids == []
    q = build_query(s)
    assert "jennifer" not in q.text.lower() and "jlo" not in q.text.lower()
    assert all("lopez" not in c.text.lower() for c in q.preferences.context)


def test_a_title_only_asked_about_is_no_anchor_but_its_words_stay_out_of_the_text():
    s, _ = said(ChatState(session_id="s"), "have you seen Heat?",
                mentions=[TitleMention(text="Heat", stance="asking", item_id="6")])
    q = build_query(s)
    assert s.named_ids == ["6"] and q.preferences.named_ids == ["6"]
    assert q.liked_ids == [] and q.disliked_ids == [] and s.mentions == [] and "6" not in q.filters.exclude_ids
    s, _ = said(s, "I loved it", mentions=[TitleMention(text="Heat", stance="liked", item_id="6")])
    assert build_query(s).liked_ids == ["6"]


def test_unresolved_and_ambiguous_titles_stay_out_of_the_state():
    u = Understanding(
        mentions=[
            TitleMention(text="Marriage Story", stance="liked"),
            TitleMention(text="star wars", stance="liked", candidates=["260", "1196"]),
        ]
    )
    s, notes = apply(ChatState(session_id="s"), MessageEvent(text="x", reading=u, unresolved={"Marriage Story": []}))
    assert s.liked_ids == [] and [n.kind for n in notes] == ["unresolved", "ambiguous"]
    assert notes[0].text == "I could not find “Marriage Story” in the catalog."


def test_reset_forgets_everything_but_the_turn_count():
    s, _ = said(ChatState(session_id="s"), "only comedies, less violent")
    s, _ = said(s, "let's start over")
    assert s.constraints == [] and s.critiques == [] and s.turns == 2


def test_old_saved_states_load_with_their_constraints():
    old = '{"session_id": "o", "genres": ["Comedy"], "year_max": 1999, "keywords": ["less violent"], "turns": 3}'
    s = ChatState.model_validate_json(old)
    assert [(c.kind, c.value, c.origin) for c in s.constraints] == [("genre", "Comedy", "saved"), ("year_max", 1999, "saved")]
    assert s.critiques == [Critique(attribute="violence", direction=-1)]
    s2, _ = said(s, "no horror")
    assert s2.genres == ["Comedy"] and s2.year_max == 1999 and s2.exclude_genres == ["Horror"]


def test_states_saved_with_the_old_constraint_shape_load_and_save_back_the_same_fields():
    # saved before Constraint and HardConstraint became one model: each constraint had ``strength: "hard"``
    saved = (
        '{"session_id": "c", "genres": ["Comedy"], "turns": 2, "constraints": [{"kind": "genre", "value": "Comedy", '
        '"strength": "hard", "scope": "request", "turn": 1, "origin": "parser", "phrase": "only comedies"}, '
        '{"kind": "year_max", "value": 1999, "strength": "hard", "scope": "last_list", "turn": 2, "origin": "saved", '
        '"phrase": "older than those"}]}'
    )
    s = ChatState.model_validate_json(saved)
    assert s.constraints == [
        HardConstraint(kind="genre", value="Comedy", turn=1, phrase="only comedies"),
        HardConstraint(kind="year_max", value=1999, scope="last_list", turn=2, origin="saved", phrase="older than those"),
    ]
    assert s.filters().genres == ["Comedy"] and s.filters().year_max == 1999
    again = ChatState.model_validate_json(s.model_dump_json())
    assert again == s
    assert set(s.model_dump()["constraints"][0]) == {"kind", "value", "phrase", "origin", "scope", "turn"}


def _counter(years: np.ndarray, genres: dict[str, np.ndarray]):
    def count(f: Filters) -> int:
        keep = np.ones(len(years), dtype=bool)
        if f.year_min is not None:
            keep &= years >= f.year_min
        if f.year_max is not None:
            keep &= years <= f.year_max
        if f.genres:
            keep &= np.any([genres[g] for g in f.genres], axis=0)
        return int(keep.sum()) - len(f.exclude_ids)

    return count


def test_relaxation_drops_the_most_recent_constraint_and_says_so():
    years = np.array([1995, 1996, 1997, 2021, 1990, 1991])
    genres = {"Comedy": np.array([1, 1, 1, 1, 0, 0], dtype=bool)}
    s = ChatState(
        session_id="s",
        constraints=[
            HardConstraint(kind="genre", value="Comedy", turn=1, phrase="only comedies"),
            HardConstraint(kind="year_min", value=2021, turn=2, phrase="in 2021"),
            HardConstraint(kind="year_max", value=2021, turn=2, phrase="in 2021"),
        ],
    )
    s2, notes, repeats = relax(s, _counter(years, genres), k=3)
    assert [c.kind for c in s2.constraints] == ["genre"] and s2.year_min is None and not repeats
    assert notes[0].kind == "relaxed" and "“in 2021”" in notes[0].text
    s3, notes, _ = relax(s, _counter(years, genres), k=1)
    assert s3.constraints == s.constraints and notes == []


def test_relaxation_allows_repeats_when_everything_was_shown():
    years = np.array([1995, 1996])
    s = shown(ChatState(session_id="s"), ["a", "b"])
    s2, notes, repeats = relax(s, _counter(years, {}), k=2)
    assert repeats and [n.kind for n in notes] == ["repeat"]


@pytest.mark.parametrize("kind", ["like", "dislike", "seen"])
def test_buttons_record_their_origin(kind):
    s, _ = apply(ChatState(session_id="s"), FeedbackEvent(item_id="9", kind=kind))
    assert s.mentions[-1].origin == "button"
    assert "9" in {"like": s.liked_ids, "dislike": s.disliked_ids, "seen": s.seen_ids}[kind]


def test_hard_constraints_from_a_reading_become_filters():
    u = Understanding(hard=[HardConstraint(kind="year_min", value=1990), HardConstraint(kind="exclude_genre", value="Horror")])
    s, _ = apply(ChatState(session_id="s"), MessageEvent(text="t", reading=u))
    f = build_query(s).filters
    assert f.year_min == 1990 and f.exclude_genres == ["Horror"] and f.genres == []


def test_the_retrieval_text_leaves_out_what_would_pull_the_opposite_way():
    s, _ = said(ChatState(session_id="s"), "something like Heat but less violent, no horror")
    q = build_query(s)
    assert "violent" not in q.text and "horror" not in q.text and "Heat" in q.text
    assert q.preferences.context[-1].text == "something like Heat but less violent, no horror", "context keeps the words"


def test_shown_items_without_a_stance_become_weak_anchors():
    state = ChatState(session_id="s")
    state = shown(state, ["10", "11", "12"], role="recommender")
    state, _ = apply(state, FeedbackEvent(item_id="11", kind="dislike"))
    state, _ = apply(state, FeedbackEvent(item_id="12", kind="seen"))
    q = build_query(state)
    assert q.preferences.shown_ids == ["10"], "a disliked or seen item speaks for itself"
    assert "10" in q.filters.exclude_ids, "and it is still not offered again"
    many = shown(ChatState(session_id="t"), [str(i) for i in range(100, 130)])
    assert build_query(many).preferences.shown_ids == [str(i) for i in range(120, 130)], "the latest ten"


def test_the_pure_state_and_the_reader_import_no_persistence():
    code = (
        "import sys, recagent.agent.state.update, recagent.agent.state.query, recagent.agent.reading.parser\n"
        "print(sorted(m for m in sys.modules if m == 'sqlalchemy' or m.startswith('recagent.agent.session')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_follow_up_that_only_narrows_keeps_the_standing_request():
    """'only from the 90s', 'only comedies', 'something newer please' after 'a movie set in a hospital': the filter
    or critique is the state's; the words to search by are still the hospital's. A message with words of its own
    ('only comedies about dogs', 'how about a western') is the new request."""
    s, _ = said(ChatState(session_id="s"), "a movie set in a hospital")
    assert s.request == "a movie set in a hospital", "a bare noun phrase asks for something"
    for narrowing in ("only from the 90s", "only comedies", "something newer please", "Only movies before 1995."):
        s2, _ = said(s, narrowing)
        assert s2.request == "a movie set in a hospital", narrowing
        assert build_query(s2).text == "a movie set in a hospital", narrowing
    s3, _ = said(s, "only comedies about dogs")
    assert "dogs" in s3.request and s3.genres == ["Comedy"]
    s4, _ = said(s, "how about a western")
    assert s4.request == "how about a western"


def test_a_bare_noun_phrase_is_a_request_and_a_sentence_about_a_film_is_not():
    asks = {m: parse_message(m, VOCAB).asks for m in (
        "a prison movie", "a movie about journalists", "a great movie!", "I saw a prison movie", "that movie was awesome",
        "Heat is a good movie",
    )}
    assert asks == {
        "a prison movie": True, "a movie about journalists": True, "a great movie!": False,
        "I saw a prison movie": False, "that movie was awesome": False, "Heat is a good movie": False,
    }


def test_a_fragment_that_goes_on_from_the_request_adds_to_it():
    """'about music' after 'a nature documentary' is a documentary about both; alone it is a request of its own; a
    fragment that only narrows ('and only from the 80s') adds nothing; a full request ('a prison movie') replaces."""
    s, _ = said(ChatState(session_id="s"), "a nature documentary")
    s2, _ = said(s, "about music")
    assert s2.request == "a nature documentary about music"
    s3, _ = said(s2, "and only from the 80s")
    assert s3.request == "a nature documentary about music" and s3.filters().year_min == 1980
    s4, _ = said(s2, "a prison movie")
    assert s4.request == "a prison movie"
    fresh, _ = said(ChatState(session_id="t"), "about music")
    assert fresh.request == "about music"
    long = s
    for i in range(40):
        long, _ = said(long, f"with dragon{'s' * (i % 3)} number {i} flying")
    assert len(long.request) < 320 and long.request.endswith("flying")


def test_a_message_that_only_narrows_adds_no_words_for_the_text_source():
    """'only from the 80s' after 'a film about astronauts': the filter is the state's; the context turns the text
    source embeds stay the astronauts' (else the words of the request weigh less with every narrowing)."""
    s, _ = said(ChatState(session_id="s"), "a film about astronauts")
    s2, _ = said(s, "only from the 80s")
    assert s2.context == ["a film about astronauts"] and s2.filters().year_min == 1980
    s3, _ = said(s2, "I also liked Heat")  # words of its own: a turn of the conversation
    assert s3.context[-1] == "I also liked Heat"
    first, _ = said(ChatState(session_id="t"), "only from the 80s")  # nothing to narrow: it is the conversation
    assert first.context == ["only from the 80s"]
