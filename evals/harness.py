"""Run an eval config: load the protocol's data, split it, evaluate every variant, write the run."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from pydantic import BaseModel

from recagent.evals.beyond import annotate_cases, beyond_summary
from recagent.evals.config import EvalConfig
from recagent.evals.protocols import get_protocol
from recagent.evals.report import write_run
from recagent.evals.runs import RUNNERS
from recagent.machine import cpu_name
from recagent.settings import Settings


def describe_machine() -> str:
    return f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}"


class RunResult(BaseModel):
    name: str
    protocol: str
    stage: str
    out: Path
    summary: dict[str, dict]
    beyond: dict[str, dict] = {}  # variant -> diversity, coverage, novelty, popularity of its top-k lists
    dataset: dict[str, int] = {}  # users, items, interactions of the protocol's data (ratings protocols)
    files: dict[str, Path]


def run(config: EvalConfig, settings: Settings, out: Path, show_progress: bool = True) -> RunResult:
    protocol = get_protocol(config.protocol)
    data = RUNNERS[protocol.kind](config, protocol, settings, show_progress)  # DatasetMissing when absent
    if data.facts is not None:
        data.beyond = beyond_summary(data.cases, data.facts)
        annotate_cases(data.cases, data.facts)
    files = write_run(Path(out), config, protocol, data, describe_machine())
    return RunResult(
        name=config.name,
        protocol=protocol.name,
        stage=config.stage,
        out=Path(out),
        summary=data.summary,
        beyond=data.beyond,
        dataset=data.dataset,
        files=files,
    )
