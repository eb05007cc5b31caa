"""Rebuild retrieval/data/redial-comentions/ from ReDial's train subset (never test).

    .venv/bin/python scripts/build_comentions.py [--redial ../shared/data/redial]

The shipped files are built from ``train_data_subset500`` alone. ``--splits train,valid`` adds the 100 valid
dialogues (also from ReDial's official train split); it was tried on the recommender-disjoint development halves
and not adopted (docs/evals/redial-chat/recommender-disjoint-dev-2026-12-01.md).

For each train dialogue, the ReDial movies it mentions (either speaker) are bridged to ml-latest-small
movieIds by title and year (``evals/movielens_bridge.py``); every pair of bridged movies in one dialogue
counts once. Writes ``movies.csv`` (movieId, ml-latest-small title, dialogues mentioning it, times the
recommender suggested it), ``pairs.npz`` (rows, cols, counts: indices into movies.csv, rows < cols) and
``dialogues.jsonl`` for the similar-dialogue source (``retrieval/dialogues.py``): per dialogue, its seeker
turns as typed (``@id`` rendered as the ReDial title) and, for each recommender turn that suggested bridged
movies after at least one seeker turn, how many seeker turns came before it and those movieIds.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import Counter
from itertools import combinations
from pathlib import Path

import numpy as np

from recagent.evals.movielens_bridge import match_movielens
from recagent.evals.protocols.redial import RECOMMENDER, holdout_part, load_catalog, load_dialogues, typed
from recagent.retrieval.comentions import DATA_DIR, MOVIES_FILE, PAIRS_FILE
from recagent.retrieval.dialogues import DIALOGUES_FILE, VECTORS_FILE, DialogueRetriever, read_dialogues
from recagent.retrieval.loaders import BUNDLED_CATALOG, load_dataset

ROOT = Path(__file__).resolve().parents[1]


def seeker_contexts(dialogue, bridge: dict[str, str], catalog) -> list[dict]:
    """The dialogue's seeker turns and, per suggesting recommender turn, (seeker turns before it, movieIds)."""
    turns: list[str] = []
    suggestions: list[list] = []
    for turn in dialogue.turns:
        if turn.speaker == RECOMMENDER:
            ids = list(dict.fromkeys(bridge[m] for m in turn.movies if m in bridge and m in dialogue.suggested))
            if ids and turns:
                suggestions.append([len(turns), ids])
        elif text := typed(turn.text, catalog):
            turns.append(text)
    return [{"dialogue": dialogue.id, "seeker": turns, "suggested": suggestions}] if suggestions else []


def write_vectors(folder: Path) -> None:
    """The bundled MiniLM's vector of every seeker turn, shipped so the chat need not embed them on first use."""
    from recagent.retrieval.embeddings import Embedder

    embedder = Embedder("bundled")
    catalog = load_dataset("bundled").catalog
    source = DialogueRetriever(catalog, read_dialogues(folder), embedder.embed, embedder.embed_queries)
    source.save_vectors(folder / VECTORS_FILE, embedder.name, folder / DIALOGUES_FILE)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--redial", type=Path, default=ROOT.parent / "shared" / "data" / "redial")
    ap.add_argument("--out", type=Path, default=DATA_DIR)
    ap.add_argument("--holdout", default=None, metavar="K/N",
                    help="development only: leave out the train dialogues whose recommender's worker id is K "
                         "modulo N (scored on them instead, experiments/chat_queries.py --holdout), written to --out, "
                         "never to the shipped folder")
    ap.add_argument("--skip-vectors", action="store_true",
                    help=f"do not embed the seeker turns ({VECTORS_FILE}, about 30 s on one core)")
    ap.add_argument("--splits", default="train", help="comma-separated ReDial subsets to build from: train, valid")
    args = ap.parse_args()
    if args.holdout and args.out.resolve() == DATA_DIR.resolve():
        ap.error("--holdout needs an --out other than the shipped folder")

    catalog = load_catalog(args.redial)
    bridge = {catalog.ids[p]: ml for p, ml in match_movielens(catalog).items()}  # redial id -> ml movieId
    ml_titles = {}
    with open(BUNDLED_CATALOG / "movies.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            ml_titles[row["movieId"]] = row["title"]

    dialogues_of: Counter[str] = Counter()
    suggested: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    similar: list[dict] = []
    train = [d for split in args.splits.split(",") for d in load_dialogues(args.redial, split)]
    if args.holdout:
        train = holdout_part(train, args.holdout, left_out=False)
    for d in train:
        movies = sorted({bridge[m] for t in d.turns for m in t.movies if m in bridge}, key=int)
        dialogues_of.update(movies)
        suggested.update(
            {bridge[m] for t in d.turns if t.speaker == RECOMMENDER for m in t.movies if m in bridge and m in d.suggested}
        )
        pairs.update(combinations(movies, 2))
        similar.extend(seeker_contexts(d, bridge, catalog))

    ids = sorted(dialogues_of, key=int)
    index = {m: j for j, m in enumerate(ids)}
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / MOVIES_FILE, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["movieId", "title", "dialogues", "suggested"])
        for m in ids:
            w.writerow([m, ml_titles[m], dialogues_of[m], suggested[m]])
    keys = sorted(pairs, key=lambda p: (index[p[0]], index[p[1]]))
    np.savez_compressed(
        args.out / PAIRS_FILE,
        rows=np.array([index[a] for a, _ in keys], dtype=np.int32),
        cols=np.array([index[b] for _, b in keys], dtype=np.int32),
        counts=np.array([pairs[p] for p in keys], dtype=np.int32),
    )
    with open(args.out / DIALOGUES_FILE, "w", encoding="utf-8") as f:
        for row in similar:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    if not args.skip_vectors:
        write_vectors(args.out)
    print(f"{len(train)} train dialogues: {len(ids)} bridged movies, {len(keys)} co-mentioned pairs -> {args.out}")


if __name__ == "__main__":
    main()
