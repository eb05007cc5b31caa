"""Run an eval config: load the protocol's data, split it, evaluate every variant, write the run."""

from __future__ import annotations

import os
import platform
import random
from pathlib import Path

from pydantic import BaseModel

from evals.config import EvalConfig
from evals.protocols import get_protocol
from evals.protocols.loo import split_leave_one_out
from evals.report import write_run
from evals.retrievers import evaluate
from recagent.machine import cpu_name
from recagent.settings import Settings
from retrieval.embeddings import Embedder


def describe_machine() -> str:
    return f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}"


class RunResult(BaseModel):
    name: str
    protocol: str
    stage: str
    out: Path
    summary: dict[str, dict[str, float]]
    files: dict[str, Path]


def run(config: EvalConfig, settings: Settings, out: Path, show_progress: bool = True) -> RunResult:
    protocol = get_protocol(config.protocol)
    dataset = protocol.load(settings.shared_data)  # DatasetMissing when absent
    split = split_leave_one_out(dataset.interactions)
    users = sorted(split.test)
    if config.users is not None and config.users < len(users):
        users = sorted(random.Random(config.seed).sample(users, config.users))
    summary, cases = evaluate(
        split,
        config.stage,
        config.variants,
        config.metrics,
        settings.data_dir / "evals",
        Embedder(settings.embedding_model, settings.embedding_batch_size),
        users=users,
        show_progress=show_progress,
    )
    machine = describe_machine()
    files = write_run(Path(out), config, protocol, summary, cases, machine)
    return RunResult(
        name=config.name, protocol=protocol.name, stage=config.stage, out=Path(out), summary=summary, files=files
    )
