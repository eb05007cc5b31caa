"""Eval runs are data: a YAML file names the protocol, the stage, the metrics and the variants."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from recagent.errors import ConfigError
from recagent.evals.conversational import ConversationalVariant
from recagent.evals.llm import Price, RerankSpec
from recagent.evals.metrics import parse_metric
from recagent.evals.protocols import PROTOCOLS
from recagent.evals.protocols.redial_chat import ChatReplayVariant
from recagent.evals.retrievers import RetrieverVariant


class Variant(RetrieverVariant):
    """A retriever, optionally followed by an LLM reranker (the ``rerank:`` block)."""

    rerank: RerankSpec | None = None
    users: int | None = Field(
        None, ge=1, description="loo: this variant on a seeded sample of this many of the run's users (slow LLM rows)"
    )


class DialogueVariant(ConversationalVariant):
    """A conversational protocol's variant: a dialogue retriever, optionally followed by an LLM reranker."""

    rerank: RerankSpec | None = None


VARIANT_TYPES = {
    "loo": Variant,
    "sampled": Variant,
    "conversational": DialogueVariant,
    "redial-chat": ChatReplayVariant,
}
AnyVariant = Annotated[Union[Variant, DialogueVariant, ChatReplayVariant], Field(union_mode="left_to_right")]


class EvalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    protocol: str
    stage: str = Field("test", pattern="^(valid|test)$", description="tune on valid, report test")
    metrics: list[str] | None = Field(None, description="default: the protocol's metrics")
    users: int | None = Field(None, ge=1, description="evaluate a seeded sample of this many users (or dialogues)")
    seed: int = 0
    positions: list[int] = Field(
        default_factory=lambda: [0, 5, 10, 15, 19],
        description="sampled protocols: where the target is placed among the candidates shown to the LLM",
    )
    prices: dict[str, Price] = Field(
        default_factory=dict, description="US dollars per million tokens, by model name, for the cost estimate"
    )
    variants: list[AnyVariant] = Field(min_length=1)

    @field_validator("protocol")
    @classmethod
    def _known_protocol(cls, v: str) -> str:
        if v not in PROTOCOLS:
            raise ValueError(f"unknown protocol {v!r} (known: {', '.join(PROTOCOLS)})")
        return v

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, v: list[str] | None) -> list[str] | None:
        for spec in v or []:
            parse_metric(spec)
        return v

    @model_validator(mode="before")
    @classmethod
    def _variants_of_the_protocol(cls, data):
        """Each protocol kind has its own retrievers: validate the variants with its variant model."""
        protocol = PROTOCOLS.get(data.get("protocol")) if isinstance(data, dict) else None
        if protocol is None or not isinstance(data.get("variants"), list):
            return data
        kind = VARIANT_TYPES[protocol.kind]
        variants = []
        for i, v in enumerate(data["variants"]):
            try:
                variants.append(kind.model_validate(v) if isinstance(v, dict) else v)
            except ValidationError as e:
                first = e.errors()[0]
                where = ".".join(str(x) for x in first["loc"])
                msg = first["msg"].removeprefix("Value error, ")
                raise ValueError(f"variants.{i}.{where}: {msg} (protocol {protocol.name})") from None
        return {**data, "variants": variants}

    @model_validator(mode="after")
    def _protocol_defaults(self) -> EvalConfig:
        protocol = PROTOCOLS[self.protocol]
        if self.metrics is None:
            self.metrics = list(protocol.metrics)
        if protocol.kind == "sampled":
            bad = [p for p in self.positions if not 0 <= p < protocol.candidates]
            if bad:
                raise ValueError(f"positions {bad} are outside the {protocol.candidates} candidates (0-based)")
        return self

    @field_validator("variants")
    @classmethod
    def _unique_names(cls, v: list[AnyVariant]) -> list[AnyVariant]:
        names = [x.name for x in v]
        if len(set(names)) != len(names):
            raise ValueError(f"variant names must be unique, got {names}")
        return v


def load_config(path: Path) -> EvalConfig:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: eval config not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: an eval config is a mapping with name, protocol and variants")
    try:
        return EvalConfig.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        msg = first["msg"].removeprefix("Value error, ")
        where = ".".join(str(x) for x in first["loc"])
        raise ConfigError(f"{path}: {where}: {msg}" if where else f"{path}: {msg}") from None
