"""Calibrate the LLM's fusion weight on validation data: ``recagent eval calibrate CONFIG``.

For each LLM variant of a ``stage: valid`` config, the protocol's cases are reranked at every
weight of a grid that includes 0 (``(1 - w) x retrieval + w x LLM``; at 0 the LLM is not called).
The LLM is really called once per case: every other weight replays its replies from the harness's
response cache. The weight with the best main metric wins (ties go to the smaller weight), and is
written, with the whole grid and each weight's paired bootstrap interval against weight 0, to a
calibration file that ``Recommender`` reads (``recagent.agent.calibration``).
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from recagent.agent.calibration import CalibrationEntry, CalibrationFile, GridPoint
from recagent.errors import ConfigError
from recagent.evals.compare import bootstrap_ci
from recagent.evals.config import EvalConfig
from recagent.evals.llm import Backends, reranker_for
from recagent.evals.metrics import parse_metric
from recagent.evals.protocols import get_protocol
from recagent.evals.runs import RUNNERS
from recagent.settings import Settings

GRID = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)


class CalibrateResult(BaseModel):
    path: Path
    entries: list[CalibrationEntry]


def main_metric(kind: str) -> str:
    """The metric a protocol kind is judged by: NDCG@10 on histories, new-item Recall@10 in dialogues
    (the LLM only reranks new items there)."""
    return "new/recall@10" if kind == "conversational" else "ndcg@10"


def per_case(cases: list, metric: str) -> list[float]:
    only_new = metric.startswith("new/")
    fn, k = parse_metric(metric.removeprefix("new/"))
    return [fn.fn(c.rank, k) for c in cases if not only_new or c.new]


def sweep_name(variant: str, weight: float) -> str:
    return f"{variant} w={weight:g}"


def calibrate(
    config: EvalConfig,
    settings: Settings,
    out: Path | None = None,
    grid: tuple[float, ...] = GRID,
    metric: str | None = None,
    run_out: Path | None = None,
    show_progress: bool = True,
) -> CalibrateResult:
    if config.stage != "valid":
        raise ConfigError(f"{config.name}: calibrate on the validation stage (stage: valid), never on test")
    protocol = get_protocol(config.protocol)
    if protocol.kind not in ("loo", "conversational"):
        raise ConfigError(f"{protocol.name}: calibration needs a protocol with retrieval scores and a validation stage")
    llm_variants = [v for v in config.variants if v.rerank is not None]
    if not llm_variants:
        raise ConfigError(f"{config.name}: no variant has a rerank block to calibrate")
    grid = tuple(sorted({0.0, *grid}))
    # the smallest non-zero weight first: it pays the LLM calls, the others replay them from the cache
    order = [w for w in grid if w > 0] + [0.0]
    swept = [
        v.model_copy(update={"name": sweep_name(v.name, w), "rerank": v.rerank.model_copy(update={"llm_weight": w})})
        for v in llm_variants
        for w in order
    ]
    cfg = config.model_copy(update={"variants": swept})
    data = RUNNERS[protocol.kind](cfg, protocol, settings, show_progress)
    metric = metric or main_metric(protocol.kind)
    by_variant: dict[str, list] = {}
    for c in data.cases:
        by_variant.setdefault(c.variant, []).append(c)

    path = Path(out or settings.data_dir / "calibration.json")
    file = CalibrationFile.read(path)
    backends = Backends(settings)
    entries = []
    for v in llm_variants:
        base = per_case(by_variant[sweep_name(v.name, 0.0)], metric)
        points = []
        for w in grid:
            cases = by_variant[sweep_name(v.name, w)]
            values = per_case(cases, metric)
            diffs = [b - a for a, b in zip(base, values)]
            mean = sum(values) / len(values) if values else 0.0
            ci = (0.0, 0.0) if w == 0 else bootstrap_ci(diffs)
            points.append(GridPoint(weight=w, metric=round(mean, 6), delta_ci95=ci))
        best = max(points, key=lambda p: (round(p.metric, 9), -p.weight))  # ties: the smaller weight
        key = reranker_for(v.rerank, backends).calibration_key(v.rerank.mode)
        reranked = by_variant[sweep_name(v.name, grid[-1])]
        entry = CalibrationEntry(
            **key.model_dump(),
            weight=best.weight,
            protocol=protocol.name,
            stage=config.stage,
            metric_name=metric,
            cases=len(base),
            llm_cases=sum(c.llm_called for c in reranked),
            candidates=v.rerank.candidates,
            bootstrap=v.rerank.bootstrap,
            grid=points,
            config=config.name,
        )
        file.upsert(entry)
        entries.append(entry)
    file.write(path)
    if run_out is not None:
        write_sweep(Path(run_out), config, protocol.name, data, entries)
    return CalibrateResult(path=path, entries=entries)


def write_sweep(folder: Path, config: EvalConfig, protocol: str, data, entries: list[CalibrationEntry]) -> None:
    """The sweep's cases, its calibration entries, a Markdown table and a plot of metric against weight."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "cases.jsonl").open("w") as f:
        for c in data.cases:
            f.write(c.model_dump_json() + "\n")
    (folder / "calibration.json").write_text(
        json.dumps([e.model_dump(mode="json") for e in entries], indent=1) + "\n", encoding="utf-8"
    )
    lines = [f"# Calibration: {config.name} ({protocol}, {config.stage})", ""]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for e in entries:
        lines += [
            f"**{e.mode}**, model `{e.model}`, template `{e.template}`: {e.cases} cases, the LLM asked for "
            f"{e.llm_cases}; chosen weight **{e.weight:g}** by {e.metric_name}.",
            "",
            f"| weight | {e.metric_name} | difference from weight 0, paired bootstrap 95% interval |",
            "|---:|---:|---|",
        ]
        for p in e.grid:
            ci = f"[{p.delta_ci95[0]:+.4f}, {p.delta_ci95[1]:+.4f}]" if p.delta_ci95 else "-"
            lines.append(f"| {p.weight:g} | {p.metric:.4f} | {ci} |")
        lines.append("")
        ax.plot([p.weight for p in e.grid], [p.metric for p in e.grid], marker="o", label=e.mode)
    ax.set_xlabel("LLM weight w: (1 - w) retrieval + w LLM")
    ax.set_ylabel(entries[0].metric_name if entries else "metric")
    ax.set_title(f"{protocol} validation")
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "calibration.png", dpi=120)
    plt.close(fig)
    lines.append("![metric against weight](calibration.png)")
    (folder / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
