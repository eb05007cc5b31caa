"""``recagent data``: rebuild the data the package ships (today the ReDial co-mentions and dialogues of
``retrieval/data/redial-comentions/``). A sub-app of the ``recagent`` command line; the library never imports it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from recagent.cli.common import handle_errors, out
from recagent.settings import Settings

data_app = typer.Typer(help="Rebuild the data shipped with the package from its sources.", no_args_is_help=True)


@data_app.command("build-comentions")
@handle_errors
def build_comentions(
    redial: Annotated[
        Optional[Path], typer.Option("--redial", help="the ReDial folder (default: the shared data's redial/)")
    ] = None,
    out_dir: Annotated[
        Optional[Path], typer.Option("--out", help="where to write (default: the shipped folder)")
    ] = None,
    holdout: Annotated[
        Optional[str],
        typer.Option(
            "--holdout",
            metavar="K/N",
            help="development only: leave out the train dialogues whose recommender's worker id is K modulo N "
            "(scored on them instead, scripts/chat_queries.py --holdout), written to --out, never to the shipped "
            "folder",
        ),
    ] = None,
    skip_vectors: Annotated[
        bool, typer.Option("--skip-vectors", help="do not embed the seeker turns (dialogue-vectors.npz, about 30 s)")
    ] = False,
    splits: Annotated[
        str, typer.Option("--splits", help="comma-separated ReDial subsets to build from: train, valid")
    ] = "train",
):
    """Rebuild the co-mentions and the similar-dialogue turns from ReDial's train subset (never test)."""
    from recagent.retrieval.comentions import DATA_DIR
    from recagent.retrieval.redial_build import build_comentions as build

    out_dir = out_dir or DATA_DIR
    if holdout and out_dir.resolve() == DATA_DIR.resolve():
        raise typer.BadParameter("--holdout needs an --out other than the shipped folder", param_hint="--holdout")
    redial = redial or Settings().shared_data / "redial"
    report = build(redial, out_dir, splits.split(","), holdout, vectors=not skip_vectors)
    out.print(report.summary(), highlight=False, soft_wrap=True)
