"""Request probes (evals/request_probes.py, evals/request_probes_run.py): the oracle's rules, and a few probes
through the chat and both floors on the 600-movie slice."""

from __future__ import annotations

import json

from recagent.evals.probes import TmdbMovie, load_tmdb
from recagent.evals.request_probes import RequestProbe, is_hit
from recagent.evals.request_probes_run import evaluate, popularity_top, run, write_run
from tests.support.data import SHARED_DATA

COMEDY_90S = RequestProbe(id="c90", kind="genre", text="comedies from the 1990s", genres=["Comedy"], years=(1990, 1999))
PRISON = RequestProbe(id="prison", kind="topic", text="films set in a prison", keywords=["prison", "prisoner"])


def movie(keywords=(), genres=()):
    return TmdbMovie(title="x", year=2000, genres=list(genres), keywords=list(keywords), overview="", vote_count=1)


def test_oracle_rules():
    assert is_hit(COMEDY_90S, ["Comedy", "Romance"], 1995, None) is True
    assert is_hit(COMEDY_90S, ["Comedy"], 1989, None) is False  # outside the stated period
    assert is_hit(COMEDY_90S, ["Drama"], 1995, None) is False
    assert is_hit(PRISON, ["Drama"], 1994, None) is None  # a TMDB oracle cannot judge a movie TMDB lacks
    assert is_hit(PRISON, ["Drama"], 1994, movie(["prison", "escape"])) is True
    assert is_hit(PRISON, ["Drama"], 1994, movie(["escape"])) is False
    adults = RequestProbe(id="a", kind="mood", text="animated, for adults", genres=["Animation"],
                          exclude_tmdb_genres=["Family"])  # fmt: skip
    assert is_hit(adults, ["Animation"], 2000, movie(genres=["Animation"])) is True
    assert is_hit(adults, ["Animation"], 2000, movie(genres=["Animation", "Family"])) is False
    assert is_hit(adults, ["Drama"], 2000, movie(genres=["Drama"])) is False
    mood = RequestProbe(id="m", kind="mood", text="scary", tmdb_genres=["Horror"], keywords=["ghost"])
    assert is_hit(mood, [], None, movie(genres=["Horror"])) and is_hit(mood, [], None, movie(["ghost"]))


def test_popularity_floor_keeps_to_a_stated_period_only(rec):
    in_period = popularity_top(rec, COMEDY_90S)
    assert len(in_period) == 10 and all(1990 <= rec.catalog.get(i).year <= 1999 for i in in_period)
    plain = popularity_top(rec, COMEDY_90S.model_copy(update={"years": None}))
    counts = rec.popularity.counts
    assert [counts[rec.catalog.ids.index(i)] for i in plain] == sorted(counts, reverse=True)[:10]


def test_probes_through_the_chat_and_the_floors(rec, tmp_path):
    tmdb = load_tmdb(SHARED_DATA) if (SHARED_DATA / "tmdb-5000").exists() else None
    requests = [COMEDY_90S] + ([PRISON] if tmdb else [])
    results, pairs = evaluate(rec, requests, [], tmdb, show_progress=False)
    first = results[0].systems
    assert set(first) == {"chat", "popularity", "vector"} and all(len(s.ids) == 10 for s in first.values())
    assert first["popularity"].judged == 10 and first["popularity"].precision == sum(first["popularity"].hits) / 10
    assert 0 <= first["chat"].precision <= 1
    summary, files = write_run(tmp_path, results, pairs, {"set": "unit", "skipped": None})
    assert summary["kinds"]["genre"]["probes"] == 1
    assert json.loads(files["cases"].read_text().splitlines()[0])["id"] == "c90"
    report = files["report"].read_text()
    assert "| genre | 1 |" in report and "comedies from the 1990s" in report


def test_without_tmdb_only_genre_probes_run(settings, tmp_path):
    summary, files = run(settings.model_copy(update={"shared_data": tmp_path / "absent"}), tmp_path / "run", "dev",
                         limit=2, show_progress=False)  # fmt: skip
    head = json.loads(files["summary"].read_text())
    assert "tmdb_5000_movies.csv" in head["skipped"] and set(summary["kinds"]) == {"genre"}
    assert summary["kinds"]["genre"]["probes"] == 2 and summary["critiques"]["probes"] == 0


def test_cli_names_the_known_sets(tmp_path):
    from typer.testing import CliRunner

    from recagent.cli.app import app

    res = CliRunner().invoke(app, ["eval", "probes", "--set", "holdout", "--data-dir", str(tmp_path)])
    assert res.exit_code != 0 and "dev, dev2, test, followups-dev, followups" in res.output


def test_a_follow_up_probe_sends_its_turns_in_one_session_and_judges_the_last_list(rec):
    """'a war movie' then 'only comedies please': the list judged is the one after the follow-up (every film a
    comedy, as the follow-up's filter says), and the vector floor reads both turns' words."""
    probe = RequestProbe(id="fu", kind="genre", before=["a war movie"], text="only comedies please",
                         genres=["Comedy"])  # fmt: skip
    (result,), _ = evaluate(rec, [probe], [], None, show_progress=False)
    assert result.text == "a war movie → only comedies please"
    assert result.systems["chat"].precision == 1.0 and len(result.systems["chat"].ids) == 10
    state = rec.sessions.get("request-probe-fu")  # both turns in one session; the narrowing one adds no words
    assert state.turns == 2 and state.context == ["a war movie"] and state.request == "a war movie"
