"""Rebuild retrieval/data/redial-comentions/ from ReDial's train subset (never valid or test).

    .venv/bin/python scripts/build_comentions.py [--redial ../shared/data/redial]

For each train dialogue, the ReDial movies it mentions (either speaker) are bridged to ml-latest-small
movieIds by title and year (``evals/movielens_bridge.py``); every pair of bridged movies in one dialogue
counts once. Writes ``movies.csv`` (movieId, ml-latest-small title, dialogues mentioning it, times the
recommender suggested it) and ``pairs.npz`` (rows, cols, counts: indices into movies.csv, rows < cols).
"""

from __future__ import annotations

import argparse
import csv
from collections import Counter
from itertools import combinations
from pathlib import Path

import numpy as np

from recagent.evals.movielens_bridge import match_movielens
from recagent.evals.protocols.redial import RECOMMENDER, load_catalog, load_dialogues
from recagent.retrieval.comentions import DATA_DIR, MOVIES_FILE, PAIRS_FILE
from recagent.retrieval.loaders import BUNDLED_CATALOG

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--redial", type=Path, default=ROOT.parent / "shared" / "data" / "redial")
    ap.add_argument("--out", type=Path, default=DATA_DIR)
    ap.add_argument("--holdout", default=None, metavar="K/N",
                    help="development only: leave out train dialogues i with i %% N == K (scored on them instead, "
                         "scripts/chat_queries.py --holdout), written to --out, never to the shipped folder")
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
    train = load_dialogues(args.redial, "train")
    if args.holdout:
        k, n = map(int, args.holdout.split("/"))
        train = [d for i, d in enumerate(train) if i % n != k]
    for d in train:
        movies = sorted({bridge[m] for t in d.turns for m in t.movies if m in bridge}, key=int)
        dialogues_of.update(movies)
        suggested.update(
            {bridge[m] for t in d.turns if t.speaker == RECOMMENDER for m in t.movies if m in bridge and m in d.suggested}
        )
        pairs.update(combinations(movies, 2))

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
    print(f"{len(train)} train dialogues: {len(ids)} bridged movies, {len(keys)} co-mentioned pairs -> {args.out}")


if __name__ == "__main__":
    main()
