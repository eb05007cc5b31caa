"""Compare two eval runs: metric deltas per variant, and a paired per-case test.

Variants are matched by name; ``pairs`` matches them explicitly (``[("hybrid", "hybrid+llm")]``),
which also compares two variants of one run. Cases are paired on (user, target, position),
so the per-case comparison (B better / same / worse, and a paired bootstrap interval of
the metric's difference) is only made on cases both runs scored. The beyond-accuracy metrics
(evals/beyond.py) are shown too: per-list ones (diversity, novelty, log-pop) with the same paired
interval, coverage (a property of all lists together) without one.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from pydantic import BaseModel

from recagent.errors import ConfigError
from recagent.evals.beyond import PER_LIST
from recagent.evals.metrics import parse_metric


class PairedResult(BaseModel):
    variant_a: str
    variant_b: str
    metrics: dict[str, tuple[float, float, float]]  # metric -> (a, b, b - a)
    beyond: dict[str, tuple[float, float, float]] = {}  # beyond-accuracy metric -> (a, b, b - a)
    beyond_ci95: dict[str, tuple[float, float] | None] = {}  # per-list ones: paired bootstrap of B - A over cases
    paired_cases: int
    b_better: int
    same: int
    b_worse: int
    metric: str  # the metric of the interval
    delta_ci95: tuple[float, float] | None


class Comparison(BaseModel):
    run_a: Path
    run_b: Path
    protocol_a: str
    protocol_b: str
    rows: list[PairedResult]

    def markdown(self) -> str:
        lines = [
            f"# {self.run_a.name} vs {self.run_b.name}",
            "",
            f"A: `{self.run_a}` ({self.protocol_a}); B: `{self.run_b}` ({self.protocol_b}).",
        ]
        if self.protocol_a != self.protocol_b:
            lines += ["", "**The runs use different protocols: their figures are not comparable.**"]
        for row in self.rows:
            lines += [
                "",
                f"## {row.variant_a} (A) vs {row.variant_b} (B)",
                "",
                "| metric | A | B | B - A |",
                "|---|---:|---:|---:|",
            ]
            for m, (a, b, d) in row.metrics.items():
                lines.append(f"| {m} | {a:.4f} | {b:.4f} | {d:+.4f} |")
            if row.paired_cases:
                ci = f"[{row.delta_ci95[0]:+.4f}, {row.delta_ci95[1]:+.4f}]" if row.delta_ci95 else "-"
                lines += [
                    "",
                    f"On {row.paired_cases} paired cases B ranks the target better in {row.b_better}, the same in "
                    f"{row.same}, worse in {row.b_worse}; {row.metric} difference, paired bootstrap 95% "
                    f"interval: {ci}.",
                ]
            if row.beyond:
                lines += [
                    "",
                    "Beyond accuracy (docs/evaluation.md; the interval: paired bootstrap over the paired cases):",
                    "",
                    "| metric | A | B | B - A | 95% interval |",
                    "|---|---:|---:|---:|---:|",
                ]
                lines += [
                    f"| {m} | {a:.4f} | {b:.4f} | {d:+.4f} | {format_ci(row.beyond_ci95.get(m))} |"
                    for m, (a, b, d) in row.beyond.items()
                ]
        return "\n".join(lines) + "\n"


def format_ci(ci: tuple[float, float] | None) -> str:
    return f"[{ci[0]:+.4f}, {ci[1]:+.4f}]" if ci else "-"


def _load(run: Path) -> tuple[dict, dict[str, dict[tuple, int | None]], dict[str, dict[tuple, dict]]]:
    run = Path(run)
    summary_path = run / "summary.json"
    if not summary_path.is_file():
        raise ConfigError(f"{run}: not an eval run (no summary.json); run `recagent eval run CONFIG --out DIR` first")
    summary = json.loads(summary_path.read_text())
    cases: dict[str, dict[tuple, int | None]] = {}
    beyond: dict[str, dict[tuple, dict]] = {}  # the per-list beyond-accuracy values of each case
    cases_path = run / "cases.jsonl"
    if cases_path.is_file():
        with cases_path.open() as f:
            for line in f:
                c = json.loads(line)
                key = (c["user"], c["target"], c.get("position"))
                cases.setdefault(c["variant"], {})[key] = c["rank"]
                if c.get("beyond"):
                    beyond.setdefault(c["variant"], {})[key] = c["beyond"]
    return summary, cases, beyond


def _pairs(a: dict, b: dict, pairs: list[tuple[str, str]] | None) -> list[tuple[str, str]]:
    if pairs:
        for va, vb in pairs:
            if va not in a["variants"]:
                raise ConfigError(f"run A has no variant {va!r} (has: {', '.join(a['variants'])})")
            if vb not in b["variants"]:
                raise ConfigError(f"run B has no variant {vb!r} (has: {', '.join(b['variants'])})")
        return pairs
    common = [v for v in a["variants"] if v in b["variants"]]
    if common:
        return [(v, v) for v in common]
    if len(a["variants"]) == 1 and len(b["variants"]) == 1:
        return [(next(iter(a["variants"])), next(iter(b["variants"])))]
    raise ConfigError("the runs share no variant name: say which to compare, e.g. --pair hybrid=hybrid+llm")


def beyond_deltas(a: dict, b: dict) -> dict[str, tuple[float, float, float]]:
    """The beyond-accuracy metrics both runs measured (runs written before them have none)."""
    keys = [m for m in a if m != "lists" and isinstance(a[m], (int, float)) and isinstance(b.get(m), (int, float))]
    return {m: (a[m], b[m], round(b[m] - a[m], 6)) for m in keys}


def beyond_intervals(ca: dict[tuple, dict], cb: dict[tuple, dict], metrics) -> dict[str, tuple[float, float] | None]:
    """A paired bootstrap 95% interval of B - A for each per-list metric, over the cases both measured."""
    keys = [key for key in ca if key in cb]
    out = {}
    for m in metrics:
        diffs = [cb[x][m] - ca[x][m] for x in keys if ca[x].get(m) is not None and cb[x].get(m) is not None]
        out[m] = bootstrap_ci(diffs)
    return out


def bootstrap_ci(diffs: list[float], n: int = 2000, seed: int = 0) -> tuple[float, float] | None:
    if len(diffs) < 2:
        return None
    rng = random.Random(seed)
    means = sorted(sum(rng.choices(diffs, k=len(diffs))) / len(diffs) for _ in range(n))
    return round(means[int(0.025 * n)], 5), round(means[int(0.975 * n) - 1], 5)


def compare(
    run_a: Path, run_b: Path, pairs: list[tuple[str, str]] | None = None, metric: str | None = None
) -> Comparison:
    a, cases_a, beyond_a = _load(run_a)
    b, cases_b, beyond_b = _load(run_b)
    rows = []
    for va, vb in _pairs(a, b, pairs):
        sa, sb = a["variants"][va], b["variants"][vb]
        shared = [m for m in sa if m in sb and "@" in m]
        chosen = metric or ("ndcg@10" if "ndcg@10" in shared else (shared[0] if shared else "ndcg@10"))
        fn, k = parse_metric(chosen)
        ca, cb = cases_a.get(va, {}), cases_b.get(vb, {})
        keys = [key for key in ca if key in cb]
        big = 10**9
        better = sum((cb[x] or big) < (ca[x] or big) for x in keys)
        worse = sum((cb[x] or big) > (ca[x] or big) for x in keys)
        diffs = [fn.fn(cb[x], k) - fn.fn(ca[x], k) for x in keys]
        beyond = beyond_deltas(a.get("beyond", {}).get(va, {}), b.get("beyond", {}).get(vb, {}))
        per_list = [m for m in beyond if m.split("@")[0] in PER_LIST]
        rows.append(
            PairedResult(
                variant_a=va,
                variant_b=vb,
                metrics={m: (sa[m], sb[m], round(sb[m] - sa[m], 6)) for m in shared},
                beyond=beyond,
                beyond_ci95=beyond_intervals(beyond_a.get(va, {}), beyond_b.get(vb, {}), per_list),
                paired_cases=len(keys),
                b_better=better,
                same=len(keys) - better - worse,
                b_worse=worse,
                metric=chosen,
                delta_ci95=bootstrap_ci(diffs),
            )
        )
    return Comparison(
        run_a=Path(run_a), run_b=Path(run_b), protocol_a=a["protocol"], protocol_b=b["protocol"], rows=rows
    )
