"""The ``recagent`` command line: a thin shell over :class:`Recommender`.

Errors a user can cause print one line on stderr and exit non-zero; ``--json``
prints machine-readable output on stdout.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table

from recagent.errors import ConfigError, RecagentError
from recagent.settings import Settings

app = typer.Typer(
    help="recagent: a conversational recommender (vector + matrix-factorization retrieval, LLM reranking).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)

CatalogOpt = Annotated[
    Optional[str], typer.Option("--catalog", help="'bundled' (default), a MovieLens folder, or a .csv/.jsonl file")
]
FormatOpt = Annotated[Optional[str], typer.Option("--format", help="auto, movielens, ml100k or table")]
InteractionsOpt = Annotated[Optional[Path], typer.Option("--interactions", help="interaction log for a table catalog")]
ColumnsOpt = Annotated[
    Optional[list[str]], typer.Option("--column", help="column mapping for a table catalog, e.g. id=asin (repeatable)")
]
DataDirOpt = Annotated[Optional[Path], typer.Option("--data-dir", help="where the index and models live")]
ChromaHostOpt = Annotated[Optional[str], typer.Option("--chroma-host", help="use a Chroma server at this host")]
ChromaPortOpt = Annotated[Optional[int], typer.Option("--chroma-port")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
KOpt = Annotated[int, typer.Option("-k", "--k", min=1, max=1000, help="how many results")]
YearMinOpt = Annotated[Optional[int], typer.Option("--year-min")]
YearMaxOpt = Annotated[Optional[int], typer.Option("--year-max")]
GenreOpt = Annotated[
    Optional[list[str]], typer.Option("--genre", help="keep items of this genre (repeatable: any of them)")
]
ExcludeGenreOpt = Annotated[
    Optional[list[str]], typer.Option("--exclude-genre", help="drop items of this genre (repeatable)")
]
ModeOpt = Annotated[Optional[str], typer.Option("--mode", help="LLM ranking mode: auto, generative or scoring")]
ExcludeOpt = Annotated[Optional[list[str]], typer.Option("--exclude", help="drop this item id (repeatable)")]


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code)


def handle_errors(fn):
    """Turn the library's typed errors into one clear line and a non-zero exit; run the command with
    BLAS limited to ``Settings.blas_threads`` (lifted when it returns, so an in-process invocation, as
    in tests, leaves the process as it was)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from recagent.threads import blas_limit

        try:
            with blas_limit(Settings().blas_threads):  # the only setting read before the command's own
                return fn(*args, **kwargs)
        except RecagentError as e:
            _fail(str(e))
        except ValidationError as e:
            first = e.errors()[0]
            loc = ".".join(str(x) for x in first["loc"]) or "value"
            _fail(f"invalid {loc}: {first['msg']}")
        except KeyboardInterrupt:
            _fail("interrupted", 130)

    return wrapper


def _settings(
    catalog: str | None = None,
    fmt: str | None = None,
    interactions: Path | None = None,
    columns: list[str] | None = None,
    data_dir: Path | None = None,
    chroma_host: str | None = None,
    chroma_port: int | None = None,
) -> Settings:
    overrides: dict = {}
    if catalog is not None:
        overrides["catalog"] = catalog
    if fmt is not None:
        overrides["catalog_format"] = fmt
    if interactions is not None:
        overrides["interactions"] = interactions
    if columns:
        mapping = {}
        for pair in columns:
            key, sep, value = pair.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise RecagentError(f"--column expects FIELD=COLUMN, got {pair!r}")
            mapping[key.strip()] = value.strip()
        overrides["columns"] = mapping
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if chroma_host is not None:
        overrides["chroma_host"] = chroma_host
    if chroma_port is not None:
        overrides["chroma_port"] = chroma_port
    return Settings(**overrides)


def _recommender(settings: Settings, json_mode: bool):
    from recagent.recommender import Recommender

    return Recommender(settings, show_progress=not json_mode)


def _filters(year_min, year_max, genre, exclude_genre, exclude):
    from recagent.retrieval.filters import Filters

    return Filters(
        year_min=year_min,
        year_max=year_max,
        genres=genre or [],
        exclude_genres=exclude_genre or [],
        exclude_ids=exclude or [],
    )


def _print_json(model: BaseModel | list) -> None:
    if isinstance(model, list):
        print(json.dumps([m.model_dump(mode="json") for m in model], indent=2))
    else:
        print(model.model_dump_json(indent=2))


