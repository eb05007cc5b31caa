"""LLM reranking of retrieval candidates, with validation, one repair, and a fallback.

Two modes:

* **generative**: the LLM returns an ordered list of candidate ids with
  explanations, constrained by a JSON schema whose ``item_id`` is an enum of the
  candidate ids; the reply is still parsed and validated.
* **scoring**: candidates are labelled A, B, C...; one forward pass gives the
  next-token log-probabilities of the labels.

Either way the LLM's normalised score is fused with the normalised retrieval score,
``(1 - w) x retrieval + w x LLM``, with ``w`` calibrated on validation data for the
model, template and mode (``recagent.agent.calibration``). At ``w = 0`` the LLM is not
called: the answer is retrieval's order with deterministic explanations.

``bootstrap=B`` reranks B shuffled permutations and aggregates them (Borda points
for generative, mean log-probability for scoring) to damp position bias.

Whatever the LLM does, the caller gets a valid response: duplicates and
non-candidates are dropped, candidates the LLM left out are appended in
retrieval order, and on a second failure the whole list falls back to retrieval
order with deterministic explanations, flagged ``source="fallback"``.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from recagent.agent.backends.base import ChatMessage, CompletionRequest, LLMBackend, LLMError
from recagent.agent.calibration import Calibrations, CalibrationKey, Weight, model_key
from recagent.agent.explain import explain
from recagent.agent.grounding import Grounding
from recagent.agent.safety import for_prompt, leaks
from recagent.agent.schema import (
    EXPLANATION_MAX,
    LLMExplanations,
    LLMPick,
    LLMRanking,
    PromptInfo,
    Recommendation,
    RecommendationResponse,
    ReplyCheck,
    Usage,
    explanations_schema,
    ranking_schema,
)
from recagent.prompts import PromptTemplate, RenderedPrompt, load_template
from recagent.settings import RerankSettings
from recagent.retrieval.base import Candidate

LABELS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
TEMPLATES = {"generative": "rerank", "scoring": "rerank_scoring"}
LOGPROB_FLOOR = -30.0


class RerankRequest(BaseModel):
    candidates: list[Candidate]
    history: str = "a new user; no history yet"
    request: str = ""
    k: int = Field(10, ge=1)
    liked_ids: list[str] = Field(default_factory=list, description="items the user said they like (grounding)")


class InvalidOutput(ValueError):
    """The LLM's reply is not a usable ranking."""

    def __init__(self, reason: str, check: ReplyCheck | None = None):
        super().__init__(reason)
        self.check = check


class RerankFailure(Exception):
    def __init__(self, reason: str, raw: str | None, attempts: int):
        super().__init__(reason)
        self.reason, self.raw, self.attempts = reason, raw, attempts


@dataclass
class CallStats:
    usage: Usage = field(default_factory=Usage)
    attempts: int = 0
    llm_ms: float = 0.0
    model: str | None = None
    prompt: RenderedPrompt | None = None
    checks: list[ReplyCheck] = field(default_factory=list)

    def add(self, completion) -> None:
        self.usage = self.usage + Usage(
            prompt_tokens=completion.prompt_tokens, completion_tokens=completion.completion_tokens
        )
        self.llm_ms += completion.latency_ms
        self.model = completion.model


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


def fuse(shown: list[Candidate], llm: dict[str, float], weight: float, llm_order: list[str]):
    """``(1 - weight) x retrieval score / max + weight x LLM score`` over the candidates the LLM was
    shown (a candidate it left out scores 0 for the LLM). Ties go to the LLM's order, then retrieval's.
    Returns (ids in fused order, fused score by id)."""
    ids = [c.item_id for c in shown]
    retr = np.array([c.score for c in shown], dtype=float)
    retr = retr / retr.max() if retr.max() > 0 else retr
    final = (1 - weight) * retr + weight * np.array([llm.get(i, 0.0) for i in ids])
    where = {iid: n for n, iid in enumerate(llm_order)}
    rank = np.lexsort((np.arange(len(ids)), [where.get(i, len(ids)) for i in ids], -np.round(final, 9)))
    return [ids[j] for j in rank], {ids[j]: float(final[j]) for j in range(len(ids))}


