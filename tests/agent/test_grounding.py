"""Explanations are true of the catalog: every liked item, genre and year they name.

Checked over the bundled catalog for the deterministic explanations (every item, and real requests
through the Recommender), and for LLM-written ones: the reranker replaces an explanation that cites an
item the user never mentioned, or a wrong genre or year, with the deterministic one.
"""

from __future__ import annotations

import json
import random

import pytest

from recagent.agent.explain import explain
from recagent.agent.grounding import Grounding
from recagent.agent.rerank import Reranker, RerankRequest
from recagent.retrieval.base import Candidate, SourceHit
from recagent.retrieval.loaders import load_dataset
from recagent.retrieval.titles import display_title, normalize
from recagent.settings import RerankSettings
from tests.agent.grounding_corpus import ADVERSARIAL, HONEST, ISSUE
from tests.support.fake_llm import FakeLLM, label_reply


@pytest.fixture(scope="module")
def catalog():
    return load_dataset("bundled").catalog


@pytest.fixture(scope="module")
def grounding(catalog) -> Grounding:
    return Grounding(catalog.items)


def by_title(catalog, title: str):
    return next(it for it in catalog.items if it.title == title)


def test_the_checker_flags_what_is_untrue(catalog, grounding):
    ronin, heat = by_title(catalog, "Ronin (1998)"), by_title(catalog, "Heat (1995)")
    ok = grounding.check(
        "Similar to Heat (1995), which you liked (Action, Crime; 1998).", ronin.id, liked_ids=[heat.id]
    )
    assert ok.ok and ok.cited == [heat.id], ok.problems
    named = grounding.check("Fans of Toy Story (1995) will love it.", ronin.id, liked_ids=[heat.id])
    assert not named.ok and "never mentioned" in named.problems[0]
    # the user named it in the request: fine
    assert grounding.check("Like Toy Story (1995), which you mentioned.", ronin.id, request="I loved Toy Story").ok
    assert not grounding.check("A tense thriller from 1994.", ronin.id).ok  # Ronin is from 1998
    assert grounding.check("A tense thriller from the 1990s.", ronin.id).ok
    assert not grounding.check("A 1980s classic.", ronin.id).ok
    wrong = grounding.check("A warm romantic comedy.", ronin.id)
    assert not wrong.ok and any("Comedy" in p for p in wrong.problems)
    # the user's own words, quoted, are not claims about the candidate
    assert grounding.check(
        "Matches what you asked for, “funny horror movies”.", ronin.id, request="funny horror movies"
    ).ok
    # one-word titles are ordinary words: "heat" alone is not a citation
    assert grounding.check("Lots of heat and speed in this one.", ronin.id).ok


def test_a_facet_retrieval_matched_is_no_genre_claim(catalog, grounding):
    """'scary' is a Horror word; a thriller retrieval found scary (by its tags) may be called that, and only
    that: the matched label excuses its own words, not 'horror'."""
    seven = by_title(catalog, "Seven (a.k.a. Se7en) (1995)")
    text = "Fits what you asked for: scary. One of the most popular titles in the catalog (Mystery, Thriller; 1995)."
    assert not grounding.check(text, seven.id).ok
    assert grounding.check(text, seven.id, request="a scary movie", matched=["scary"]).ok
    assert not grounding.check("A scary horror film.", seven.id, matched=["scary"]).ok


def test_a_displayed_title_that_contains_another_title_names_only_its_own_item(catalog, grounding):
    """'Final Destination, The (Final Destination 4) (Final Destination in 3-D, The) (2009)', displayed with
    its articles in front, is one citation of that film, not of Final Destination (2000) inside it."""
    fd4 = by_title(catalog, "Final Destination, The (Final Destination 4) (Final Destination in 3-D, The) (2009)")
    fd1 = by_title(catalog, "Final Destination (2000)")
    text = f"Often brought up with {display_title(fd4.title)} in movie conversations."
    report = grounding.check(text, fd1.id, liked_ids=[fd4.id])
    assert report.ok and report.cited == [fd4.id], report.problems
    assert normalize("Matrix, The") == "the matrix" and normalize("Matrix, The", move_article=False) == "matrix the"


