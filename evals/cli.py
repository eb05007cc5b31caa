"""``recagent eval``: run eval configs, calibrate the LLM's weight, compare runs, score the readers and
the critique probes. A sub-app of the ``recagent`` command line; the library never imports it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from recagent.cli.common import DataDirOpt, JsonOpt, err, handle_errors, make_settings, out, print_json
from recagent.errors import ConfigError

eval_app = typer.Typer(
    help="Evaluate retrievers, prompts and models on named protocols, and compare runs.", no_args_is_help=True
)


@eval_app.command("run")
@handle_errors
def eval_run(
    config: Annotated[Path, typer.Argument(help="an eval config (YAML), e.g. evals/configs/demo.yaml")],
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="run folder (default: eval-runs/NAME)")] = None,
    users: Annotated[
        Optional[int], typer.Option("--users", min=1, help="override the config: a seeded sample of this many users")
    ] = None,
    data_dir: DataDirOpt = None,
    shared_data: Annotated[Optional[Path], typer.Option("--shared-data", help="where ml-100k and ReDial live")] = None,
    json_out: JsonOpt = False,
):
    """Run an eval config; write cases.jsonl, summary.json, report.md and its plots.

    LLM replies are cached under the data dir: re-running an unchanged config is fast and gives the
    same numbers, and an interrupted run resumes where it stopped.
    """
    import re

    from recagent.evals.config import load_config
    from recagent.evals.harness import run
    from recagent.evals.protocols import DatasetMissing

    cfg = load_config(config)
    if users is not None:
        cfg = cfg.model_copy(update={"users": users})
    settings = make_settings(data_dir=data_dir)
    if shared_data is not None:
        settings = settings.model_copy(update={"shared_data": shared_data})
    folder = out_dir or Path("eval-runs") / re.sub(r"[^a-zA-Z0-9._-]+", "-", cfg.name).strip("-")
    try:
        result = run(cfg, settings, folder, show_progress=not json_out)
    except DatasetMissing as e:
        err.print(f"[yellow]skipped:[/] {e}", highlight=False)
        raise typer.Exit(0) from None
    if json_out:
        return print_json(result)
    table = Table(title=f"{cfg.name} ({result.protocol}, {result.stage})")
    table.add_column("variant")
    for m in cfg.metrics:
        table.add_column(m, justify="right")
    llm_cols = [("fallback_rate", "fallback"), ("json_validity", "valid"), ("latency_p50_ms", "p50 ms")]
    has_llm = any("json_validity" in v for v in result.summary.values())
    if has_llm:
        for _, title in llm_cols:
            table.add_column(title, justify="right")
    for name, values in result.summary.items():
        row = [f"{values[m]:.4f}" for m in cfg.metrics]
        if has_llm:
            row += ["-" if values.get(key) is None else f"{values[key]:g}" for key, _ in llm_cols]
        table.add_row(name, *row)
    out.print(table)
    if result.dataset:
        out.print("dataset: " + ", ".join(f"{v:,} {k}" for k, v in result.dataset.items()))
    out.print(f"[dim]report: {result.files['report']}[/]")


@eval_app.command("calibrate")
@handle_errors
def eval_calibrate(
    config: Annotated[Path, typer.Argument(help="a stage: valid eval config with LLM variants")],
    out_file: Annotated[
        Optional[Path], typer.Option("--out", help="calibration file to update (default: DATA_DIR/calibration.json)")
    ] = None,
    weights: Annotated[
        Optional[str], typer.Option("--weights", help="comma-separated grid of LLM weights in [0, 1] (0 is always in)")
    ] = None,
    metric: Annotated[
        Optional[str], typer.Option("--metric", help="metric to maximise (default: ndcg@10; new/recall@10 for redial)")
    ] = None,
    run_dir: Annotated[
        Optional[Path], typer.Option("--run", help="also write the sweep's cases, table and plot here")
    ] = None,
    users: Annotated[
        Optional[int], typer.Option("--users", min=1, help="override the config: a seeded sample of this many users")
    ] = None,
    data_dir: DataDirOpt = None,
    shared_data: Annotated[Optional[Path], typer.Option("--shared-data", help="where ml-100k and ReDial live")] = None,
    json_out: JsonOpt = False,
):
    """Choose the LLM's fusion weight per model, template and mode on validation cases (0 included).

    Reranks the cases once per LLM variant (replies cached), sweeps the weight, picks the best by the
    protocol's metric (ties: the smaller weight) and writes it where `recagent recommend --rerank`
    and the chat read it. At weight 0 the reranker does not call the LLM.
    """
    from recagent.evals.calibrate import GRID, calibrate
    from recagent.evals.config import load_config
    from recagent.evals.protocols import DatasetMissing

    cfg = load_config(config)
    if users is not None:
        cfg = cfg.model_copy(update={"users": users})
    grid = GRID
    if weights:
        try:
            grid = tuple(float(w) for w in weights.split(","))
        except ValueError:
            raise ConfigError(f"--weights {weights!r}: write numbers separated by commas, e.g. 0,0.1,0.5,1") from None
        if any(not 0 <= w <= 1 for w in grid):
            raise ConfigError(f"--weights {weights!r}: every weight is between 0 and 1")
    settings = make_settings(data_dir=data_dir)
    if shared_data is not None:
        settings = settings.model_copy(update={"shared_data": shared_data})
    try:
        result = calibrate(cfg, settings, out_file, grid, metric, run_dir, show_progress=not json_out)
    except DatasetMissing as e:
        err.print(f"[yellow]skipped:[/] {e}", highlight=False)
        raise typer.Exit(0) from None
    if json_out:
        return print_json(result)
    for e in result.entries:
        table = Table(title=f"{e.mode} · {e.model} · {e.template} ({e.protocol} {e.stage}, {e.cases} cases)")
        table.add_column("weight", justify="right")
        table.add_column(e.metric_name, justify="right")
        table.add_column("vs 0, 95% CI", justify="right")
        for p in e.grid:
            ci = f"[{p.delta_ci95[0]:+.4f}, {p.delta_ci95[1]:+.4f}]" if p.delta_ci95 else "-"
            mark = " ←" if p.weight == e.weight else ""
            table.add_row(f"{p.weight:g}{mark}", f"{p.metric:.4f}", ci)
        out.print(table)
    out.print(f"[dim]calibration written to {result.path}[/]")


@eval_app.command("compare")
@handle_errors
def eval_compare(
    run_a: Annotated[Path, typer.Argument(help="a run folder written by `recagent eval run`")],
    run_b: Annotated[Path, typer.Argument(help="another run folder (or the same, with --pair)")],
    pair: Annotated[
        Optional[list[str]],
        typer.Option("--pair", help="compare variant A=B (repeatable); default: variants with the same name"),
    ] = None,
    metric: Annotated[
        Optional[str], typer.Option("--metric", help="metric of the paired test (default ndcg@10)")
    ] = None,
    out_file: Annotated[Optional[Path], typer.Option("--out", help="also write the comparison as Markdown")] = None,
    json_out: JsonOpt = False,
):
    """Compare two runs: metric deltas per variant and a paired per-case test (bootstrap 95% interval)."""
    from recagent.evals.compare import compare, format_ci
    from recagent.evals.metrics import parse_metric

    pairs = []
    for p in pair or []:
        a, sep, b = p.partition("=")
        if not sep or not a or not b:
            raise ConfigError(f"--pair {p!r}: write it as VARIANT_A=VARIANT_B")
        pairs.append((a, b))
    if metric:
        try:
            parse_metric(metric)
        except ValueError as e:
            raise ConfigError(str(e)) from None
    result = compare(run_a, run_b, pairs or None, metric)
    if out_file:
        out_file.write_text(result.markdown())
    if json_out:
        return print_json(result)
    for row in result.rows:
        table = Table(title=f"{row.variant_a} (A) vs {row.variant_b} (B)")
        for col in ("metric", "A", "B", "B - A"):
            table.add_column(col, justify="left" if col == "metric" else "right")
        for m, (a, b, d) in row.metrics.items():
            color = "green" if d > 0 else "red" if d < 0 else "dim"
            table.add_row(m, f"{a:.4f}", f"{b:.4f}", f"[{color}]{d:+.4f}[/]")
        if row.beyond:
            table.add_section()
            for m, (a, b, d) in row.beyond.items():  # beyond accuracy: no side is "better", so no colour
                ci = row.beyond_ci95.get(m)
                table.add_row(
                    f"{m} (beyond)", f"{a:.4f}", f"{b:.4f}", f"{d:+.4f}" + (f" {format_ci(ci)}" if ci else "")
                )
        out.print(table)
        if row.paired_cases:
            ci = f"[{row.delta_ci95[0]:+.4f}, {row.delta_ci95[1]:+.4f}]" if row.delta_ci95 else "-"
            out.print(
                f"{row.paired_cases} paired cases: B better {row.b_better}, same {row.same}, worse {row.b_worse}; "
                f"{row.metric} difference 95% CI {ci}",
                highlight=False,
            )
    if result.protocol_a != result.protocol_b:
        err.print("[yellow]the runs use different protocols: their figures are not comparable[/]")


@eval_app.command("understanding")
@handle_errors
def eval_understanding(
    reader: Annotated[
        Optional[list[str]], typer.Option("--reader", help="parser, llm or hybrid (repeatable; default: all three)")
    ] = None,
    labels: Annotated[Optional[Path], typer.Option("--labels", help="labelled utterances (JSONL)")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="score only the first N utterances")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="run folder")] = Path("eval-runs/understanding"),
    data_dir: DataDirOpt = None,
):
    """Score the message readers against the hand-labelled ReDial utterances (evals/understanding.py)."""
    from recagent.evals import understanding as ue

    readers = reader or list(ue.READERS)
    for r in readers:
        if r not in ue.READERS:
            raise ConfigError(f"--reader {r!r}: one of {', '.join(ue.READERS)}")
    summary, files = ue.run(make_settings(data_dir=data_dir), readers, out_dir, labels or ue.LABELS, limit)
    out.print(files["report"].read_text(), highlight=False)


@eval_app.command("probes")
@handle_errors
def eval_probes(
    probe_set: Annotated[
        Optional[str],
        typer.Option(
            "--set", help="request probes: dev, dev2 or followups-dev (tuning), test (frozen acceptance set) or followups "
            "(frozen: two- and three-turn conversations); omit for the critique probes"
        ),
    ] = None,
    probes: Annotated[Optional[Path], typer.Option("--probes", help="the critique probe file (YAML)")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="run only the first N probes")] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="run folder")] = None,
    data_dir: DataDirOpt = None,
    shared_data: Annotated[Optional[Path], typer.Option("--shared-data", help="where tmdb-5000 lives")] = None,
):
    """Critique probes (does the chat's top 10 move the way a wish asks?) or, with --set, the request probes
    (precision@10 of one plain request against popularity and vector search), judged by oracles the ranking
    does not use."""
    from recagent.evals import probes as pe
    from recagent.evals.protocols import DatasetMissing

    settings = make_settings(data_dir=data_dir)
    if shared_data is not None:
        settings = settings.model_copy(update={"shared_data": shared_data})
    if probe_set is not None:
        from recagent.evals import request_probes_run as rp
        from recagent.evals.request_probes import SETS

        if probe_set not in SETS:
            raise ConfigError(f"unknown probe set {probe_set!r}; known: {', '.join(SETS)}")
        summary, files = rp.run(settings, out_dir or Path(f"eval-runs/request-probes-{probe_set}"), probe_set, limit)
        if (summary_file := json.loads(files["summary"].read_text())).get("skipped"):
            err.print(f"[yellow]partly skipped:[/] {summary_file['skipped']}", highlight=False)
        out.print(files["report"].read_text(), highlight=False)
        return
    try:
        summary, files = pe.run(settings, out_dir or Path("eval-runs/critique-probes"), probes or pe.PROBES, limit)
    except DatasetMissing as e:
        err.print(f"[yellow]skipped:[/] {e}", highlight=False)
        raise typer.Exit(0) from None
    out.print(files["report"].read_text(), highlight=False)