def split_titles(values: list[str]) -> list[str]:
    """`--likes "Heat, The Matrix"`: split on ';' when present, else on ','; repeatable too."""
    titles: list[str] = []
    for v in values:
        sep = ";" if ";" in v else ","
        titles.extend(t.strip() for t in v.split(sep) if t.strip())
    return titles


@app.command()
@handle_errors
def index(
    catalog: CatalogOpt = None,
    fmt: FormatOpt = None,
    interactions: InteractionsOpt = None,
    column: ColumnsOpt = None,
    data_dir: DataDirOpt = None,
    chroma_host: ChromaHostOpt = None,
    chroma_port: ChromaPortOpt = None,
    json_out: JsonOpt = False,
):
    """Embed the catalog into the vector store (incremental) and fit the MF model."""
    rec = _recommender(_settings(catalog, fmt, interactions, column, data_dir, chroma_host, chroma_port), json_out)
    result = rec.index()
    if json_out:
        return _print_json(result)
    v = result.vector
    out.print(
        f"[green]indexed[/] {v.total} items into [bold]{v.collection}[/]: "
        f"{v.added} added, {v.updated} updated, {v.unchanged} unchanged, {v.removed} removed "
        f"({v.embedded} embedded in {v.seconds:.1f}s)"
    )
    if result.mf_trained_on is not None:
        out.print(f"[green]MF model[/] ready ({result.mf_trained_on} interactions)")
    else:
        out.print("[yellow]no interaction log:[/] MF retriever disabled, vector and popularity only")


@app.command()
@handle_errors
def search(
    text: Annotated[str, typer.Argument(help="what to look for, in plain words")],
    k: KOpt = 10,
    year_min: YearMinOpt = None,
    year_max: YearMaxOpt = None,
    genre: GenreOpt = None,
    exclude_genre: ExcludeGenreOpt = None,
    exclude: ExcludeOpt = None,
    catalog: CatalogOpt = None,
    fmt: FormatOpt = None,
    data_dir: DataDirOpt = None,
    chroma_host: ChromaHostOpt = None,
    chroma_port: ChromaPortOpt = None,
    json_out: JsonOpt = False,
):
    """Items whose text is nearest to a free-text query."""
    rec = _recommender(_settings(catalog, fmt, None, None, data_dir, chroma_host, chroma_port), json_out)
    hits = rec.search(text, k, _filters(year_min, year_max, genre, exclude_genre, exclude))
    if json_out:
        return _print_json(hits)
    table = Table(title=f"search: {text}", show_lines=False)
    for col in ("#", "id", "title", "genres", "score"):
        table.add_column(col, justify="right" if col in ("#", "score") else "left")
    for i, h in enumerate(hits, 1):
        table.add_row(str(i), h.item_id, h.title, ", ".join(h.genres), f"{h.score:.3f}")
    out.print(table)


@app.command()
@handle_errors
def recommend(
    user: Annotated[Optional[str], typer.Option("--user", help="a user id from the interaction log")] = None,
    likes: Annotated[
        Optional[list[str]],
        typer.Option("--likes", help="titles you like: 'Heat, The Matrix' (use ';' if a title has a comma)"),
    ] = None,
    query: Annotated[Optional[str], typer.Option("--query", "-q", help="what you are in the mood for")] = None,
    k: KOpt = 10,
    year_min: YearMinOpt = None,
    year_max: YearMaxOpt = None,
    genre: GenreOpt = None,
    exclude_genre: ExcludeGenreOpt = None,
    exclude: ExcludeOpt = None,
    catalog: CatalogOpt = None,
    fmt: FormatOpt = None,
    interactions: InteractionsOpt = None,
    column: ColumnsOpt = None,
    data_dir: DataDirOpt = None,
    chroma_host: ChromaHostOpt = None,
    chroma_port: ChromaPortOpt = None,
    rerank: Annotated[
        bool, typer.Option("--rerank", help="rerank the candidates with the LLM and explain them")
    ] = False,
    mode: ModeOpt = None,
    bootstrap: Annotated[
        Optional[int], typer.Option("--bootstrap", min=1, max=16, help="rerank B shuffled permutations")
    ] = None,
    json_out: JsonOpt = False,
):
    """Recommend items for a known user, for liked titles, and/or for a query."""
    titles = split_titles(likes or [])
    if user is None and not titles and not query:
        raise RecagentError("say who the recommendations are for: --user ID, --likes TITLES and/or --query TEXT")
    rec = _recommender(_settings(catalog, fmt, interactions, column, data_dir, chroma_host, chroma_port), json_out)
    filters = _filters(year_min, year_max, genre, exclude_genre, exclude)
    if rerank:
        response = rec.recommend(
            user_id=user, likes=titles, query=query, k=k, filters=filters, mode=mode, bootstrap=bootstrap
        )
        if json_out:
            return _print_json(response)
        return print_response(response)
    result = rec.candidates(user_id=user, likes=titles, query=query, k=k, filters=filters)
    if json_out:
        return _print_json(result)
    for m in result.resolved:
        note = "" if m.method == "exact" else f" ({m.method} match, {m.score:.0f})"
        err.print(f"[dim]{m.query!r} → {m.title}{note}[/]")
    table = Table(title="recommendations", caption=f"{result.latency_ms:.0f} ms")
    for col in ("#", "id", "title", "genres", "sources"):
        table.add_column(col, justify="right" if col == "#" else "left")
    for i, c in enumerate(result.candidates, 1):
        src = " ".join(f"{name}#{hit.rank}" for name, hit in c.sources.items())
        table.add_row(str(i), c.item_id, c.title, ", ".join(c.genres), src)
    out.print(table)


