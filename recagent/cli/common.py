"""What every ``recagent`` command shares: the common options, settings from flags, the typed errors turned
into one line on stderr and a non-zero exit, and JSON or table output."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table

from recagent.errors import RecagentError, UserError
from recagent.settings import Settings

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


def fail(message: str, code: int = 1) -> None:
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
            fail(str(e))
        except ValidationError as e:
            first = e.errors()[0]
            loc = ".".join(str(x) for x in first["loc"]) or "value"
            fail(f"invalid {loc}: {first['msg']}")
        except KeyboardInterrupt:
            fail("interrupted", 130)

    return wrapper


def make_settings(
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
                raise UserError(f"--column expects FIELD=COLUMN, got {pair!r}")
            mapping[key.strip()] = value.strip()
        overrides["columns"] = mapping
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if chroma_host is not None:
        overrides["chroma_host"] = chroma_host
    if chroma_port is not None:
        overrides["chroma_port"] = chroma_port
    return Settings(**overrides)


def make_recommender(settings: Settings, json_mode: bool):
    from recagent.recommender import Recommender

    return Recommender(settings, show_progress=not json_mode)


def make_filters(year_min, year_max, genre, exclude_genre, exclude):
    from recagent.retrieval.filters import Filters

    return Filters(
        year_min=year_min,
        year_max=year_max,
        genres=genre or [],
        exclude_genres=exclude_genre or [],
        exclude_ids=exclude or [],
    )


def print_json(model: BaseModel | list) -> None:
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