class Reranker:
    def __init__(
        self,
        backend: LLMBackend | None,
        settings: RerankSettings | None = None,
        temperature: float = 0.0,
        seed: int = 0,
        calibration: Calibrations | None = None,
        grounding: Grounding | None = None,
    ):
        """``calibration``: where the LLM's fusion weight comes from (default: ``settings.llm_weight``,
        else the uncalibrated default); ``grounding``: checks LLM-written explanations against the
        catalog (default: against the candidates alone)."""
        self.backend = backend
        self.settings = settings or RerankSettings()
        self.temperature = temperature
        self.seed = seed
        self.calibration = calibration or Calibrations([], self.settings.llm_weight)
        self.grounding = grounding
        self._weights: dict[str, Weight] = {}

    def _bundled(self) -> bool:
        return self.backend is not None and getattr(self.backend, "is_bundled", False)

    def explain_with_llm(self, req: RerankRequest, cands: list[Candidate], stats: CallStats) -> dict[str, str]:
        """Explanations for an already ranked list (the ``explanation`` template), in one call.

        Validated like a ranking: only the given ids, one sentence each. Any failure leaves the
        deterministic explanations in place; it never fails the response.
        """
        template = load_template("explanation")
        rows = self._rows(cands, labelled=False)
        prompt = template.render(
            domain=self.settings.domain,
            history=for_prompt(req.history, 400),
            request=for_prompt(req.request, 300) or "(none)",
            items=rows,
        )
        ids = [c.item_id for c in cands]
        request = CompletionRequest(
            messages=[ChatMessage(**m) for m in prompt.messages()],
            json_schema=explanations_schema(ids),
            max_tokens=24 + len(ids) * 40,
            temperature=self.temperature,
            seed=self.seed,
        )
        try:
            completion = self.backend.complete(request)
            stats.add(completion)
            stats.attempts += 1
            got = LLMExplanations.model_validate_json(completion.text)
        except (LLMError, ValidationError, ValueError) as e:
            stats.checks.append(ReplyCheck(valid=False, error=f"explanations: {type(e).__name__}"))
            return {}
        stats.checks.append(ReplyCheck(valid=True, returned=len(got.explanations)))
        return {
            iid: text for iid, text in clean_picks(got.explanations, ids) if text and not leaks(text, prompt.system)
        }

    def resolve_mode(self, mode: str | None = None) -> str:
        mode = mode or self.settings.mode
        if mode == "auto":
            mode = "scoring" if self._bundled() else "generative"
        return mode

    def calibration_key(self, mode: str) -> CalibrationKey:
        t = self.template(mode)
        return CalibrationKey(model=model_key(self.backend), template=f"{t.name}@v{t.version}#{t.hash}", mode=mode)

    def weight(self, mode: str | None = None) -> Weight:
        """The LLM's fusion weight for this model, template and mode (0 without a backend)."""
        if self.backend is None:
            return Weight(value=0.0, source="no LLM backend")
        mode = self.resolve_mode(mode)
        if mode not in self._weights:
            self._weights[mode] = self.calibration.weight(self.calibration_key(mode))
        return self._weights[mode]

    def uses_llm(self, mode: str | None = None) -> bool:
        """Whether a rerank in this mode calls the LLM (its weight is above 0)."""
        return self.weight(mode).value > 0

    def template(self, mode: str) -> PromptTemplate:
        return load_template(self.settings.template or TEMPLATES[mode], self.settings.template_version)

    # ------------------------------------------------------------------ prompt building

    def _rows(self, cands: list[Candidate], labelled: bool) -> list[dict]:
        return [
            {
                "item_id": c.item_id,
                "label": LABELS[i] if labelled else "",
                "title": for_prompt(c.title, 80),
                "genres": for_prompt(", ".join(c.genres[:3]), 60) or "-",
            }
            for i, c in enumerate(cands)
        ]

    def render(self, mode: str, req: RerankRequest, cands: list[Candidate]) -> tuple[RenderedPrompt, list[Candidate]]:
        """Render within the token budget: shorten the history and request, then drop tail candidates."""
        template = self.template(mode)
        budget = self.settings.prompt_budget
        count = self.backend.count_tokens if self.backend else (lambda t: max(1, len(t) // 4))
        history = for_prompt(req.history, 600)
        request = for_prompt(req.request, 400) or "(none: recommend from the profile)"
        kept = list(cands)

        def build() -> RenderedPrompt:
            return template.render(
                domain=self.settings.domain,
                history=history,
                request=request,
                candidates=self._rows(kept, mode == "scoring"),
                k=min(req.k, len(kept)),
            )

        prompt = build()
        # history first (it is a summary), then the request, down to a floor, then candidates from the tail
        while count(prompt.system + prompt.user) > budget:
            if len(history) > 120:
                history = history[: int(len(history) * 0.7)].rsplit(" ", 1)[0] + "..."
            elif len(request) > 160:
                request = request[: int(len(request) * 0.7)].rsplit(" ", 1)[0] + "..."
            elif len(kept) > 2:
                kept.pop()
            else:
                break
            prompt = build()
        return prompt, kept

    # ------------------------------------------------------------------ LLM calls

    def _ask(self, prompt: RenderedPrompt, request: CompletionRequest, allowed: list[str], stats: CallStats):
        """One call, and on a bad reply or an error one repair or retry. Raises RerankFailure."""
        messages = list(request.messages)
        raw, reason = None, ""
        for _attempt in (1, 2):
            stats.attempts += 1
            try:
                completion = self.backend.complete(request.model_copy(update={"messages": messages}))
            except LLMError as e:
                reason = f"{type(e).__name__}: {e}"
                stats.checks.append(ReplyCheck(valid=False, error=reason))
                continue
            stats.add(completion)
            raw = completion.text
            if request.label_tokens:
                if not completion.label_logprobs or all(v == float("-inf") for v in completion.label_logprobs.values()):
                    reason = "the backend returned no label log-probabilities"
                    stats.checks.append(ReplyCheck(valid=False, error=reason))
                    continue
                stats.checks.append(ReplyCheck(valid=True, returned=len(completion.label_logprobs)))
                return completion.label_logprobs
            try:
                picks, check = check_ranking(completion.text, allowed)
                stats.checks.append(check)
                return picks
            except InvalidOutput as e:
                reason = f"invalid output: {e}"
                failed = e.check or ReplyCheck(valid=False)
                stats.checks.append(failed.model_copy(update={"valid": False, "error": reason}))
                messages = [
                    *request.messages,
                    ChatMessage(role="assistant", content=completion.text[:2000]),
                    ChatMessage(
                        role="user",
                        content=f"That reply was invalid ({e}). Reply again with JSON only, using item_ids from the candidate list.",
                    ),
                ]
        raise RerankFailure(reason, raw, stats.attempts)

    def _generative(
        self, req: RerankRequest, perms: list[list[Candidate]], stats: CallStats
    ) -> tuple[list[str], dict[str, float], dict[str, str], set[str]]:
        points: dict[str, float] = {}
        words: dict[str, str] = {}
        shown: set[str] = set()
        for order in perms:
            prompt, kept = self.render("generative", req, order)
            shown.update(c.item_id for c in kept)
            stats.prompt = stats.prompt or prompt
            k = min(req.k, len(kept))
            allowed = [c.item_id for c in kept]
            request = CompletionRequest(
                messages=[ChatMessage(**m) for m in prompt.messages()],
                json_schema=ranking_schema(allowed, k),
                max_tokens=24 + k * 48,
                temperature=self.temperature,
                seed=self.seed,
            )
            picks = self._ask(prompt, request, allowed, stats)
            for pos, (iid, text) in enumerate(picks):
                points[iid] = points.get(iid, 0.0) + (k - pos)
                if text and iid not in words and not leaks(text, prompt.system):
                    words[iid] = text
        order = sorted(points, key=lambda i: -points[i])  # stable: the first permutation breaks ties
        top = max(points.values())
        return order, {i: points[i] / top for i in order}, words, shown

    def _scoring(
        self, req: RerankRequest, perms: list[list[Candidate]], stats: CallStats
    ) -> tuple[list[str], dict[str, float], dict[str, str], set[str]]:
        # (item, label, log-probability) for every permutation
        seen: list[tuple[str, str, float]] = []
        for order in perms:
            prompt, kept = self.render("scoring", req, order)
            stats.prompt = stats.prompt or prompt
            labels = list(LABELS[: len(kept)])
            request = CompletionRequest(
                messages=[ChatMessage(**m) for m in prompt.messages()], label_tokens=labels, max_tokens=1
            )
            got = self._ask(prompt, request, [c.item_id for c in kept], stats)
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
        order = [ids[j] for j in np.lexsort((np.arange(len(ids)), -mean))]
        return order, {ids[j]: float(p[j]) for j in range(len(ids))}, {}, set(ids)

    # ------------------------------------------------------------------ entry point

    def rerank(
        self, req: RerankRequest, mode: str | None = None, bootstrap: int | None = None
    ) -> RecommendationResponse:
        t0 = time.perf_counter()
        mode = self.resolve_mode(mode)
        cands = req.candidates[: self.settings.candidates]
        k = min(req.k, len(req.candidates))
        stats = CallStats()
        if not cands:
            return RecommendationResponse(recommendations=[], source="retrieval", mode="none")
        if self.backend is None:
            return self.fallback(req, k, None, t0, mode="none", source="retrieval")
        weight = self.weight(mode)
        if weight.value == 0:  # calibrated out: the LLM is not asked, explanations stay deterministic
            resp = self.fallback(req, k, None, t0, mode="none", source="retrieval")
            return resp.model_copy(
                update={
                    "llm_weight": 0.0,
                    "calibration": f"{mode} weight 0 ({weight.source}): the LLM was not asked; "
                    "retrieval order with deterministic explanations",
                }
            )
        B = bootstrap or self.settings.bootstrap
        # shuffles differ from one request to the next (a fixed pattern would move every request's
        # first item to the same slots) but are reproducible for the same candidates
        rng = random.Random(f"{self.seed}:" + ",".join(c.item_id for c in cands))
        perms = [cands] + [rng.sample(cands, len(cands)) for _ in range(B - 1)]
        try:
            run = self._generative if mode == "generative" else self._scoring
            llm_order, llm_scores, words, shown = run(req.model_copy(update={"k": k}), perms, stats)
        except RerankFailure as e:
            return self.fallback(req, k, e.reason, t0, mode=mode, stats=stats).model_copy(
                update={"raw_output": e.raw, "llm_weight": weight.value, "calibration": weight.source}
            )
        by_id = {c.item_id: c for c in req.candidates}
        order, scores = fuse([c for c in req.candidates if c.item_id in shown], llm_scores, weight.value, llm_order)
        ranked = order + [c.item_id for c in req.candidates if c.item_id not in set(order)]
        explain_llm = self.settings.explain == "llm" or (self.settings.explain == "auto" and not self._bundled())
        if mode == "scoring" and explain_llm:
            words = self.explain_with_llm(req, [by_id[i] for i in ranked[:k]], stats)
        words = self.grounded(words, req, by_id, stats)
        recs = []
        for rank, iid in enumerate(ranked[:k], start=1):
            cand = by_id[iid]
            recs.append(
                Recommendation(
                    item_id=iid,
                    title=cand.title,
                    rank=rank,
                    score=round(scores.get(iid, 0.0), 6),
                    explanation=words.get(iid) or explain(cand, req.request or None),
                )
            )
        return self._response(recs, "llm", mode, stats, t0).model_copy(
            update={"llm_weight": weight.value, "calibration": f"{mode} weight {weight.value:g} ({weight.source})"}
        )

    def grounded(self, words: dict[str, str], req: RerankRequest, by_id: dict, stats: CallStats) -> dict[str, str]:
        """LLM-written explanations that pass the grounding check; a failing one is dropped (the
        deterministic one takes its place) and counted in the last reply's check."""
        if not words:
            return words
        grounding = self.grounding or Grounding(by_id.values())
        kept, bad = {}, []
        for iid, text in words.items():
            report = grounding.check(text, iid, req.request, req.history, req.liked_ids)
            if report.ok:
                kept[iid] = text
            else:
                bad.append(f"{iid}: {report.problems[0]}")
        if bad:
            last = stats.checks[-1] if stats.checks else ReplyCheck(valid=True)
            update = {"ungrounded": len(bad), "error": "; ".join(bad)[:500]}
            if stats.checks:
                stats.checks[-1] = last.model_copy(update=update)
            else:
                stats.checks.append(last.model_copy(update=update))
        return kept

    def fallback(
        self,
        req: RerankRequest,
        k: int,
        reason: str | None,
        t0: float,
        mode: str,
        stats: CallStats | None = None,
        source: str = "fallback",
    ) -> RecommendationResponse:
        recs = [
            Recommendation(
                item_id=c.item_id,
                title=c.title,
                rank=i,
                score=round(c.score, 6),
                explanation=explain(c, req.request or None),
            )
            for i, c in enumerate(req.candidates[:k], start=1)
        ]
        resp = self._response(recs, source, mode, stats or CallStats(), t0)
        return resp.model_copy(update={"error": reason})

    def _response(self, recs, source, mode, stats: CallStats, t0: float) -> RecommendationResponse:
        p = stats.prompt
        return RecommendationResponse(
            recommendations=recs,
            source=source,
            mode=mode,
            prompt=PromptInfo(name=p.name, version=p.version, hash=p.hash) if p else None,
            backend=self.backend.name if self.backend else None,
            model=stats.model or (self.backend.model if self.backend else None),
            latency_ms=round((time.perf_counter() - t0) * 1000, 2),
            llm_latency_ms=round(stats.llm_ms, 2),
            tokens=stats.usage,
            attempts=stats.attempts,
            checks=stats.checks,
        )
