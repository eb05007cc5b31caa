"""How the LLM ranks candidates: the generative and scoring strategies, and the bootstrap over shuffles.

* **generative**: the LLM returns an ordered list of candidate ids with explanations, constrained by
  a JSON schema whose ``item_id`` is an enum of the candidate ids; the reply is still parsed and
  validated (:func:`check_ranking`), and an invalid one gets one repair;
* **scoring**: candidates are labelled A, B, C...; one forward pass gives the next-token
  log-probabilities of the labels.

``bootstrap=B`` ranks B shuffled permutations (:func:`permutations`) and aggregates them: Borda
points for generative, mean calibrated log-probability for scoring, to damp position bias.
Each strategy returns the LLM's order and its scores normalised to [0, 1] (max 1), for the fusion
with retrieval (:mod:`recagent.agent.fusion`). A strategy raises
:class:`~recagent.agent.structured.StructuredCallError` when a call fails twice.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from pydantic import ValidationError

from recagent.agent.backends.base import ChatMessage, Completion, CompletionRequest, LLMBackend
from recagent.agent.prompt_budget import LABELS
from recagent.agent.safety import leaks
from recagent.agent.schema import EXPLANATION_MAX, LLMPick, LLMRanking, ReplyCheck, ranking_schema
from recagent.agent.structured import CallStats, Checker, InvalidReply, call_structured
from recagent.prompts import RenderedPrompt
from recagent.retrieval.base import Candidate

LOGPROB_FLOOR = -30.0
NO_LOGPROBS = "the backend returned no label log-probabilities"
Render = Callable[[list[Candidate]], tuple[RenderedPrompt, list[Candidate]]]


class InvalidOutput(InvalidReply):
    """The LLM's reply is not a usable ranking."""


@dataclass
class LLMScores:
    """A strategy's result: the LLM's order, its scores (max 1), its explanations, the ids it was shown."""

    order: list[str]
    scores: dict[str, float]
    words: dict[str, str] = field(default_factory=dict)
    shown: set[str] = field(default_factory=set)


def permutations(cands: list[Candidate], bootstrap: int, seed: int) -> list[list[Candidate]]:
    """The retrieval order, then ``bootstrap - 1`` shuffles. Shuffles differ from one request to the
    next (a fixed pattern would move every request's first item to the same slots) but are
    reproducible for the same candidates."""
    rng = random.Random(f"{seed}:" + ",".join(c.item_id for c in cands))
    return [cands] + [rng.sample(cands, len(cands)) for _ in range(bootstrap - 1)]


def clean_picks(picks: list[LLMPick], allowed: list[str]) -> list[tuple[str, str]]:
    """(item_id, explanation) pairs in order: candidates only, first mention wins, explanation
    whitespace collapsed and bounded."""
    ok = set(allowed)
    seen: set[str] = set()
    out = []
    for pick in picks:
        iid = pick.item_id.strip()
        if iid in ok and iid not in seen:
            seen.add(iid)
            out.append((iid, " ".join(pick.explanation.split())[:EXPLANATION_MAX]))
    return out