def print_response(response) -> None:
    """A recommendation response as a table, with its provenance underneath."""
    from recagent.retrieval.titles import display_title

    if response.message:
        out.print(f"[bold cyan]recagent:[/] {response.message}", highlight=False)
    fallback = response.source == "fallback"
    table = Table(show_lines=False, title_style="bold")
    table.add_column("#", justify="right")
    table.add_column("title", style="bold")
    table.add_column("why")
    for r in response.recommendations:
        table.add_row(str(r.rank), display_title(r.title), r.explanation)
    out.print(table)
    tag = "[yellow]fallback: retrieval order[/]" if fallback else f"[green]{response.source}[/]"
    prompt = f"{response.prompt.name} v{response.prompt.version}" if response.prompt else "-"
    out.print(
        f"[dim]{tag} · {response.mode} · {response.backend or '-'} {response.model or ''} · prompt {prompt} · "
        f"{response.tokens.prompt_tokens}+{response.tokens.completion_tokens} tokens · {response.latency_ms:.0f} ms[/]"
        + (f"\n[yellow]{response.error}[/]" if response.error else "")
        + (f"\n[dim]LLM weight: {response.calibration}[/]" if response.calibration else ""),
        highlight=False,
    )


@app.command()
@handle_errors
def chat(
    session: Annotated[
        Optional[str], typer.Option("--session", "-s", help="resume this session (default: a new one)")
    ] = None,
    user: Annotated[Optional[str], typer.Option("--user", help="a known user id, whose history is summarised")] = None,
    message: Annotated[
        Optional[list[str]], typer.Option("--message", "-m", help="send this message and exit (repeatable)")
    ] = None,
    k: KOpt = 5,
    catalog: CatalogOpt = None,
    fmt: FormatOpt = None,
    data_dir: DataDirOpt = None,
    chroma_host: ChromaHostOpt = None,
    chroma_port: ChromaPortOpt = None,
    json_out: JsonOpt = False,
):
    """Chat for recommendations. Sessions persist: --session ID resumes one after a restart."""
    import uuid

    rec = _recommender(_settings(catalog, fmt, None, None, data_dir, chroma_host, chroma_port), json_out)
    session_id = session or uuid.uuid4().hex[:12]
    if not json_out:
        err.print(f"[dim]session {session_id} · type a request, or 'quit'[/]")

    def send(text: str) -> None:
        try:
            response = rec.chat(session_id, text, k=k, user_id=user)
        except RecagentError as e:  # a bad message ends nothing in an interactive chat
            if message or json_out:
                raise
            err.print(f"[bold red]error:[/] {e}", highlight=False)
            return
        if json_out:
            print(json.dumps({"session_id": session_id, **response.model_dump(mode="json")}))
        else:
            print_response(response)

    if message:
        for text in message:
            send(text)
        return
    while True:
        try:
            text = out.input("[bold]you:[/] ") if not json_out else input()
        except EOFError:
            break
        if text.strip().lower() in {"quit", "exit", ":q"}:
            break
        if text.strip():
            send(text)


