"""Write an eval run: per-case JSONL, a summary JSON, a Markdown report and its plots.

Plots (matplotlib PNGs, written only when there is something to show):
``metrics.png`` metric bars per variant with the published anchors as reference lines,
``latency.png`` the distribution of per-case LLM latency per LLM variant, and
``position_bias.png`` the metric against the target's position among the candidates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from recagent.evals.beyond import BEYOND_K
from recagent.evals.protocols import Protocol

if TYPE_CHECKING:
    from recagent.evals.config import EvalConfig
    from recagent.evals.runs import RunData

LLM_COLUMNS = [
    ("json_validity", "JSON valid", "{:.1%}"),
    ("out_of_candidate_rate", "out-of-cand.", "{:.1%}"),
    ("duplicate_rate", "duplicates", "{:.1%}"),
    ("fallback_rate", "fallback", "{:.1%}"),
    ("latency_p50_ms", "p50 ms", "{:.0f}"),
    ("latency_p95_ms", "p95 ms", "{:.0f}"),
    ("prompt_tokens_mean", "prompt tok.", "{:.0f}"),
    ("completion_tokens_mean", "compl. tok.", "{:.1f}"),
    ("cost_usd", "cost $", "{:.4f}"),
    ("improved", "improved", "{:.1%}"),
    ("kept", "kept", "{:.1%}"),
    ("worsened", "worsened", "{:.1%}"),
]


def _plt():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # matplotlib is a dev extra: the tables are still written
        return None
    return plt


def grouped_bars(
    path: Path,
    values: dict[str, list[float]],
    labels: list[str],
    ylabel: str,
    title: str | None = None,
    target: tuple[float, str] | None = None,
    rotation: int = 20,
) -> Path | None:
    """One bar group per label, one bar per series of ``values`` (e.g. per reader or system), in [0, 1]."""
    plt = _plt()
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(9, 3.8))
    width = 0.8 / len(values)
    for i, (name, vals) in enumerate(values.items()):
        ax.bar([j + i * width for j in range(len(labels))], vals, width, label=name)
    if target is not None:
        ax.axhline(target[0], linestyle="--", color="grey", linewidth=1, label=target[1])
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(labels))], labels, rotation=rotation)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_run(out: Path, config: EvalConfig, protocol: Protocol, data: RunData, machine: str) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = {"cases": out / "cases.jsonl", "summary": out / "summary.json", "report": out / "report.md"}
    with files["cases"].open("w") as f:
        for case in data.cases:
            f.write(case.model_dump_json() + "\n")
    files["summary"].write_text(
        json.dumps(
            {
                "config": config.model_dump(mode="json"),
                "protocol": protocol.name,
                "stage": config.stage,
                "machine": machine,
                "variants": data.summary,
                "position_bias": data.position_bias,
                "dataset": data.dataset,
                "anchors": protocol.anchors,
                "beyond": data.beyond,
                "beyond_facts": data.facts.describe() if data.facts is not None else {},
            },
            indent=2,
        )
    )
    plots = {
        "plot": plot_metrics(out / "metrics.png", config, data.summary, protocol),
        "latency_plot": plot_latency(out / "latency.png", data),
        "position_plot": plot_position_bias(out / "position_bias.png", config, data),
    }
    files.update({k: v for k, v in plots.items() if v})
    files["report"].write_text(markdown(config, protocol, data, machine, plots))
    return files


def _fmt(value, pattern: str) -> str:
    if value is None:
        return "local" if pattern.startswith("{:.4f}") else "-"
    return pattern.format(value)


def reported_metrics(config: EvalConfig, summary: dict[str, dict]) -> list[str]:
    """The config's metrics, then their ``new/`` twins (conversational protocols) when every variant has them."""
    twins = [f"new/{m}" for m in config.metrics if summary and all(f"new/{m}" in v for v in summary.values())]
    return list(config.metrics) + twins


def metrics_table(metrics: list[str], summary: dict[str, dict]) -> list[str]:
    lines = [
        "| variant | " + " | ".join(metrics) + " | users | seconds |",
        "|---|" + "---:|" * (len(metrics) + 2),
    ]
    best = {m: max(v[m] for v in summary.values()) for m in metrics}
    for name, values in summary.items():
        cells = [f"**{values[m]:.4f}**" if values[m] == best[m] else f"{values[m]:.4f}" for m in metrics]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {values['users']} | {values['seconds']} |")
    return lines


