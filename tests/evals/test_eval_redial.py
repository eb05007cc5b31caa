"""The ReDial protocol: which turns become cases, how the context is rendered, the `new` flag, and a
smoke run of the conversational retrievers on a trimmed copy of the real data (real MiniLM, real Chroma)."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from recagent.evals.beyond import beyond_summary
from recagent.evals.conversational import REDIAL_METRICS, ConversationalVariant, RedialEvaluator
from recagent.evals.protocols import DatasetMissing
from recagent.evals.protocols.redial import REDIAL, RedialData
from recagent.retrieval.loaders import load_dataset
from recagent.retrieval.redial_bridge import match_movielens
from recagent.retrieval.redial_data import MENTION, SPLITS, holdout_part, load_dialogues, parse_title
from tests.support.data import shared_dataset

SEEKER, REC = 11, 22

MOVIES = [
    ("1", "Super Troopers (2001)", 10),
    ("2", "Police Academy  (1984)", 9),
    ("3", "Lethal Weapon (1987)", 8),
    ("4", "The Mummy ", 7),
    ("5", "48 Hrs. (1982)", 6),
    ("6", "Toy Story (1995)", 5),
]


def _msg(sender: int, text: str) -> dict:
    return {"timeOffset": 0, "text": text, "senderWorkerId": sender, "messageId": 0}


def _labels(suggested: dict[str, int]) -> dict:
    return {m: {"suggested": s, "seen": 2, "liked": 2} for m, s in suggested.items()}


DIALOGUES = [
    {  # the recommender's own form decides "suggested"; consecutive messages of one speaker form one turn
        "conversationId": "100",
        "initiatorWorkerId": SEEKER,
        "respondentWorkerId": REC,
        "movieMentions": {},
        "messages": [
            _msg(SEEKER, "Hi, I want something like @1"),
            _msg(REC, "You should watch @2"),
            _msg(REC, "or  @3 !"),
            _msg(SEEKER, "I have seen @3, and @1 is great"),
            _msg(REC, "Then @3 again, or @4 and @1 @999"),
            _msg(SEEKER, "thanks"),
        ],
        "respondentQuestions": _labels({"1": 0, "2": 1, "3": 1, "4": 1}),
        "initiatorQuestions": _labels({"1": 0, "2": 1, "3": 1, "4": 0}),
    },
    {  # no respondent form (ReDial has 29 such test dialogues): the seeker's form is used
        "conversationId": "200",
        "initiatorWorkerId": SEEKER,
        "respondentWorkerId": REC,
        "movieMentions": {},
        "messages": [_msg(REC, "Try @5"), _msg(SEEKER, "ok"), _msg(REC, "and @6")],
        "respondentQuestions": [],
        "initiatorQuestions": _labels({"5": 1, "6": 0}),
    },
]


@pytest.fixture()
def toy(tmp_path):
    d = tmp_path / "redial"
    d.mkdir()
    rows = ["movieId,movieName,nbMentions"] + [f'{i},"{name}",{n}' for i, name, n in MOVIES]
    (d / "movies_with_mentions.csv").write_text("\n".join(rows) + "\n")
    for name in SPLITS.values():
        (d / name).write_text("\n".join(json.dumps(x) for x in DIALOGUES) + "\n")
    return RedialData.load(d)


def test_catalog_titles_and_years(toy):
    assert parse_title("Police Academy  (1984)") == ("Police Academy", 1984)
    assert parse_title("The Mummy ") == ("The Mummy", None)
    assert len(toy.catalog) == 6
    assert toy.catalog.get("2").text == "Police Academy (1984)."
    assert toy.catalog.get("4").text == "The Mummy."
    assert toy.titles[toy.catalog.position("2")] == "Police Academy (1984)"


def test_cases_are_suggestions_in_recommender_turns(toy):
    cases = toy.cases("test")
    got = [(c.user, c.target, c.new) for c in cases]
    # turn 1 merges "You should watch @2" and "or @3 !"; in turn 3, @1 was the seeker's movie (not suggested),
    # @3 is suggested again (a repeat: not new), @4 counts by the respondent's form, @999 is not in the catalog
    assert got == [
        ("100:1", "2", True),
        ("100:1", "3", True),
        ("100:3", "3", False),
        ("100:3", "4", True),
        ("200:0", "5", True),
    ]
    first, repeat = cases[0], cases[2]
    assert first.context == ("Seeker: Hi, I want something like Super Troopers (2001)",)
    assert first.mentioned == ("1",)
    assert repeat.context_text == (
        "Seeker: Hi, I want something like Super Troopers (2001)\n"
        "Recommender: You should watch Police Academy (1984) or Lethal Weapon (1987) !\n"
        "Seeker: I have seen Lethal Weapon (1987), and Super Troopers (2001) is great"
    )
    assert not any(MENTION.search(t) for c in cases for t in c.context)
    # order of last mention, most recent last, with the turn of that mention
    assert repeat.mentioned == ("2", "3", "1") and repeat.mention_turns == (1, 2, 2)
    assert cases[4].context == () and cases[4].mentioned == ()


def test_mentioned_targets_count_every_movie_of_a_recommender_turn(toy):
    got = [(c.user, c.target, c.new) for c in toy.cases("test", targets="mentioned")]
    assert ("100:3", "1", False) in got and ("200:2", "6", True) in got and len(got) == 7


def test_limit_samples_whole_dialogues_with_a_seed(toy):
    one = toy.cases("test", limit=1, seed=3)
    assert len({c.dialogue_id for c in one}) == 1
    assert one == toy.cases("test", limit=1, seed=3)
    assert len(toy.cases("test", limit=5)) == 5


def test_development_halves_share_no_recommender():
    """As ReDial's test split shares no worker with train, the train halves used for development share no
    recommender (the first split by position shared one for 152 of a half's 250 dialogues)."""
    train = load_dialogues(shared_dataset("redial"), "train")
    halves = [holdout_part(train, f"{k}/2", left_out=True) for k in (0, 1)]
    assert sorted(d.id for h in halves for d in h) == sorted(d.id for d in train)
    assert [d.id for d in holdout_part(train, "0/2", left_out=False)] == [d.id for d in halves[1]]
    workers = [{d.recommender for d in h} for h in halves]
    assert not workers[0] & workers[1] and all(len(h) > 200 for h in halves)
    with pytest.raises(ValueError, match="K/N"):
        holdout_part(train, "2/2", left_out=True)


def test_missing_dataset_is_a_skip_with_the_path(tmp_path):
    with pytest.raises(DatasetMissing, match="nowhere/redial"):
        REDIAL.load(tmp_path / "nowhere")
    (tmp_path / "redial").mkdir()
    with pytest.raises(DatasetMissing, match="movies_with_mentions.csv"):
        REDIAL.load(tmp_path)


def test_movielens_titles_match_by_name_and_year(toy):
    matched = match_movielens(toy.catalog)
    cat = toy.catalog
    assert matched[cat.position("6")] == "1"  # Toy Story (1995)
    assert matched[cat.position("3")] == "2000"  # Lethal Weapon (1987)
    assert cat.position("1") in matched  # Super Troopers (2001)


BRIDGE_CASES = [  # ReDial title as ReDial spells it -> the bundled MovieLens title, or None: no match
    ("Jumanji (2017)", "Jumanji: Welcome to the Jungle (2017)"),  # a MovieLens title's head before its subtitle
    ("Anchorman", "Anchorman: The Legend of Ron Burgundy (2004)"),  # no year: the most rated such film
    ("Kill Bill: Volume 2 (2004)", "Kill Bill: Vol. 2 (2004)"),
    ("John Wick: Chapter 2 (2017)", "John Wick: Chapter Two (2017)"),
    ("Why Him%3F (2016)", "Why Him? (2016)"),  # ReDial's URL-escaped question mark
    ("WALL-E (2008)", "WALL·E (2008)"),
    ("Star Wars: Episode VIII – The Last Jedi (2017)", "Star Wars: The Last Jedi (2017)"),  # holds every word
    ("Casino Royale", "Casino Royale (2006)"),  # no year, two films of that name: the most rated
    ("Nine (2009)", None),  # the musical, not "9" (2009)
    ("I.T.", None),  # not "It" (2017)
    ("Nanny McPhee and the Big Bang (2010)", None),  # holds "The Big Bang" (2011), two words besides "the"
    ("Live Free or Die (2006)", None),  # not "Live Free or Die Hard" (2007): MovieLens adds a word
    ("Maze Runner: The Scorch Trials (2015)", "Maze Runner: Scorch Trials (2015)"),  # not "The Maze Runner" (2014)
]


def test_movielens_bridge_handles_series_spellings_and_refuses_look_alikes(tmp_path):
    d = tmp_path / "redial"
    d.mkdir()
    rows = ["movieId,movieName,nbMentions"] + [f'{i},"{t}",1' for i, (t, _) in enumerate(BRIDGE_CASES, start=1)]
    (d / "movies_with_mentions.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    catalog = RedialData.load(d).catalog
    matched = match_movielens(catalog)
    movielens = load_dataset("bundled").catalog
    got = {}
    for i, (title, _) in enumerate(BRIDGE_CASES, start=1):
        pos = catalog.position(str(i))
        got[title] = movielens.get(matched[pos]).title if pos in matched else None
    assert got == dict(BRIDGE_CASES)


def _trimmed_copy(src, dst, n_train=25, n_valid=2, n_test=4):
    """The real data cut down to a few dialogues and the movies they mention (so indexing takes seconds)."""
    dst.mkdir()
    movies: set[str] = set()
    for split, n in (("train", n_train), ("valid", n_valid), ("test", n_test)):
        lines = (src / SPLITS[split]).read_text(encoding="utf-8").splitlines()
        keep = random.Random(0).sample(lines, n)
        movies.update(m for line in keep for m in MENTION.findall(line))
        (dst / SPLITS[split]).write_text("\n".join(keep) + "\n", encoding="utf-8")
    rows = (src / "movies_with_mentions.csv").read_text(encoding="utf-8").splitlines()
    body = [r for r in rows[1:] if r.split(",", 1)[0] in movies]
    (dst / "movies_with_mentions.csv").write_text("\n".join([rows[0], *body]) + "\n", encoding="utf-8")
    return dst


def test_smoke_run_on_real_dialogues(tmp_path, embedder):
    src = shared_dataset("redial")
    ev = RedialEvaluator.load(_trimmed_copy(src, tmp_path / "redial"), tmp_path / "evals", embedder)
    cases = ev.cases("test")
    assert cases and all(c.target in ev.catalog for c in cases)
    variants = [ConversationalVariant(name=n, retriever=n) for n in ("popularity", "vector", "cooc", "hybrid")]
    summary, results = ev.evaluate(cases, variants, show_progress=False)
    assert set(summary) == {"popularity", "vector", "cooc", "hybrid"}
    n_new = sum(c.new for c in cases)
    for values in summary.values():
        for m in REDIAL_METRICS:
            assert 0 <= values[m] <= 1 and 0 <= values[f"new/{m}"] <= 1
        assert values["recall@1"] <= values["recall@10"] <= values["recall@50"]
        assert values["users"] == len(cases) and values["new_users"] == n_new
    assert len(results) == 4 * len(cases)
    for r in results:
        assert r.rank is None or 1 <= r.rank <= 100
        if r.new and r.rank is not None:
            assert r.rank_new is not None and r.rank_new <= r.rank  # removing earlier mentions only lifts it
        if not r.new:
            assert r.rank_new is None
    by_case = {(r.variant, r.user, r.target): r for r in results}
    for c in cases:  # each case keeps the top 10 with earlier mentions removed (the beyond-accuracy lists)
        r = by_case[("hybrid", c.user, c.target)]
        assert len(r.top) == 10 and not set(r.top) & set(c.mentioned)
        if c.new:
            assert (r.rank_new is not None and r.rank_new <= 10) == (c.target in r.top)
    facts = ev.item_facts()
    assert facts.counts.sum() > 0 and "nbMentions" in facts.popularity_source
    assert facts.genres and set(facts.genres) <= set(ev.catalog.ids)  # MovieLens genres of the bridged films
    beyond = beyond_summary(results, facts)
    assert beyond["popularity"]["coverage@10"] <= beyond["hybrid"]["coverage@10"]
    assert beyond["popularity"]["lists"] == len({c.user for c in cases})  # a turn's targets share one list
    case = next(c for c in cases if c.mentioned)
    request, top = ev.candidates(case, variants[-1], n=20)
    assert request == case.context_text and len(top) == 20
    assert not np.isin(top, ev.catalog.positions(case.mentioned)).any()
