"""LLM reranking of retrieval candidates: the entry point, which never fails a request.

:meth:`Reranker.rerank` takes retrieval's candidates and returns a valid response whatever the LLM
does. The parts, each in its module:

* the prompt, fitted into the token budget (:mod:`recagent.agent.prompt_budget`);
* the LLM's ranking, generative or by label scores, over bootstrap shuffles
  (:mod:`recagent.agent.strategies`), each call validated and repaired once
  (:mod:`recagent.agent.structured`);
* the fusion of the LLM's scores with retrieval's at a calibrated weight
  (:mod:`recagent.agent.fusion`); at weight 0 the LLM is not called: the answer is retrieval's
  order with deterministic explanations;
* the scoring mode's LLM-written explanations (:mod:`recagent.agent.llm_explanations`), grounded
  against the catalog (:mod:`recagent.agent.grounding`);
* the response (:mod:`recagent.agent.responses`).

Duplicates and non-candidates are dropped, candidates the LLM left out are appended in retrieval
order, and when a call fails twice the whole list falls back to retrieval order with deterministic
explanations, flagged ``source="fallback"``, with the last raw reply logged and kept for eval reports (the response
never serialises it: see ``RecommendationResponse.raw_output``).
"""

from __future__ import annotations

import logging
import time

from pydantic import BaseModel, Field

from recagent.agent.backends.base import LLMBackend
from recagent.agent.calibration import CalibrationKey, Calibrations, Weight
from recagent.agent.fusion import calibration_key, fuse
from recagent.agent.grounding import Grounding, keep_grounded
from recagent.agent.llm_explanations import llm_explanations
from recagent.agent.prompt_budget import fit_prompt
from recagent.agent.responses import build_response, ranked_recommendations, retrieval_recommendations
from recagent.agent.schema import RecommendationResponse
from recagent.agent.strategies import generative, permutations, scoring
from recagent.agent.structured import CallStats, StructuredCallError
from recagent.prompts import PromptTemplate, RenderedPrompt, load_template
from recagent.retrieval.base import Candidate
from recagent.settings import RerankSettings

TEMPLATES = {"generative": "rerank", "scoring": "rerank_scoring"}
RAW_LOGGED = 2000  # characters of an unusable LLM reply written to the log
log = logging.getLogger(__name__)


class RerankRequest(BaseModel):
    candidates: list[Candidate]
    history: str = "a new user; no history yet"
    request: str = ""
    k: int = Field(10, ge=1)
    liked_ids: list[str] = Field(default_factory=list, description="items the user said they like (grounding)")


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

    def resolve_mode(self, mode: str | None = None) -> str:
        mode = mode or self.settings.mode
        if mode == "auto":
            mode = "scoring" if self._bundled() else "generative"
        return mode

    def template(self, mode: str) -> PromptTemplate:
        return load_template(self.settings.template or TEMPLATES[mode], self.settings.template_version)

    def calibration_key(self, mode: str) -> CalibrationKey:
        return calibration_key(self.backend, self.template(mode), mode)

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

    def render(self, mode: str, req: RerankRequest, cands: list[Candidate]) -> tuple[RenderedPrompt, list[Candidate]]:
        """The mode's prompt within the token budget, and the candidates it kept."""
        return fit_prompt(
            self.template(mode),
            domain=self.settings.domain,
            history=req.history,
            request=req.request,
            cands=cands,
            k=req.k,
            labelled=mode == "scoring",
            budget=self.settings.prompt_budget,
            count=self.backend.count_tokens if self.backend else None,
        )

    def explain_with_llm(self, req: RerankRequest, cands: list[Candidate], stats: CallStats) -> dict[str, str]:
        """LLM-written explanations for an already ranked list; {} when the call fails."""
        return llm_explanations(
            self.backend,
            cands,
            stats,
            domain=self.settings.domain,
            history=req.history,
            request=req.request,
            temperature=self.temperature,
            seed=self.seed,
        )

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
            return self._fallback(req, k, None, t0, mode="none", stats=stats, source="retrieval")
        weight = self.weight(mode)
        if weight.value == 0:  # calibrated out: the LLM is not asked, explanations stay deterministic
            resp = self._fallback(req, k, None, t0, mode="none", stats=stats, source="retrieval")
            return resp.model_copy(
                update={
                    "llm_weight": 0.0,
                    "calibration": f"{mode} weight 0 ({weight.source}): the LLM was not asked; "
                    "retrieval order with deterministic explanations",
                }
            )
        perms = permutations(cands, bootstrap or self.settings.bootstrap, self.seed)
        sized = req.model_copy(update={"k": k})

        def render(order: list[Candidate]) -> tuple[RenderedPrompt, list[Candidate]]:
            return self.render(mode, sized, order)

        try:
            if mode == "generative":
                llm = generative(self.backend, render, perms, k, stats, self.temperature, self.seed)
            else:
                llm = scoring(self.backend, render, perms, stats)
        except StructuredCallError as e:
            log.warning(
                "LLM reply unusable (%s), retrieval order used; raw output: %r", e.reason, (e.raw or "")[:RAW_LOGGED]
            )
            return self._fallback(req, k, e.reason, t0, mode=mode, stats=stats).model_copy(
                update={"raw_output": e.raw, "llm_weight": weight.value, "calibration": weight.source}
            )
        by_id = {c.item_id: c for c in req.candidates}
        shown = [c for c in req.candidates if c.item_id in llm.shown]
        order, scores = fuse(shown, llm.scores, weight.value, llm.order)
        ranked = order + [c.item_id for c in req.candidates if c.item_id not in set(order)]
        words = llm.words
        explain_llm = self.settings.explain == "llm" or (self.settings.explain == "auto" and not self._bundled())
        if mode == "scoring" and explain_llm:
            words = self.explain_with_llm(req, [by_id[i] for i in ranked[:k]], stats)
        if words:
            grounding = self.grounding or Grounding(by_id.values())
            matched = {c.item_id: c.matched for c in req.candidates}
            words = keep_grounded(words, grounding, req.request, req.history, req.liked_ids, stats.checks, matched)
        recs = ranked_recommendations(ranked[:k], by_id, scores, words, req.request or None)
        return build_response(recs, "llm", mode, stats, self.backend, t0).model_copy(
            update={"llm_weight": weight.value, "calibration": f"{mode} weight {weight.value:g} ({weight.source})"}
        )

    def _fallback(
        self, req: RerankRequest, k: int, reason: str | None, t0: float, mode: str, stats: CallStats, source="fallback"
    ) -> RecommendationResponse:
        """Retrieval's top ``k`` with deterministic explanations; ``reason``: why the LLM's answer was not used."""
        recs = retrieval_recommendations(req.candidates[:k], req.request or None)
        return build_response(recs, source, mode, stats, self.backend, t0).model_copy(update={"error": reason})