BEYOND_COLUMNS = [  # (key without @k, header); novelty and log-pop get the catalog's mean beside them
    ("ild_genres", "ILD genres"),
    ("ild_embeddings", "ILD embeddings"),
    ("coverage", "coverage"),
    ("pool_coverage", "pool coverage"),
    ("novelty", "novelty (bits)"),
    ("log_pop", "log-pop"),
]


def beyond_table(beyond: dict[str, dict], k: int = BEYOND_K) -> list[str]:
    """One row per variant; a column only when some variant has it; the catalog's means as the last row."""
    cols = [(f"{key}@{k}", head) for key, head in BEYOND_COLUMNS if any(f"{key}@{k}" in v for v in beyond.values())]
    lines = [
        "| variant | " + " | ".join(head for _, head in cols) + " | lists |",
        "|---|" + "---:|" * (len(cols) + 1),
    ]
    for name, v in beyond.items():
        cells = ["-" if v.get(key) is None else f"{v[key]:.4f}" for key, _ in cols]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {v['lists']} |")
    first = next(iter(beyond.values()))
    catalog = {f"novelty@{k}": first["catalog_novelty"], f"log_pop@{k}": first["catalog_log_pop"]}
    cells = [f"{catalog[key]:.4f}" if key in catalog else "" for key, _ in cols]
    lines.append("| *(catalog mean)* | " + " | ".join(cells) + " | |")
    return lines


def beyond_section(data: RunData) -> list[str]:
    facts = data.facts.describe() if data.facts is not None else {}
    return [
        f"## Beyond accuracy (top {BEYOND_K})",
        "",
        "Intra-list diversity (mean pairwise Jaccard distance of genre sets; mean pairwise cosine distance of the "
        "items' text vectors), catalog coverage (distinct items recommended / catalog size; pool coverage: over "
        "the candidates the system could choose from), novelty (mean -log2 of an item's add-one smoothed share "
        "of the popularity counts) and log-pop (mean ln(1 + count)), beside the catalog's mean: a log-pop above "
        "it, or a novelty below it, is a popularity bias. Lists: one per case occasion (ReDial turns that "
        "suggest several films count once). See docs/evaluation.md.",
        "",
        f"Popularity: {facts.get('popularity', '-')}. Genres: {facts.get('genres', '-')}.",
        "",
        *beyond_table(data.beyond),
    ]


def llm_table(summary: dict[str, dict]) -> list[str]:
    llm = {n: v for n, v in summary.items() if "json_validity" in v}
    if not llm:
        return []
    lines = [
        "| LLM variant | cases | calls | " + " | ".join(c[1] for c in LLM_COLUMNS) + " |",
        "|---|---:|---:|" + "---:|" * len(LLM_COLUMNS),
    ]
    for name, v in llm.items():
        cells = [_fmt(v.get(key), pattern) for key, _, pattern in LLM_COLUMNS]
        lines.append(f"| {name} | {v['llm_cases']} | {v['calls']} | " + " | ".join(cells) + " |")
    return lines


def dataset_line(stats: dict[str, int]) -> str:
    return ", ".join(f"{v:,} {k}" for k, v in stats.items())