def check_ranking(text: str, allowed: list[str]) -> tuple[list[tuple[str, str]], ReplyCheck]:
    """(item_id, explanation) pairs from a reply (candidates only, no duplicates, in order), and
    what validation found. Raises InvalidOutput (carrying the check) when nothing usable is left."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InvalidOutput(f"not JSON ({e.msg} at character {e.pos})") from None
    try:
        ranking = LLMRanking.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        raise InvalidOutput(f"wrong shape at {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    named = [p.item_id.strip() for p in ranking.recommendations]
    ok = set(allowed)
    check = ReplyCheck(
        valid=True,
        returned=len(named),
        out_of_candidate=sum(1 for i in named if i not in ok),
        duplicates=len(named) - len(set(named)),
    )
    picks = clean_picks(ranking.recommendations, allowed)
    if not picks:
        raise InvalidOutput("no item_id in the reply is one of the candidates", check)
    return picks, check


def parse_ranking(text: str, allowed: list[str]) -> list[tuple[str, str]]:
    """(item_id, explanation) pairs from a reply: candidates only, no duplicates, in order."""
    return check_ranking(text, allowed)[0]


def ranking_checker(allowed: list[str]) -> Checker[list[tuple[str, str]]]:
    """:func:`check_ranking` as a checker of completions, for :func:`call_structured`."""
    return lambda completion: check_ranking(completion.text, allowed)


def check_labels(completion: Completion) -> tuple[dict[str, float], ReplyCheck]:
    """The label log-probabilities of a scoring reply; none (or all -inf) is an invalid reply, sent again."""
    lps = completion.label_logprobs
    if not lps or all(v == float("-inf") for v in lps.values()):
        raise InvalidReply(NO_LOGPROBS, reason=NO_LOGPROBS)
    return lps, ReplyCheck(valid=True, returned=len(lps))


def _repair(e: InvalidReply) -> str:
    return f"That reply was invalid ({e.problem}). Reply again with JSON only, using item_ids from the candidate list."


def generative(
    backend: LLMBackend,
    render: Render,
    perms: list[list[Candidate]],
    k: int,
    stats: CallStats,
    temperature: float = 0.0,
    seed: int = 0,
) -> LLMScores:
    """One ranking call per permutation; Borda points over them (the first permutation breaks ties).
    Explanations: the first one written for an item that does not leak the system prompt."""
    points: dict[str, float] = {}
    words: dict[str, str] = {}
    shown: set[str] = set()
    for order in perms:
        prompt, kept = render(order)
        shown.update(c.item_id for c in kept)
        stats.prompt = stats.prompt or prompt
        kk = min(k, len(kept))
        allowed = [c.item_id for c in kept]
        request = CompletionRequest(
            messages=[ChatMessage(**m) for m in prompt.messages()],
            json_schema=ranking_schema(allowed, kk),
            max_tokens=24 + kk * 48,
            temperature=temperature,
            seed=seed,
        )
        picks = call_structured(backend, request, ranking_checker(allowed), stats, repair=_repair)
        for pos, (iid, text) in enumerate(picks):
            points[iid] = points.get(iid, 0.0) + (kk - pos)
            if text and iid not in words and not leaks(text, prompt.system):
                words[iid] = text
    ranked = sorted(points, key=lambda i: -points[i])  # stable: the first permutation breaks ties
    top = max(points.values())
    return LLMScores(ranked, {i: points[i] / top for i in ranked}, words, shown)


def scoring(backend: LLMBackend, render: Render, perms: list[list[Candidate]], stats: CallStats) -> LLMScores:
    """One label-scoring pass per permutation; each item's mean calibrated log-probability."""
    seen: list[tuple[str, str, float]] = []  # (item, label, log-probability) for every permutation
    for order in perms:
        prompt, kept = render(order)
        stats.prompt = stats.prompt or prompt
        labels = list(LABELS[: len(kept)])
        request = CompletionRequest(
            messages=[ChatMessage(**m) for m in prompt.messages()], label_tokens=labels, max_tokens=1
        )
        got = call_structured(backend, request, check_labels, stats)
        seen += [
            (c.item_id, label, max(got.get(label, LOGPROB_FLOOR), LOGPROB_FLOOR)) for label, c in zip(labels, kept)
        ]
    # With several permutations, each label's mean log-probability over them estimates the model's
    # preference for the label itself, whatever sits behind it (a small model piles mass on "A"):
    # subtracting it calibrates the scores (contextual calibration), which is what makes the
    # bootstrap a position-bias mitigation rather than an average of biased votes.
    prior: dict[str, float] = {}
    if len(perms) > 1:
        for label in {lb for _, lb, _ in seen}:
            prior[label] = float(np.mean([lp for _, lb, lp in seen if lb == label]))
    per_item: dict[str, list[float]] = {}
    for iid, label, lp in seen:
        per_item.setdefault(iid, []).append(lp - prior.get(label, 0.0))
    ids = list(per_item)
    mean = np.array([np.mean(per_item[i]) for i in ids])
    p = np.exp(mean - mean.max())
    p /= p.max()
    # the LLM's own order (by log-probability) breaks ties in the fusion: equal retrieval scores,
    # probabilities that underflow
    ranked = [ids[j] for j in np.lexsort((np.arange(len(ids)), -mean))]
    return LLMScores(ranked, {ids[j]: float(p[j]) for j in range(len(ids))}, {}, set(ids))
