"""LLM-written explanations for an already ranked list (the scoring mode ranks without words).

One call with the ``explanation`` template, validated like a ranking: only the given ids, one
bounded sentence each, none that leaks the system prompt. Any failure leaves the deterministic
explanations (:mod:`recagent.agent.explain`) in place; it never fails the response. The words are
then grounded against the catalog like every LLM-written explanation (:mod:`recagent.agent.grounding`).
"""

from __future__ import annotations

from pydantic import ValidationError

from recagent.agent.backends.base import ChatMessage, Completion, CompletionRequest, LLMBackend
from recagent.agent.prompt_budget import candidate_rows
from recagent.agent.safety import for_prompt, leaks
from recagent.agent.schema import LLMExplanations, ReplyCheck, explanations_schema
from recagent.agent.strategies import clean_picks
from recagent.agent.structured import CallStats, InvalidReply, StructuredCallError, call_structured
from recagent.prompts import load_template
from recagent.retrieval.base import Candidate


def _check(completion: Completion) -> tuple[LLMExplanations, ReplyCheck]:
    try:
        got = LLMExplanations.model_validate_json(completion.text)
    except ValidationError as e:
        raise InvalidReply(str(e), reason=f"explanations: {type(e).__name__}") from e
    return got, ReplyCheck(valid=True, returned=len(got.explanations))


def llm_explanations(
    backend: LLMBackend,
    cands: list[Candidate],
    stats: CallStats,
    *,
    domain: str,
    history: str,
    request: str,
    temperature: float = 0.0,
    seed: int = 0,
) -> dict[str, str]:
    """Explanation by item id for ``cands`` (possibly fewer; none when the call fails)."""
    prompt = load_template("explanation").render(
        domain=domain,
        history=for_prompt(history, 400),
        request=for_prompt(request, 300) or "(none)",
        items=candidate_rows(cands, labelled=False),
    )
    ids = [c.item_id for c in cands]
    call = CompletionRequest(
        messages=[ChatMessage(**m) for m in prompt.messages()],
        json_schema=explanations_schema(ids),
        max_tokens=24 + len(ids) * 40,
        temperature=temperature,
        seed=seed,
    )
    try:
        got = call_structured(
            backend,
            call,
            _check,
            stats,
            attempts=1,
            describe=lambda e: f"explanations: {type(e).__name__}",
            count_unanswered=False,
        )
    except StructuredCallError:
        return {}
    return {iid: text for iid, text in clean_picks(got.explanations, ids) if text and not leaks(text, prompt.system)}
