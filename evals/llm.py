"""LLM variants: the retriever's candidates reranked by an LLM, and what the LLM did.

A variant's ``rerank`` block names the backend and model, the prompt template and
version, the ranking mode, the number of candidates and the bootstrap. Every
completion goes through a disk cache keyed by backend, model, parameters and the
exact prompt (``recagent.agent.backends.caching``): re-running an unchanged config makes no
LLM call and gives identical numbers, latencies included (a replay carries the
latency measured when the reply was made), and an interrupted run resumes at
full speed up to where it stopped. Hosted backends run cases concurrently, bounded
by ``concurrency``; in-process llama.cpp has one context and runs one at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from recagent.agent.backends import create_backend
from recagent.agent.backends.caching import CachingBackend
from recagent.agent.cache import DiskCache
from recagent.agent.calibration import Calibrations, calibration_paths
from recagent.agent.rerank import TEMPLATES, Reranker, RerankRequest
from recagent.agent.schema import RecommendationResponse, ReplyCheck
from recagent.errors import ConfigError
from recagent.evals.beyond import BEYOND_K
from recagent.evals.cases import CaseResult
from recagent.prompts import load_template
from recagent.retrieval.base import Candidate
from recagent.retrieval.progress import progress_bar
from recagent.settings import LLMSettings, RerankSettings, Settings


class RerankSpec(BaseModel):
    """How an LLM variant reranks (the ``rerank:`` block of a variant in an eval config)."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["generative", "scoring"] = "scoring"
    template: str | None = Field(None, description="prompt template (default: rerank / rerank_scoring by mode)")
    template_version: int | None = Field(None, description="default: the newest")
    candidates: int = Field(20, ge=2, le=26, description="the retriever's top-N the LLM reranks")
    bootstrap: int = Field(1, ge=1, le=16, description="shuffled permutations, aggregated")
    backend: Literal["llama_cpp", "openai"] = "llama_cpp"
    gguf: str = Field("bundled", description="llama_cpp: 'bundled' or a GGUF path")
    model: str = Field("gpt-4o-mini", description="openai: the model name on the server")
    base_url: str | None = Field(None, description="openai: the server (default: OPENAI_BASE_URL)")
    temperature: float = Field(0.0, ge=0)
    seed: int = 0
    timeout: float | None = Field(None, gt=0, description="seconds per call (default: the settings')")
    history: Literal["deterministic", "llm"] = Field(
        "deterministic", description="the user-history summary in the prompt: from the facts, or LLM-written"
    )
    concurrency: int = Field(1, ge=1, le=64, description="cases in flight at once (hosted backends only)")
    llm_weight: float | None = Field(
        None,
        ge=0,
        le=1,
        description="the LLM score's weight fused with retrieval (0: the LLM is not called); default: the "
        "calibrated weight for the model, template and mode, as the product uses it",
    )
    rerank_all: bool = Field(
        False,
        description="also call the LLM for users whose target is outside the candidates; their rank cannot "
        "change, so by default they keep the retriever's result without a call",
    )

    @model_validator(mode="after")
    def _template_exists(self) -> RerankSpec:
        name = self.template or TEMPLATES[self.mode]
        try:
            load_template(name, self.template_version)
        except ConfigError as e:
            raise ValueError(str(e)) from None
        return self

    def settings(self, base: Settings) -> Settings:
        llm = LLMSettings(
            backend=self.backend,
            gguf=self.gguf,
            model=self.model,
            threads=base.llm.threads,
            context=base.llm.context,
            timeout=self.timeout or base.llm.timeout,
            max_retries=base.llm.max_retries,
            temperature=self.temperature,
            seed=self.seed,
        )
        rerank = RerankSettings(
            mode=self.mode,
            candidates=self.candidates,
            bootstrap=self.bootstrap,
            explain="deterministic",  # explanations are not scored; an extra call per case would only cost time
            template=self.template,
            template_version=self.template_version,
            prompt_budget=base.rerank.prompt_budget,
            history_summary=self.history,
            domain=base.rerank.domain,
            llm_weight=self.llm_weight,
            calibration=base.rerank.calibration,
        )
        update = {"llm": llm, "rerank": rerank}
        if self.base_url:
            update["openai_base_url"] = self.base_url
        return base.model_copy(update=update)

    def backend_key(self) -> tuple:
        return (self.backend, self.gguf, self.model, self.base_url, self.timeout)


class Price(BaseModel):
    """US dollars per million tokens."""

    model_config = ConfigDict(extra="forbid")

    prompt: float = Field(ge=0)
    completion: float = Field(ge=0)


class LLMCaseResult(CaseResult):
    retriever_rank: int | None = Field(description="the target's rank before reranking")
    in_candidates: bool
    position: int | None = Field(None, description="sampled protocols: where the target was placed")
    new: bool | None = Field(None, description="conversational protocols: the target was not mentioned earlier")
    llm_called: bool = True
    llm_weight: float | None = None
    source: str = "retrieval"
    mode: str = "none"
    prompt: str | None = Field(None, description="template name@version#hash")
    model: str | None = None
    latency_ms: float = Field(0.0, description="time in the LLM backend for this case, all calls")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    attempts: int = 0
    checks: list[ReplyCheck] = Field(default_factory=list)
    error: str | None = None
    raw_output: str | None = None