@pytest.mark.parametrize(
    "stride", [pytest.param(5, id="every-5th-item"), pytest.param(1, id="every-item", marks=pytest.mark.slow)]
)
def test_deterministic_explanations_are_grounded_for_every_bundled_item(catalog, grounding, stride):
    """Every explanation explain() can write, for every item of the bundled catalog (every 5th in the
    fast tier, all 9,742 in the slow tier), with a random liked anchor: whatever it names is true."""
    rng = random.Random(0)
    items = catalog.items[::stride]
    sources = [{"vector": SourceHit(rank=1, score=0.5)}, {"mf": SourceHit(rank=1, score=0.5)},
               {"sequential": SourceHit(rank=1, score=0.5)}, {"ease": SourceHit(rank=1, score=0.5)},
               {"comentions": SourceHit(rank=1, score=0.5)}, {"shown": SourceHit(rank=1, score=0.5)}, {}]  # fmt: skip
    failures = []
    for it in items:
        anchor = rng.choice(items)
        request = rng.choice(["", "funny horror movies from the 80s", "something like Heat but less violent"])
        cand = Candidate.from_item(it, 0.1, rng.choice(sources))
        liked = []
        if rng.random() < 0.7:
            cand.anchor_id, cand.anchor_title, liked = anchor.id, anchor.title, [anchor.id]
        text = explain(cand, request or None)
        report = grounding.check(text, it.id, request=request, liked_ids=liked)
        if not report.ok:
            failures.append((it.title, text, report.problems))
    assert not failures, failures[:5]
    assert len(items) * stride > 9000


def test_deterministic_explanations_through_the_recommender(rec):
    """Real requests on the slice of the bundled catalog: known users, liked titles, text; every
    named liked item is one the user liked (or rated well), every genre and year the candidate's."""
    g = Grounding(rec.catalog.items)
    users = rec.dataset.interactions.users[:15]
    titles = [it.title for it in rec.catalog.items[:40:4]]
    checked = 0
    for i, user in enumerate(users):
        likes = [titles[i % len(titles)]] if i % 3 == 0 else []
        query = ["", "something funny", "a thriller from the 90s"][i % 3]
        resp = rec.recommend(user_id=user, likes=likes, query=query or None, k=8, rerank=False)
        liked = set(rec.hybrid.history_anchors(user)) | {m.item_id for m in rec.resolve_titles(likes)}
        for r in resp.recommendations:
            report = g.check(r.explanation, r.item_id, request=query, liked_ids=sorted(liked))
            assert report.ok, (user, r.title, r.explanation, report.problems)
            checked += 1
    assert checked >= 100


def writes(words: dict[str, str]) -> FakeLLM:
    """A scoring model that then writes the given explanations (the ``explanation`` template's reply)."""
    picks = json.dumps({"explanations": [{"item_id": i, "explanation": t} for i, t in words.items()]})
    return FakeLLM(label_reply(lambda i, label, title: -float(i)), picks, name="writes")


def test_ungrounded_llm_explanations_are_replaced_and_counted(catalog, grounding):
    ronin, heat, toy = (by_title(catalog, t) for t in ("Ronin (1998)", "Heat (1995)", "Toy Story (1995)"))
    cands = [Candidate.from_item(ronin, 1.0, {"vector": SourceHit(rank=1, score=0.9)}), Candidate.from_item(toy, 0.5)]
    cands[0].anchor_id, cands[0].anchor_title = heat.id, heat.title
    words = {
        ronin.id: "Just like Star Wars: Episode IV - A New Hope (1977), a space opera.",
        toy.id: "A 1995 animated comedy.",
    }
    fake = writes(words)
    r = Reranker(fake, RerankSettings(mode="scoring", explain="llm", llm_weight=1.0), grounding=grounding)
    resp = r.rerank(RerankRequest(candidates=cands, k=2, request="like Heat", liked_ids=[heat.id]))
    got = {x.item_id: x.explanation for x in resp.recommendations}
    assert got[toy.id] == "A 1995 animated comedy."  # true of Toy Story: kept
    assert got[ronin.id] == "Similar to Heat (1995), which you liked (Action, Crime; 1998)."  # replaced
    assert resp.checks[-1].ungrounded == 1 and "never mentioned" in resp.checks[-1].error
    assert fake.calls == 2 and fake.history[0].label_tokens and not fake.history[1].label_tokens  # score, then write


