"""Eval runs are data: a YAML file names the protocol, the stage, the metrics and the variants."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evals.metrics import parse_metric
from evals.protocols import PROTOCOLS
from evals.retrievers import RetrieverVariant
from recagent.errors import ConfigError

DEFAULT_METRICS = ["recall@5", "recall@10", "recall@20", "ndcg@5", "ndcg@10", "ndcg@20", "mrr@10"]


class EvalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    protocol: str
    stage: str = Field("test", pattern="^(valid|test)$", description="tune on valid, report test")
    metrics: list[str] = Field(default_factory=lambda: list(DEFAULT_METRICS))
    users: int | None = Field(None, ge=1, description="evaluate a seeded sample of this many users")
    seed: int = 0
    variants: list[RetrieverVariant] = Field(min_length=1)

    @field_validator("protocol")
    @classmethod
    def _known_protocol(cls, v: str) -> str:
        if v not in PROTOCOLS:
            raise ValueError(f"unknown protocol {v!r} (known: {', '.join(PROTOCOLS)})")
        return v

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, v: list[str]) -> list[str]:
        for spec in v:
            parse_metric(spec)
        return v

    @field_validator("variants")
    @classmethod
    def _unique_names(cls, v: list[RetrieverVariant]) -> list[RetrieverVariant]:
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
        where = ".".join(str(x) for x in first["loc"]) or "config"
        raise ConfigError(f"{path}: {where}: {first['msg']}") from None