def markdown(config: EvalConfig, protocol: Protocol, data: RunData, machine: str, plots: dict) -> str:
    lines = [
        f"# {config.name}",
        "",
        f"Protocol **{protocol.name}** ({config.stage} targets): {protocol.description}.",
        *([f"Dataset: {dataset_line(data.dataset)}."] if data.dataset else []),
        f"Machine: {machine}.",
        "",
        *metrics_table(reported_metrics(config, data.summary), data.summary),
    ]
    if data.beyond:
        lines += ["", *beyond_section(data)]
    if data.notes:
        lines += ["", *data.notes]
    if protocol.anchors and config.stage == "test":
        lines += ["", "Published results on this protocol, for reference:", ""]
        for system, values in protocol.anchors.items():
            lines.append(f"- {system}: " + ", ".join(f"{k} {v}" for k, v in values.items()))
    if plots.get("plot"):
        lines += ["", f"![metrics]({plots['plot'].name})"]
    table = llm_table(data.summary)
    if table:
        lines += [
            "",
            "## What the LLM did",
            "",
            "Rates are over the LLM's replies (JSON valid, out-of-candidate and duplicate items among the items "
            "named) or over the cases it was called for (fallback, latency: time in the backend per case, "
            "tokens per case). Improved / kept / worsened compare the target's rank after reranking with the "
            "retriever's (or, in sampled protocols, with the order shown), over all cases. Cost uses the "
            "config's price table; local models cost nothing.",
            "",
            *table,
        ]
        if plots.get("latency_plot"):
            lines += ["", f"![latency]({plots['latency_plot'].name})"]
    if data.position_bias:
        metrics = config.metrics
        lines += [
            "",
            "## Position bias",
            "",
            "The target placed at each position among the candidates shown; an unbiased ranker scores the "
            "same at every position. '(order shown)' is a ranker that keeps the order it is given.",
            "",
            "| variant | position | " + " | ".join(metrics) + " |",
            "|---|---:|" + "---:|" * len(metrics),
        ]
        for name, by_pos in data.position_bias.items():
            for pos, values in by_pos.items():
                lines.append(f"| {name} | {pos} | " + " | ".join(f"{values[m]:.4f}" for m in metrics) + " |")
        if plots.get("position_plot"):
            lines += ["", f"![position bias]({plots['position_plot'].name})"]
    return "\n".join(lines) + "\n"


def plot_metrics(path: Path, config: EvalConfig, summary: dict, protocol: Protocol) -> Path | None:
    plt = _plt()
    if plt is None or not summary:
        return None
    available = reported_metrics(config, summary)
    wanted = [m for m in ("ndcg@10", "recall@10", "new/recall@10") if m in available] or available[:2]
    fig, axes = plt.subplots(1, len(wanted), figsize=(5 * len(wanted), 3.8), squeeze=False)
    names = list(summary)
    for ax, metric in zip(axes[0], wanted):
        colors = ["#DD8452" if "json_validity" in summary[n] else "#4C72B0" for n in names]
        ax.bar(names, [summary[n][metric] for n in names], color=colors)
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
            if any(metric in v for v in protocol.anchors.values()):
                ax.legend(fontsize=7, loc="upper left", ncol=3)
        # headroom above the tallest bar or anchor, so the legend covers no bar
        tops = [summary[n][metric] for n in names] + [v[metric] for v in protocol.anchors.values() if metric in v]
        ax.set_ylim(0, max(max(tops) * 1.35, 1e-3))
        ax.set_title(f"{metric} ({protocol.name}, {config.stage})")
        ax.tick_params(axis="x", rotation=20)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_latency(path: Path, data: RunData) -> Path | None:
    plt = _plt()
    by_variant: dict[str, list[float]] = {}
    for case in data.cases:
        if getattr(case, "llm_called", False):
            by_variant.setdefault(case.variant, []).append(case.latency_ms / 1000)
    if plt is None or not by_variant:
        return None
    fig, ax = plt.subplots(figsize=(1.6 + 1.8 * len(by_variant), 3.8))
    names = list(by_variant)
    ax.boxplot([by_variant[n] for n in names], showfliers=True)
    ax.set_xticks(range(1, len(names) + 1), names, rotation=15)
    ax.set_ylabel("seconds in the LLM per case")
    ax.set_title("LLM latency per case")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_position_bias(path: Path, config: EvalConfig, data: RunData) -> Path | None:
    plt = _plt()
    if plt is None or not data.position_bias:
        return None
    metric = "ndcg@10" if "ndcg@10" in config.metrics else config.metrics[0]
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for name, by_pos in data.position_bias.items():
        xs = [int(p) for p in by_pos]
        style = {"linestyle": ":", "color": "grey"} if name.startswith("(") else {"marker": "o"}
        ax.plot(xs, [by_pos[p][metric] for p in by_pos], label=name, **style)
    flat = {n: v[metric] for n, v in data.summary.items() if "json_validity" not in v and metric in v}
    for i, (name, value) in enumerate(flat.items()):
        ax.axhline(value, linestyle="--", linewidth=1, color=f"C{i + 4}", label=f"{name} (no LLM)")
    ax.set_xlabel("position of the target among the candidates shown (0 = first)")
    ax.set_ylabel(metric)
    ax.set_title(f"Position bias ({config.protocol})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
