"""Assembling the reranker's response: recommendations, and what the LLM calls cost and reported.

Every response, whether the LLM ranked it, failed (``source="fallback"``) or was not asked
(``source="retrieval"``), carries the prompt's name, version and hash, the backend and model, the
latencies, the tokens, the attempts and one check per LLM reply, so an eval report can tell which
prompt produced which answer and how often replies were invalid.
"""

from __future__ import annotations

import time

from recagent.agent.backends.base import LLMBackend
from recagent.agent.explain import explain
from recagent.agent.schema import PromptInfo, Recommendation, RecommendationResponse
from recagent.agent.structured import CallStats
from recagent.retrieval.base import Candidate


def ranked_recommendations(
    ranked: list[str],
    by_id: dict[str, Candidate],
    scores: dict[str, float],
    words: dict[str, str],
    request: str | None,
) -> list[Recommendation]:
    """The ranked ids as recommendations: the fused score, the LLM's words or the deterministic ones."""
    return [
        Recommendation(
            item_id=iid,
            title=by_id[iid].title,
            rank=rank,
            score=round(scores.get(iid, 0.0), 6),
            explanation=words.get(iid) or explain(by_id[iid], request),
        )
        for rank, iid in enumerate(ranked, start=1)
    ]


def retrieval_recommendations(cands: list[Candidate], request: str | None) -> list[Recommendation]:
    """Retrieval's order and scores with deterministic explanations: the answer without the LLM."""
    return [
        Recommendation(
            item_id=c.item_id, title=c.title, rank=i, score=round(c.score, 6), explanation=explain(c, request)
        )
        for i, c in enumerate(cands, start=1)
    ]


def build_response(
    recs: list[Recommendation],
    source: str,
    mode: str,
    stats: CallStats,
    backend: LLMBackend | None,
    t0: float,
) -> RecommendationResponse:
    """The response for ``recs``, with the calls' prompt, model, latency, tokens, attempts and checks."""
    p = stats.prompt
    return RecommendationResponse(
        recommendations=recs,
        source=source,
        mode=mode,
        prompt=PromptInfo(name=p.name, version=p.version, hash=p.hash) if p else None,
        backend=backend.name if backend else None,
        model=stats.model or (backend.model if backend else None),
        latency_ms=round((time.perf_counter() - t0) * 1000, 2),
        llm_latency_ms=round(stats.llm_ms, 2),
        tokens=stats.usage,
        attempts=stats.attempts,
        checks=stats.checks,
    )
