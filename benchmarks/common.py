"""Shared pieces of the benchmark scripts: figures, timing, machine facts, report files."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from recagent.machine import cpu_name, proc_field

WARMUP = 5  # untimed calls before each latency loop


# --------------------------------------------------------------------------- figures and timing


@dataclass
class Figure:
    """One measured figure. ``target`` bounds p50 from above (from below when ``higher_is_better``)."""

    section: str
    metric: str
    n: int
    p50: float
    p95: float | None
    unit: str = "ms"
    target: float | None = None
    higher_is_better: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.p50 >= self.target if self.higher_is_better else self.p50 < self.target

    def target_text(self) -> str:
        if self.target is None:
            return ""
        return f"{'≥' if self.higher_is_better else '<'} {fmt(self.target, self.unit)} (p50)"

    def as_dict(self) -> dict:
        return {**asdict(self), "met": self.met}


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "items/s":
        return f"{value:,.0f} items/s"
    return f"{value:.3g} {unit}" if value < 100 else f"{value:,.0f} {unit}"


def percentiles(samples: list[float]) -> tuple[float, float]:
    arr = np.asarray(samples)
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 95))


def time_calls(call: Callable[[int], object], n: int, warmup: int = WARMUP) -> dict:
    """Time ``call(i)`` for i in range(warmup + n), dropping the warm-up calls. Milliseconds.

    The call index lets a benchmark vary its input per call (other users, uncached texts).
    """
    for i in range(warmup):
        call(i)
    samples = []
    for i in range(warmup, warmup + n):
        t0 = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - t0) * 1000)
    p50, p95 = percentiles(samples)
    return {"n": n, "p50": p50, "p95": p95, "mean": statistics.fmean(samples), "max": max(samples)}


class Report:
    def __init__(self) -> None:
        self.figures: list[Figure] = []
        self.notes: list[str] = []

    def add(self, fig: Figure) -> Figure:
        self.figures.append(fig)
        met = "" if fig.met is None else ("  ✓ target met" if fig.met else "  ✗ target MISSED")
        spread = "" if fig.p95 is None else f"  p95 {fmt(fig.p95, fig.unit)}"
        print(f"  {fig.metric:<52} n={fig.n:<5} p50 {fmt(fig.p50, fig.unit)}{spread}{met}", flush=True)
        return fig

    def latency(
        self,
        section: str,
        metric: str,
        call: Callable[[int], object],
        n: int,
        warmup: int = WARMUP,
        target_ms: float | None = None,
    ) -> Figure:
        t = time_calls(call, n, warmup)
        extra = {"mean": t["mean"], "max": t["max"], "warmup": warmup}
        return self.add(Figure(section, metric, t["n"], t["p50"], t["p95"], "ms", target_ms, extra=extra))

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)


def heading(title: str) -> None:
    print(f"\n== {title}", flush=True)


# --------------------------------------------------------------------------- machine


def machine_info() -> dict:
    uname = platform.uname()
    mem_kb = proc_field("/proc/meminfo", "MemTotal")
    info = {
        "cpu": cpu_name(),
        "uname": f"{uname.system} {uname.release} {uname.machine}",
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "ram_gib": round(int(mem_kb.split()[0]) / 2**20, 1) if mem_kb else None,
        "python": platform.python_version(),
    }
    info["libraries"] = _versions(
        "numpy", "scipy", "chromadb", "implicit", "torch", "sentence_transformers", "llama_cpp_python"
    )
    return info


def _versions(*modules: str) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for m in modules:
        try:
            out[m] = version(m.replace("_", "-"))
        except PackageNotFoundError:
            out[m] = "not installed"
    return out


def print_machine(info: dict) -> None:
    print("Machine")
    print(f"  cpu      {info['cpu']}")
    print(f"  uname    {info['uname']}")
    usable = "" if info["cpus_usable"] in (None, info["cpu_count"]) else f" ({info['cpus_usable']} usable)"
    print(f"  cores    {info['cpu_count']}{usable}")
    print(f"  ram      {info['ram_gib']} GiB")
    print(f"  python   {info['python']}")
    print("  libs     " + ", ".join(f"{k} {v}" for k, v in info["libraries"].items()))


# --------------------------------------------------------------------------- output


def markdown_table(figures: list[Figure]) -> str:
    lines = ["| metric | n | p50 | p95 | target | met? |", "|---|---:|---:|---:|---|:---:|"]
    for f in figures:
        met = "" if f.met is None else ("yes" if f.met else "**no**")
        cells = [f"{f.section}: {f.metric}", str(f.n), fmt(f.p50, f.unit), fmt(f.p95, f.unit), f.target_text(), met]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_latencies(figures: list[Figure], path: Path, title: str = "recagent latency") -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"  matplotlib is not installed; no chart written to {path}")
        return False
    lat = [f for f in figures if f.unit == "ms" and f.p95 is not None]
    if not lat:
        return False
    labels = [f"{f.section}: {f.metric}" for f in lat]
    y = np.arange(len(lat))
    fig, ax = plt.subplots(figsize=(11, 0.45 * len(lat) + 1.5))
    ax.barh(y - 0.2, [f.p50 for f in lat], height=0.4, label="p50")
    ax.barh(y + 0.2, [f.p95 for f in lat], height=0.4, label="p95")
    for i, f in enumerate(lat):
        if f.target is not None:
            ax.plot([f.target, f.target], [i - 0.45, i + 0.45], color="red", linewidth=1.5)
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms, log scale); red ticks: p50 targets")
    ax.set_title(title)
    ax.legend(loc="lower right")
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def write_results(out: Path, report: Report, machine: dict, config: dict, name: str = "retrieval") -> None:
    """Write NAME_bench.md, NAME_bench.json and NAME_latency.png under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    table = markdown_table(report.figures)
    title = f"# {name.capitalize()} benchmark" + (" (quick)" if config.get("quick") else "")
    machine_line = (
        f"{machine['cpu']}, {machine['cpu_count']} cores, {machine['ram_gib']} GiB RAM, Python {machine['python']}"
    )
    notes = "".join(f"- {n}\n" for n in report.notes)
    (out / f"{name}_bench.md").write_text(f"{title}\n\n{machine_line}\n\n{table}\n\n{notes}")
    payload = {
        "machine": machine,
        "config": config,
        "figures": [f.as_dict() for f in report.figures],
        "notes": report.notes,
    }
    (out / f"{name}_bench.json").write_text(json.dumps(payload, indent=2, default=str))
    plotted = plot_latencies(report.figures, out / f"{name}_latency.png", f"recagent {name} latency")
    print(
        f"\nwrote {out / f'{name}_bench.md'}, {out / f'{name}_bench.json'}"
        + (f", {out / f'{name}_latency.png'}" if plotted else "")
    )
