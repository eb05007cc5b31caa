"""The learned reader (``understanding: learned``; the parser is the default) on the slice: the shipped span model loads, reads
hand-written messages of each phrasing family (written here, fresh: not from any eval set), keeps
low-confidence hard readings soft or asks about them, falls back to the parser without its model, and a chat
follow-up "Only movies released before 1995 please." filters the next list."""

from __future__ import annotations

import pytest

from recagent.agent.reading.learned import MODEL_PATH, LearnedReader, SpanModel, load_model
from recagent.agent.reading.model import HardConstraint, Understanding
from recagent.agent.reading.parser import parse_message
from recagent.agent.reading.reader import MessageReader
from recagent.agent.reading.spans import Span, this_year
from recagent.agent.state.model import ChatState
from recagent.agent.state.update import MessageEvent, apply

NOW = this_year()

# (message, hard pairs expected exactly); years as ("year_min", y) / ("year_max", y), genres as (kind, genre)
HARD = [
    # year bounds in many phrasings
    ("Could I get films made prior to 1988?", {("year_max", 1987)}),
    ("show me stuff released after 2012 please", {("year_min", 2013)}),
    ("I only want movies up to 1999", {("year_max", 1999)}),
    ("anything since 2005 is fine, nothing older", {("year_min", 2005)}),
    ("Give me films from 1975 to 1985.", {("year_min", 1975), ("year_max", 1985)}),
    ("it needs to be from the sixties", {("year_min", 1960), ("year_max", 1969)}),
    ("nothing made after 1990 please", {("year_max", 1990)}),
    ("Nothing from before the 80s.", {("year_min", 1980)}),
    ("something from the past 3 years", {("year_min", NOW - 3)}),
    # genre "only" and exclusions
    ("just westerns please", {("genre", "Western")}),
    ("Please leave out anything animated.", {("exclude_genre", "Animation")}),
    ("I don't want to see any musicals", {("exclude_genre", "Musical")}),
    # combinations
    ("only 80s thrillers", {("genre", "Thriller"), ("year_min", 1980), ("year_max", 1989)}),
    ("A comedy, but it has to be from the 2000s.", {("year_min", 2000), ("year_max", 2009)}),
    # typos, lowercase, no punctuation
    ("pls only movies realeased before 1995", {("year_max", 1994)}),
    ("no horror movies pls", {("exclude_genre", "Horror")}),
]
NEGATIVE = [
    "My parents met in 1985 at the cinema.",  # narrative year
    "The 80s had the best horror movies honestly.",  # passing remark
    "What was the biggest comedy of 1994?",  # a question
    "I really like 90s dramas.",  # a taste
    "Ideally something from the seventies, but I'm flexible.",  # a hedge
    "My brother only watches westerns.",  # someone else's habit
    "I loved Toy Story and Finding Nemo. Recommend something similar.",
]


def _pairs(u: Understanding) -> set:
    return {(c.kind, c.value) for c in u.hard}


def test_the_shipped_model_loads_and_covers_the_catalog(rec):
    model = SpanModel.load(MODEL_PATH)
    assert model.use_embedding and {"year_w", "genre_w"} <= set(model.weights)
    assert model.covers([g for g in rec.catalog.genre_vocab if g != "(no genres listed)"])
    assert not model.covers(["Action", "Telenovela"]), "a table catalog with other genres is read by the parser"
    assert rec.reader_for("learned").mode == "learned" and rec.settings.understanding == "parser"


@pytest.mark.parametrize("text,expected", HARD)
def test_hard_constraints_of_each_family(rec, text, expected):
    assert _pairs(rec.understand(text, "learned")[0]) == expected


@pytest.mark.parametrize("text", NEGATIVE)
def test_no_hard_constraint_where_none_is_stated(rec, text):
    assert _pairs(rec.understand(text, "learned")[0]) == set()


def test_soft_genres_and_the_parsers_fields(rec):
    u = rec.understand("I'm not really into sci-fi, I'd like something like Heat", "learned")[0]
    assert not u.hard and u.genres.get("Sci-Fi", 0) < 0
    assert [m.stance for m in u.mentions] == ["liked"], "titles and stances stay the parser's"


def test_missing_model_falls_back_to_the_parser(rec, tmp_path):
    assert load_model(tmp_path / "missing.npz") is None
    vocab = rec.catalog.genre_vocab
    reader = MessageReader(vocab, rec.resolver.spot, mode="learned", learned=None)
    assert reader.mode == "parser"
    text = "nothing released after 2010"  # the parser misses this one; the learned reader reads it
    assert reader.read(text)[0] == parse_message(text, vocab, rec.resolver.spot)
    assert _pairs(rec.understand(text, "learned")[0]) == {("year_max", 2010)}


def _reader(rec) -> LearnedReader:
    return LearnedReader(SpanModel.load(), rec.catalog.genre_vocab, None)


def test_low_confidence_year_is_asked_about_not_applied(rec):
    span = Span("year", 12, 23, "before 1995", None, 1994)
    sure = _reader(rec).assemble(Understanding(), [(span, "hard", 0.95)])
    assert _pairs(sure) == {("year_max", 1994)} and not sure.unsure
    unsure = _reader(rec).assemble(Understanding(), [(span, "hard", 0.55)])
    assert not unsure.hard and _pairs(Understanding(hard=unsure.unsure)) == {("year_max", 1994)}

    state, notes = apply(ChatState(session_id="s"), MessageEvent(text="x before 1995", reading=unsure))
    assert not state.constraints, "never applied silently"
    assert [n.text for n in notes if n.kind == "confirm"] == [
        "Only films before 1995? Say so and I will filter by year; these picks are not filtered."
    ]
    state, notes = apply(ChatState(session_id="s"), MessageEvent(text="x before 1995", reading=sure))
    assert [(c.kind, c.value) for c in state.constraints] == [("year_max", 1994)] and not notes


def test_low_confidence_genre_is_kept_soft(rec):
    span = Span("genre", 5, 11, "horror", genre="Horror", group_start=5)
    sure = _reader(rec).assemble(Understanding(), [(span, "exclude", 0.9)])
    assert _pairs(sure) == {("exclude_genre", "Horror")}
    unsure = _reader(rec).assemble(Understanding(), [(span, "exclude", 0.6)])
    assert not unsure.hard and unsure.genres == {"Horror": -0.7}
    only = _reader(rec).assemble(Understanding(), [(span, "only", 0.6)])
    assert not only.hard and only.genres == {"Horror": 1.0}


def test_combined_mode_keeps_the_parsers_reading_where_unsure(rec):
    parsed = Understanding(hard=[HardConstraint(kind="year_min", value=1990)])
    combined = LearnedReader(SpanModel.load(), rec.catalog.genre_vocab, None, fallback="parser")
    span = Span("year", 0, 4, "1995", 1995, 1995)
    assert combined.assemble(parsed, [(span, "hard", 0.55)]) == parsed


def test_before_1995_follow_up_filters_the_next_list(rec):
    """Issue 19's example, on the default reader: the follow-up is read and filters the next list."""
    sid = "learned-before-1995"
    first = rec.chat(sid, "I loved Toy Story and Finding Nemo. Recommend something similar.", k=5)
    assert first.recommendations
    then = rec.chat(sid, "Only movies released before 1995 please.", k=5)
    years = [rec.catalog.get(r.item_id).year for r in then.recommendations]
    assert len(years) == 5 and all(y is not None and y < 1995 for y in years), years
    assert "relaxed" not in then.message
