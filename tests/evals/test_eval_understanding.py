"""The understanding scorer (evals/understanding.py) on hand-made examples, and its parser adapter."""

import json

import pytest

from recagent.evals.understanding import (
    CritiquePair,
    Hard,
    Label,
    Mention,
    Reading,
    Scorer,
    Soft,
    hard_pairs,
    load_labels,
    make_reader,
    reading_of,
    recommend_default,
    title_key,
)

VOCAB = ["Action", "Comedy", "Crime", "Drama", "Horror", "Sci-Fi", "Thriller", "War"]


def label(text: str, **fields) -> Label:
    return Label(id="train:1:0", split="train", text=text, **fields)


def test_hard_pairs_precision_recall_f1():
    s = Scorer("x")
    gold = Reading(hard=Hard(genres=["Comedy"], year_min=1990, year_max=1999))
    pred = Reading(hard=Hard(genres=["Comedy", "Horror"], year_min=1990))
    s.add(gold, pred)
    hard = s.summary()["hard"]
    # tp: Comedy, year_min; fp: Horror; fn: year_max
    assert (hard["precision"], hard["recall"]) == (pytest.approx(2 / 3, abs=1e-4), pytest.approx(2 / 3, abs=1e-4))
    assert hard["f1"] == pytest.approx(2 / 3, abs=1e-4)
    assert s.summary()["hard.genres"]["precision"] == 0.5
    assert s.summary()["hard.years"]["recall"] == 0.5


def test_invented_hard_filter_is_counted_only_when_gold_has_none():
    s = Scorer("x")
    s.add(Reading(), Reading(hard=Hard(year_min=2021, year_max=2021)))  # "Matrix 4 comes out in 2021"
    s.add(Reading(), Reading(soft=Soft(liked_genres=["Horror"])))  # a soft reading is no filter
    case = s.add(Reading(hard=Hard(exclude_genres=["Horror"])), Reading(hard=Hard(exclude_genres=["Horror"])))
    summary = s.summary()
    assert summary["invented_hard"] == {"utterances": 1, "of": 2}
    assert not case.invented_hard and summary["hard"]["recall"] == 1.0


def test_mentions_match_by_title_and_score_stance():
    s = Scorer("x")
    gold = Reading(
        mentions=[Mention(title="The Matrix (1999)", stance="liked"), Mention(title="Heat (1995)", stance="want")]
    )
    pred = Reading(mentions=[Mention(title="matrix", stance="liked"), Mention(title="Heat", stance="seen"),
                             Mention(title="It's a Boy Girl Thing", stance="liked")])  # fmt: skip
    case = s.add(gold, pred)
    m = s.summary()["mentions"]
    assert (m["precision"], m["recall"], m["stance_accuracy"]) == (pytest.approx(2 / 3, abs=1e-4), 1.0, 0.5)
    assert case.errors["mentions"]["stance"] == ["Heat (1995): want read as seen"]
    assert title_key("Matrix, The (1999)") == title_key("the matrix") == "matrix"


def test_critiques_people_and_empty_fields():
    s = Scorer("x")
    s.add(
        Reading(critiques=[CritiquePair(attribute="violence", direction=-1)], people=["Jennifer Lopez"]),
        Reading(critiques=[CritiquePair(attribute="violence", direction=1)], people=["jennifer  lopez"]),
    )
    out = s.summary()
    assert out["critiques"]["f1"] == 0.0 and out["people"]["f1"] == 1.0
    assert out["topics"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "gold": 0, "predicted": 0}


def test_the_adapter_maps_the_parsers_reading_to_the_label_schema():
    from recagent.agent.reading.parser import parse_message

    got = reading_of(parse_message("Only comedies from the 90s please, I'm not a fan of horror or sci-fi", VOCAB))
    assert got.hard.genres == ["Comedy"] and (got.hard.year_min, got.hard.year_max) == (1990, 1999)
    assert set(got.soft.disliked_genres) == {"Horror", "Sci-Fi"} and not got.hard.exclude_genres
    narrative = reading_of(parse_message("They are coming out with Matrix 4 in 2021", VOCAB))
    assert hard_pairs(narrative) == set()
    with pytest.raises(ValueError):
        make_reader("gpt", None)


