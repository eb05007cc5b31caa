"""The ``recagent`` command line: a thin shell over :class:`~recagent.recommender.Recommender`.

Errors a user can cause print one line on stderr and exit non-zero; ``--json`` prints machine-readable
output on stdout. The ``eval`` commands are a sub-app of their own (:mod:`recagent.evals.cli`).
"""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich.table import Table

from recagent.cli.common import (
    CatalogOpt,
    ChromaHostOpt,
    ChromaPortOpt,
    ColumnsOpt,
    DataDirOpt,
    ExcludeGenreOpt,
    ExcludeOpt,
    FormatOpt,
    GenreOpt,
    InteractionsOpt,
    JsonOpt,
    KOpt,
    ModeOpt,
    YearMaxOpt,
    YearMinOpt,
    err,
    handle_errors,
    make_filters,
    make_recommender,
    make_settings,
    out,
    print_json,
    print_response,
    split_titles,
)
from recagent.errors import RecagentError, UserError
from recagent.evals.cli import eval_app
from recagent.settings import Settings

app = typer.Typer(
    help="recagent: a conversational recommender (vector + matrix-factorization retrieval, LLM reranking).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(eval_app, name="eval")


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
    rec = make_recommender(make_settings(catalog, fmt, interactions, column, data_dir, chroma_host, chroma_port), json_out)
    result = rec.index()
    if json_out:
        return print_json(result)
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
    rec = make_recommender(make_settings(catalog, fmt, None, None, data_dir, chroma_host, chroma_port), json_out)
    hits = rec.search(text, k, make_filters(year_min, year_max, genre, exclude_genre, exclude))
    if json_out:
        return print_json(hits)
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
        raise UserError("say who the recommendations are for: --user ID, --likes TITLES and/or --query TEXT")
    rec = make_recommender(make_settings(catalog, fmt, interactions, column, data_dir, chroma_host, chroma_port), json_out)
    filters = make_filters(year_min, year_max, genre, exclude_genre, exclude)
    if rerank:
        response = rec.recommend(
            user_id=user, likes=titles, query=query, k=k, filters=filters, mode=mode, bootstrap=bootstrap
        )
        if json_out:
            return print_json(response)
        return print_response(response)
    result = rec.candidates(user_id=user, likes=titles, query=query, k=k, filters=filters)
    if json_out:
        return print_json(result)
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

    rec = make_recommender(make_settings(catalog, fmt, None, None, data_dir, chroma_host, chroma_port), json_out)
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
