"""The redial-chat protocol: real ReDial test dialogues replayed through Recommender.chat (the product
path), on the ml-latest-small slice for speed; skipped without ../shared/data/redial."""

from __future__ import annotations

from pathlib import Path

import pytest

from recagent.agent.rerank import Reranker
from recagent.evals.config import load_config
from recagent.evals.protocols.redial import RedialData, dialogue_cases
from recagent.evals.protocols.redial_chat import (
    ListTap,
    bridge,
    notes,
    plain,
    popularity_cases,
    replay,
    replay_cases,
    summarize,
    variant_settings,
)
from recagent.recommender import Recommender
from tests.support.data import shared_dataset

CONFIGS = Path(__file__).resolve().parents[2] / "evals" / "configs"


@pytest.fixture(scope="module")
def redial() -> RedialData:
    return RedialData.load(shared_dataset("redial"))


@pytest.fixture(scope="module")
def chat_rec(settings, embedder, rec, tmp_path_factory) -> Recommender:
    """The slice's Recommender as a chat agent without LLM calls (parser understanding, retrieval order)."""
    s = variant_settings(
        settings,
        {"understanding": "parser", "rerank": {"history_summary": "deterministic"}},
        tmp_path_factory.mktemp("replay") / "sessions.sqlite",
    )
    r = Recommender.from_parts(s, embedder=embedder, reranker=Reranker(None, s.rerank))
    r.index()  # the store the `rec` fixture built: nothing to embed
    return r


def test_config_validates():
    cfg = load_config(CONFIGS / "redial-chat.yaml")
    assert cfg.protocol == "redial-chat" and {v.system for v in cfg.variants} == {"chat", "popularity"}


def test_replay_builds_and_scores_the_cases_of_real_dialogues(redial, chat_rec):
    ml_of = bridge(redial)
    assert 0.5 < len(ml_of) / len(redial.catalog) < 0.8  # the bridge matches about 4,166 of 6,924 movies
    dialogues = [d for d in redial.dialogues("test") if dialogue_cases(d, redial.catalog)][:3]
    tap = ListTap(chat_rec.agent, 50)
    scored, floor = [], []
    for d in dialogues:
        scored += replay(chat_rec, tap, d, redial, ml_of, f"t-{d.id}")
        floor += popularity_cases(chat_rec, d, redial, ml_of, 50)
    expected = [c.user for d in dialogues for c in dialogue_cases(d, redial.catalog)]
    assert [s.case.user for s in scored] == expected == [s.case.user for s in floor]
    for s in scored:
        assert len(set(s.ids)) == len(s.ids) and all(i in chat_rec.catalog for i in s.ids)
    # 20 from the chat, the rest in retrieval order (a turn whose filters leave the slice empty has none)
    assert max(len(s.ids) for s in scored) >= 50
    # the chat's answer heads the list: the tap passes the agent its usual 20 candidates
    last = chat_rec.sessions.turns(f"t-{dialogues[0].id}")
    assert [t.role for t in last[:2]] in (["user", "assistant"], ["recommender", "user"])
    cases = replay_cases("chat", scored, 50) + replay_cases("popularity", floor, 50)
    summary = {v: summarize([c for c in cases if c.variant == v], ["recall@1", "recall@10", "recall@50"], 1.0)
               for v in ("chat", "popularity")}  # fmt: skip
    for v in summary.values():
        assert v["users"] == len(expected) and v["dialogues"] == len(dialogues)
        assert v["new_bridged"] <= v["new_users"] and 0 <= v["coverage_new"] <= 1
        assert v["new/recall@50"] <= v["bridged/new/recall@50"] or v["new_bridged"] == 0
    assert summary["chat"]["turn_p50_ms"] > 0 and summary["popularity"]["turn_p50_ms"] is None
    for c in cases:
        assert c.bridged == (c.ml_target is not None)
        assert c.rank is None or 1 <= c.rank <= 50
        assert (c.rank_new is None) or c.new
    for c, s in zip(cases, scored + floor):  # the rank is the target's place in the list, earlier mentions removed
        assert c.rank == (s.ids.index(s.ml_target) + 1 if s.ml_target in s.ids[:50] else None)
        kept = [i for i in s.ids if i not in s.removed][:50]
        if c.new:
            assert c.rank_new == (kept.index(s.ml_target) + 1 if s.ml_target in kept else None)
        assert c.top == kept[:10], "the beyond-accuracy list: what it shows, earlier mentions removed"
    assert notes(summary, ["recall@10"])[4].startswith("| variant | new/recall@10 | bridged/new/recall@10")


def test_mentions_are_typed_as_plain_titles(redial):
    d = next(d for d in redial.dialogues("test") if any("@" in t.text for t in d.turns))
    raw = next(t.text for t in d.turns if "@" in t.text)
    text = plain(raw, redial)
    assert "@" not in text or all(m not in redial.catalog for m in raw.split("@")[1:])
    assert "(19" not in text and "(20" not in text
