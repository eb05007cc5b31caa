"""Write an eval run: per-case JSONL, a summary JSON, a Markdown report and a metrics plot."""

from __future__ import annotations

import json
from pathlib import Path

from evals.config import EvalConfig
from evals.protocols import Protocol
from evals.retrievers import CaseResult


def write_run(
    out: Path, config: EvalConfig, protocol: Protocol, summary: dict, cases: list[CaseResult], machine: str
) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = {"cases": out / "cases.jsonl", "summary": out / "summary.json", "report": out / "report.md"}
    with files["cases"].open("w") as f:
        for case in cases:
            f.write(case.model_dump_json() + "\n")
    files["summary"].write_text(
        json.dumps(
            {
                "config": config.model_dump(mode="json"),
                "protocol": protocol.name,
                "stage": config.stage,
                "machine": machine,
                "variants": summary,
                "anchors": protocol.anchors,
            },
            indent=2,
        )
    )
    plot = plot_metrics(out / "metrics.png", config, summary, protocol)
    if plot:
        files["plot"] = plot
    files["report"].write_text(markdown(config, protocol, summary, machine, plot))
    return files


def markdown(config: EvalConfig, protocol: Protocol, summary: dict, machine: str, plot: Path | None) -> str:
    metrics = config.metrics
    lines = [
        f"# {config.name}",
        "",
        f"Protocol **{protocol.name}** ({config.stage} targets): {protocol.description}.",
        f"Machine: {machine}.",
        "",
        "| variant | " + " | ".join(metrics) + " | users | seconds |",
        "|---|" + "---:|" * (len(metrics) + 2),
    ]
    best = {m: max(v[m] for v in summary.values()) for m in metrics}
    for name, values in summary.items():
        cells = [f"**{values[m]:.4f}**" if values[m] == best[m] else f"{values[m]:.4f}" for m in metrics]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {values['users']} | {values['seconds']} |")
    if protocol.anchors and config.stage == "test":
        lines += ["", "Published results on this protocol, for reference:", ""]
        for system, values in protocol.anchors.items():
            lines.append(f"- {system}: " + ", ".join(f"{k} {v}" for k, v in values.items()))
    if plot:
        lines += ["", f"![metrics]({plot.name})"]
    return "\n".join(lines) + "\n"


def plot_metrics(path: Path, config: EvalConfig, summary: dict, protocol: Protocol) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    shown = [m for m in ("ndcg@10", "recall@10") if m in config.metrics] or config.metrics[:2]
    fig, axes = plt.subplots(1, len(shown), figsize=(5 * len(shown), 3.8), squeeze=False)
    names = list(summary)
    for ax, metric in zip(axes[0], shown):
        ax.bar(names, [summary[n][metric] for n in names], color="#4C72B0")
        if config.stage == "test":
            for i, (system, values) in enumerate(protocol.anchors.items()):
                if metric in values:
                    ax.axhline(
                        values[metric],
                        linestyle="--",
                        color=f"C{i + 1}",
                        linewidth=1,
                        label=f"{system} {values[metric]}",
                    )
            if protocol.anchors:
                ax.legend(fontsize=7, loc="upper left")
        ax.set_title(f"{metric} ({protocol.name}, {config.stage})")
        ax.tick_params(axis="x", rotation=20)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