class Backends:
    """One backend per (kind, model, server) for the whole run, each behind the response cache."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.cache = DiskCache(settings.data_dir / "evals" / "llm-cache.sqlite")
        self._made: dict[tuple, CachingBackend] = {}

    def get(self, spec: RerankSpec) -> CachingBackend:
        key = spec.backend_key()
        if key not in self._made:
            self._made[key] = CachingBackend(create_backend(spec.settings(self.settings)), self.cache)
        return self._made[key]


def reranker_for(spec: RerankSpec, backends: Backends) -> Reranker:
    """The variant's reranker; without an ``llm_weight`` it reads the calibration files a Recommender
    with the same settings reads (the user's, then the shipped one)."""
    s = spec.settings(backends.settings)
    calibration = Calibrations.load(calibration_paths(s.data_dir, s.rerank.calibration), spec.llm_weight)
    return Reranker(backends.get(spec), s.rerank, spec.temperature, spec.seed, calibration)


def target_rank(response: RecommendationResponse, target_id: str) -> int | None:
    for rec in response.recommendations:
        if rec.item_id == target_id:
            return rec.rank
    return None


def case_from_response(base: dict, response: RecommendationResponse, rank: int | None) -> LLMCaseResult:
    p = response.prompt
    top = [r.item_id for r in response.recommendations[:BEYOND_K]]  # the reranked list, not the one shown to it
    return LLMCaseResult(
        **{**base, "top": top},
        rank=rank,
        llm_called=response.attempts > 0,
        llm_weight=response.llm_weight,
        source=response.source,
        mode=response.mode,
        prompt=f"{p.name}@v{p.version}#{p.hash}" if p else None,
        model=response.model,
        latency_ms=response.llm_latency_ms,  # the backend's time, replayed from the cache on a re-run
        prompt_tokens=response.tokens.prompt_tokens,
        completion_tokens=response.tokens.completion_tokens,
        attempts=response.attempts,
        checks=response.checks,
        error=response.error,
        raw_output=response.raw_output,
    )


class RerankJob(BaseModel):
    """One case to rerank: the candidates in the order shown, and what the prompt says."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    base: dict  # the LLMCaseResult fields known before the call (variant, user, target, retriever_rank, ...)
    candidates: list[Candidate]
    history: str
    request: str = ""


def run_jobs(
    spec: RerankSpec,
    reranker: Reranker,
    jobs: Sequence[RerankJob],
    label: str,
    show_progress: bool = True,
    on_case: Callable[[LLMCaseResult], None] | None = None,
) -> list[LLMCaseResult]:
    """Rerank every job (bounded concurrency for hosted backends) and score the target's new rank."""
    workers = spec.concurrency if spec.backend == "openai" else 1
    results: list[LLMCaseResult | None] = [None] * len(jobs)
    lock = threading.Lock()

    def one(i: int) -> None:
        job = jobs[i]
        req = RerankRequest(candidates=job.candidates, history=job.history, request=job.request, k=len(job.candidates))
        response = reranker.rerank(req)
        case = case_from_response(job.base, response, target_rank(response, job.base["target"]))
        with lock:
            results[i] = case
        if on_case:
            on_case(case)

    with progress_bar(label, len(jobs), show_progress) as advance:
        if workers == 1:
            for i in range(len(jobs)):
                one(i)
                advance(1)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for fut in [pool.submit(one, i) for i in range(len(jobs))]:
                    fut.result()
                    advance(1)
    return [r for r in results if r is not None]


# --------------------------------------------------------------------------- metrics


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1) if values else 0.0


def llm_metrics(cases: Sequence[LLMCaseResult], prices: dict[str, Price] | None = None) -> dict:
    """What the LLM did, over the cases where it was called, and what reranking changed, over all cases."""
    called = [c for c in cases if c.llm_called]
    checks = [ch for c in called for ch in c.checks]
    returned = sum(ch.returned for ch in checks)
    latencies = [c.latency_ms for c in called]
    prompt_tokens = sum(c.prompt_tokens for c in called)
    completion_tokens = sum(c.completion_tokens for c in called)

    def change(c: LLMCaseResult) -> int:
        before = c.retriever_rank if c.retriever_rank is not None else 10**9
        after = c.rank if c.rank is not None else 10**9
        return (after < before) - (after > before)

    changes = [change(c) for c in cases]
    in_cands = [change(c) for c in cases if c.in_candidates]
    out = {
        "llm_cases": len(called),
        "calls": len(checks),
        "json_validity": round(sum(ch.valid for ch in checks) / len(checks), 4) if checks else None,
        "out_of_candidate_rate": round(sum(ch.out_of_candidate for ch in checks) / returned, 4) if returned else 0.0,
        "duplicate_rate": round(sum(ch.duplicates for ch in checks) / returned, 4) if returned else 0.0,
        "fallback_rate": round(sum(c.source == "fallback" for c in called) / len(called), 4) if called else 0.0,
        "latency_p50_ms": _pct(latencies, 50),
        "latency_p95_ms": _pct(latencies, 95),
        "prompt_tokens_mean": round(prompt_tokens / len(called), 1) if called else 0.0,
        "completion_tokens_mean": round(completion_tokens / len(called), 1) if called else 0.0,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "improved": round(changes.count(1) / len(changes), 4) if changes else 0.0,
        "kept": round(changes.count(0) / len(changes), 4) if changes else 0.0,
        "worsened": round(changes.count(-1) / len(changes), 4) if changes else 0.0,
        "improved_in_candidates": round(in_cands.count(1) / len(in_cands), 4) if in_cands else 0.0,
        "worsened_in_candidates": round(in_cands.count(-1) / len(in_cands), 4) if in_cands else 0.0,
    }
    models = {c.model for c in called if c.model}
    price = next((prices[m] for m in models if prices and m in prices), None)
    out["cost_usd"] = (
        round((prompt_tokens * price.prompt + completion_tokens * price.completion) / 1e6, 6) if price else None
    )
    return out