def test_labels_file_is_train_or_valid_only(tmp_path):
    good = {"id": "valid:2:3", "split": "valid", "text": "any comedy?", "hard": {}, "soft": {}, "mentions": []}
    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps(good) + "\n\n" + json.dumps({**good, "split": "test"}) + "\n")
    with pytest.raises(ValueError, match="train/valid"):
        load_labels(path)
    path.write_text(json.dumps(good) + "\n")
    assert [x.id for x in load_labels(path)] == ["valid:2:3"]


def test_default_prefers_fewer_invented_filters_then_hard_f1():
    def s(f1, invented):
        return {"hard": {"f1": f1}, "mentions": {"f1": 0.5}, "invented_hard": {"utterances": invented}}

    assert recommend_default({"parser": s(0.8, 0), "hybrid": s(0.9, 3), "llm": s(0.95, 0)}) == "parser"
    assert recommend_default({"parser": s(0.8, 0), "hybrid": s(0.9, 0)}) == "hybrid"
    assert recommend_default({"parser": s(0.9, 0), "hybrid": s(0.9, 0)}) == "parser"


def test_per_message_fields_hard_exact_invented_references_and_groups():
    from recagent.agent.reading.model import ListReference

    s = Scorer("x")
    years = Label(id="ph:years:001", split="phrasings", group="years", text="before 1995", hard=Hard(year_max=1994))
    s.add(years, Reading(hard=Hard(year_max=1994)), seconds=0.002)  # exactly right
    s.add(years, Reading(hard=Hard(year_max=1995)), seconds=0.004)  # off by one: a pair wrong, the message wrong
    combo = Label(id="ph:combos:001", split="phrasings", group="combos", text="only 90s comedies",
                  hard=Hard(genres=["Comedy"], year_min=1990, year_max=1999))  # fmt: skip
    s.add(combo, Reading(hard=Hard(year_min=1990, year_max=1999)), seconds=0.006)  # lost Comedy
    neg = Label(id="ph:negatives:001", split="phrasings", group="negatives", text="the 90s had great action movies")
    s.add(neg, Reading(hard=Hard(year_min=1990, year_max=1999)), seconds=0.008)  # invented
    ref = Label(id="ph:followups:001", split="phrasings", group="followups", text="the second one, more like that",
                previous_list=[{"title": "Aladdin (1992)", "ml_id": "588"}, {"title": "Moana (2016)", "ml_id": "166461"}],
                references=[ListReference(position=2, stance="liked", more_like=True)])  # fmt: skip
    s.add(ref, Reading(references=[ListReference(position=2, stance="liked")]), seconds=0.010)  # more_like missed
    f = s.summary()["fields"]
    assert f["hard_exact"] == {"count": 1, "of": 3, "rate": pytest.approx(1 / 3, abs=1e-4)}
    assert f["hard_invented"] == {"count": 1, "of": 2, "rate": 0.5}
    assert (f["references"]["precision"], f["reference_positions"]["f1"]) == (0.0, 1.0)
    assert f["state_exact"]["count"] == 1  # only the first message is read whole
    assert f["groups"]["years"] == {"hard_exact": 1, "with_hard": 2, "invented": 0, "without_hard": 0}
    assert f["groups"]["negatives"]["invented"] == 1
    assert f["latency_ms"]["p50"] == pytest.approx(6.0) and f["latency_ms"]["max"] == pytest.approx(10.0)


def test_the_phrasings_set_loads_with_its_references_and_lists():
    from recagent.evals.understanding import LABELS

    rows = load_labels(LABELS.with_name("phrasings.jsonl"))
    assert len(rows) >= 400 and {r.split for r in rows} == {"phrasings"}
    follow = [r for r in rows if r.previous_list]
    assert follow and any(r.references for r in follow) and all(len(r.context) >= 2 for r in follow)