@pytest.mark.slow
def test_llm_written_explanations_with_the_bundled_model_are_grounded(llm_rec, llama, monkeypatch):
    """The bundled model writes the explanations for a few real requests; whatever reaches the answer
    is grounded, and the ones it made up are counted (printed)."""
    g = Grounding(llm_rec.catalog.items)
    r = Reranker(llama, RerankSettings(mode="scoring", explain="llm", llm_weight=0.5), grounding=g)
    monkeypatch.setattr(llama, "timeout", 300)  # restored for the session's other tests
    flagged = written = 0
    for likes, query in [(["Toy Story"], "something fun"), ([], "a scary movie"), (["Heat"], "")]:
        cs = llm_rec.candidates(likes=likes, query=query or None, k=8)
        req = RerankRequest(candidates=cs.candidates, request=query, k=4, liked_ids=cs.query.liked_ids)
        resp = r.rerank(req)
        matched = {c.item_id: c.matched for c in req.candidates}
        for x in resp.recommendations:
            report = g.check(x.explanation, x.item_id, req.request, req.history, req.liked_ids, matched[x.item_id])
            assert report.ok, (x.explanation, report.problems)
        flagged += sum(c.ungrounded for c in resp.checks)
        written += 4
    print(f"bundled model: {flagged} of {written} LLM explanations replaced as ungrounded")


def _check_row(catalog, grounding, row: dict):
    cand = by_title(catalog, row["candidate"])
    liked = [by_title(catalog, t).id for t in row["liked"]]
    return grounding.check(row["text"], cand.id, request=row["request"], liked_ids=liked)


def test_the_issue_and_adversarial_explanations_are_all_caught(catalog, grounding):
    """Issue 21's explanations and 50+ made-up ones (other films' titles, ids, labels, JSON, template
    tokens, wrong genres and years): the check fails every one."""
    assert len(ADVERSARIAL) >= 50
    missed = [r["text"] for r in ISSUE + ADVERSARIAL if _check_row(catalog, grounding, r).ok]
    assert not missed, missed
    last_jedi = _check_row(catalog, grounding, ISSUE[0])
    assert last_jedi.cited == [by_title(catalog, "Star Wars: The Last Jedi (2017)").id], last_jedi.problems
    assert any('item id "122916"' in p for p in _check_row(catalog, grounding, ISSUE[1]).problems)


def test_honest_explanations_pass(catalog, grounding):
    """What a good LLM writes (the candidate's own title, genres and year, a liked film, the user's
    words) passes: the check does not simply refuse everything."""
    assert len(HONEST) >= 20
    failed = [(r["text"], rep.problems) for r in HONEST if not (rep := _check_row(catalog, grounding, r)).ok]
    assert not failed, failed


def test_deterministic_explanations_of_the_whole_slice_pass(rec):
    """Every item of the slice, explained as each retrieval source explains it, with another item of
    the slice as the liked anchor: the stricter check passes all of them."""
    g, items = Grounding(rec.catalog.items), rec.catalog.items
    sources = ["vector", "mf", "sequential", "ease", "comentions", "shown", "text", "facets"]
    failures = []
    for n, it in enumerate(items):
        anchor = items[(n * 37 + 11) % len(items)]
        for source in sources:
            cand = Candidate.from_item(it, 0.1, {source: SourceHit(rank=1, score=0.5)})
            cand.anchor_id, cand.anchor_title = anchor.id, anchor.title
            if source in ("text", "facets") and n % 2:
                cand.matched = ["heist film"]
            for request in ("", "funny horror movies from the 80s"):
                report = g.check(explain(cand, request or None), it.id, request=request, liked_ids=[anchor.id])
                if not report.ok:
                    failures.append((it.title, explain(cand, request or None), report.problems))
    assert not failures, failures[:5]
    assert len(items) >= 500


def test_the_issue_explanations_are_replaced_and_counted(catalog, grounding):
    """Through the reranker, as the issue saw them: both are replaced by the deterministic ones and the
    response's checks say ``ungrounded: 2`` (they said 0: the check found nothing in them)."""
    bp, thor, toy = (
        by_title(catalog, t) for t in ("Black Panther (2017)", "Thor: Ragnarok (2017)", "Toy Story (1995)")
    )
    cands = [Candidate.from_item(it, 1.0 - i / 10) for i, it in enumerate((bp, thor, toy))]
    words = {bp.id: ISSUE[0]["text"], thor.id: "The best candidate is 122916…", toy.id: "A 1995 animated comedy."}
    r = Reranker(writes(words), RerankSettings(mode="scoring", explain="llm", llm_weight=1.0), grounding=grounding)
    resp = r.rerank(RerankRequest(candidates=cands, k=3))
    got = {x.item_id: x.explanation for x in resp.recommendations}
    assert got[toy.id] == "A 1995 animated comedy."
    assert got[bp.id] == explain(cands[0]) and got[thor.id] == explain(cands[1])
    assert sum(c.ungrounded for c in resp.checks) == 2 and resp.checks[-1].ungrounded == 2
    assert "never mentioned" in resp.checks[-1].error and "internal" in resp.checks[-1].error