eval_app = typer.Typer(
    help="Evaluate retrievers, prompts and models on named protocols, and compare runs.", no_args_is_help=True
)
app.add_typer(eval_app, name="eval")


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
    settings = _settings(data_dir=data_dir)
    if shared_data is not None:
        settings = settings.model_copy(update={"shared_data": shared_data})
    folder = out_dir or Path("eval-runs") / re.sub(r"[^a-zA-Z0-9._-]+", "-", cfg.name).strip("-")
    try:
        result = run(cfg, settings, folder, show_progress=not json_out)
    except DatasetMissing as e:
        err.print(f"[yellow]skipped:[/] {e}", highlight=False)
        raise typer.Exit(0) from None
    if json_out:
        return _print_json(result)
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
    run_dir: Annotated[Optional[Path], typer.Option("--run", help="also write the sweep's cases, table and plot here")] = None,
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
    settings = _settings(data_dir=data_dir)
    if shared_data is not None:
        settings = settings.model_copy(update={"shared_data": shared_data})
    try:
        result = calibrate(cfg, settings, out_file, grid, metric, run_dir, show_progress=not json_out)
    except DatasetMissing as e:
        err.print(f"[yellow]skipped:[/] {e}", highlight=False)
        raise typer.Exit(0) from None
    if json_out:
        return _print_json(result)
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
    metric: Annotated[Optional[str], typer.Option("--metric", help="metric of the paired test (default ndcg@10)")] = None,
    out_file: Annotated[Optional[Path], typer.Option("--out", help="also write the comparison as Markdown")] = None,
    json_out: JsonOpt = False,
):
    """Compare two runs: metric deltas per variant and a paired per-case test (bootstrap 95% interval)."""
    from recagent.evals.compare import compare
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
        return _print_json(result)
    for row in result.rows:
        table = Table(title=f"{row.variant_a} (A) vs {row.variant_b} (B)")
        for col in ("metric", "A", "B", "B - A"):
            table.add_column(col, justify="left" if col == "metric" else "right")
        for m, (a, b, d) in row.metrics.items():
            color = "green" if d > 0 else "red" if d < 0 else "dim"
            table.add_row(m, f"{a:.4f}", f"{b:.4f}", f"[{color}]{d:+.4f}[/]")
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
    summary, files = ue.run(_settings(data_dir=data_dir), readers, out_dir, labels or ue.LABELS, limit)
    out.print(files["report"].read_text(), highlight=False)


@eval_app.command("probes")
@handle_errors
def eval_probes(
    probes: Annotated[Optional[Path], typer.Option("--probes", help="the probe file (YAML)")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="run only the first N probes")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="run folder")] = Path("eval-runs/critique-probes"),
    data_dir: DataDirOpt = None,
    shared_data: Annotated[Optional[Path], typer.Option("--shared-data", help="where tmdb-5000 lives")] = None,
):
    """Critique probes: does the chat's top 10 move the way a wish asks (judged by TMDB keywords)?"""
    from recagent.evals import probes as pe
    from recagent.evals.protocols import DatasetMissing

    settings = _settings(data_dir=data_dir)
    if shared_data is not None:
        settings = settings.model_copy(update={"shared_data": shared_data})
    try:
        summary, files = pe.run(settings, out_dir, probes or pe.PROBES, limit)
    except DatasetMissing as e:
        err.print(f"[yellow]skipped:[/] {e}", highlight=False)
        raise typer.Exit(0) from None
    out.print(files["report"].read_text(), highlight=False)


@app.command()
@handle_errors
def serve(
    host: Annotated[str, typer.Option("--host", help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, help="worker processes (each loads its own models)")] = 1,
    catalog: CatalogOpt = None,
    data_dir: DataDirOpt = None,
    chroma_host: ChromaHostOpt = None,
    chroma_port: ChromaPortOpt = None,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level")] = "info",
):
    """Serve the HTTP API (docs at /docs) and the web chat page (at /). Run `recagent index` first.

    Settings come from RECAGENT_* variables (e.g. RECAGENT_SERVER__API_KEY); the flags here are
    passed to every worker process through the environment.
    """
    import os

    import uvicorn

    flags = {
        "RECAGENT_CATALOG": catalog,
        "RECAGENT_DATA_DIR": data_dir,
        "RECAGENT_CHROMA_HOST": chroma_host,
        "RECAGENT_CHROMA_PORT": chroma_port,
    }
    os.environ.update({k: str(v) for k, v in flags.items() if v is not None})
    settings = Settings()  # fail here, with one line, on a bad setting rather than in every worker
    err.print(
        f"[dim]recagent serve on http://{host}:{port} · {workers} worker(s) · data {settings.data_dir} · "
        f"API key {'required' if settings.server.api_key else 'off'}[/]",
        highlight=False,
    )
    uvicorn.run(
        "recagent.server.app:create_app", factory=True, host=host, port=port, workers=workers, log_level=log_level
    )


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
