"""Structured output: what the LLM must produce, and what recagent returns.

The LLM's output is never trusted. The JSON schema sent to the backend restricts
``item_id`` to the candidate ids (an enum) and bounds the list and the
explanation length; the reply is still parsed and validated here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

EXPLANATION_MAX = 120


class Recommendation(BaseModel):
    item_id: str
    title: str
    rank: int = Field(ge=1)
    score: float
    explanation: str


class PromptInfo(BaseModel):
    name: str
    version: int
    hash: str


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
        )


class ReplyCheck(BaseModel):
    """What validation found in one LLM reply (the eval harness aggregates these)."""

    valid: bool = Field(description="parsed and usable (JSON of the right shape, or label log-probabilities)")
    returned: int = Field(0, description="items the reply named")
    out_of_candidate: int = Field(0, description="named items that are not candidates")
    duplicates: int = Field(0, description="items named more than once (repeats counted)")
    ungrounded: int = Field(
        0,
        description="explanations replaced: they named an item the user never mentioned, a genre or year untrue "
        "of the candidate, or something internal (an item id, a label, JSON, a template token)",
    )
    error: str | None = None
    stage: str | None = Field(
        None,
        description="which call this checks: None for the reranker's replies, 'understanding' for the message reading",
    )
    latency_ms: float | None = None


class ReplyNote(BaseModel):
    """One thing the chat's reply tells besides the picks, structured for clients (the load test reads these)."""

    kind: str = Field(description="relaxed, unresolved, ambiguous, conflict, person, reference, repeat or confirm")
    text: str


class RecommendationResponse(BaseModel):
    """What every recommend/chat call returns, from Python, the CLI or HTTP."""

    recommendations: list[Recommendation]
    source: Literal["llm", "fallback", "retrieval"] = Field(
        description="llm: ranked by the LLM; fallback: the LLM failed, retrieval order; retrieval: no LLM asked"
    )
    mode: Literal["generative", "scoring", "none"] = "none"
    prompt: PromptInfo | None = None
    backend: str | None = None
    model: str | None = None
    latency_ms: float = 0.0
    llm_latency_ms: float = 0.0
    tokens: Usage = Field(default_factory=Usage)
    attempts: int = 0
    error: str | None = Field(None, description="why the fallback was used")
    checks: list[ReplyCheck] = Field(default_factory=list, description="validation of each LLM reply, in order")
    raw_output: str | None = Field(
        None,
        exclude=True,
        description="the last invalid LLM reply, kept when the fallback was used: for the log and the eval "
        "reports (which read the attribute), never serialised, so no HTTP response, stream or stored turn shows it",
    )
    llm_weight: float | None = Field(
        None, description="the LLM score's weight in the fusion with retrieval (0: the LLM was not asked)"
    )
    calibration: str | None = Field(None, description="where that weight came from")
    message: str | None = Field(None, description="a short reply for chat")
    notes: list[ReplyNote] = Field(
        default_factory=list,
        description="what the reply tells besides the picks, one per note, as in `message`: a relaxed filter or "
        "request ('relaxed'), an unknown or ambiguous title, a contradiction, a question to confirm",
    )


# --------------------------------------------------------------------------- LLM output


class LLMPick(BaseModel):
    model_config = ConfigDict(extra="ignore")

    item_id: str
    explanation: str = ""


class LLMRanking(BaseModel):
    model_config = ConfigDict(extra="ignore")

    recommendations: list[LLMPick]


def ranking_schema(candidate_ids: list[str], k: int) -> dict:
    """JSON schema for the generative reranker: item_id is one of the candidates."""
    return {
        "type": "object",
        "properties": {
            "recommendations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "item_id": {"type": "string", "enum": list(candidate_ids)},
                        "explanation": {"type": "string", "maxLength": EXPLANATION_MAX},
                    },
                    "required": ["item_id", "explanation"],
                    "additionalProperties": False,
                },
                "minItems": 1,
                "maxItems": k,
            }
        },
        "required": ["recommendations"],
        "additionalProperties": False,
    }


class LLMExplanations(BaseModel):
    model_config = ConfigDict(extra="ignore")

    explanations: list[LLMPick]


def explanations_schema(item_ids: list[str]) -> dict:
    schema = ranking_schema(item_ids, len(item_ids))
    schema["properties"] = {"explanations": schema["properties"].pop("recommendations")}
    schema["required"] = ["explanations"]
    return schema
