"""Tune the conversational fusion fields on ReDial's VALID subset (never test), through the product's retriever.

    .venv/bin/python experiments/tune_conversational.py --data-dir /tmp/recagent-convret [--redial ../shared/data/redial]

Each case is one movie a ReDial recommender suggested that nobody mentioned before, bridged to the
bundled ml-latest-small (``retrieval/redial_bridge.py``). The query is what the chat agent would hold at
that point: the seeker's last 6 turns as ``preferences.context`` (each 0.6 of the next, as
``agent/state/`` weighs them), ``@ids`` rendered as plain titles; the movies the seeker mentioned as
``liked_ids``; the movies the recommender mentioned as ``exclude_ids`` (shown already). The ranking is
``Recommender.hybrid.candidates`` (the serving path) on the bundled catalog. Step 1 caches each case's
source lists (``source_results``, once per text prior), step 2 grid-searches the weights of the ``text``,
``comentions`` and ``dialogue_popularity`` sources over them (weighted RRF, as ``HybridRetriever.fuse``;
no soft re-ranking, since these queries carry no critiques), step 3 re-runs the best through
``candidates``. Prints new-item Recall@10/50 against popularity (MovieLens rating counts) and ReDial-train
suggestion counts, and writes them as JSON. Pass one value per grid option to score one setting.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np

from recagent.evals.protocols.redial import RedialData, dialogue_cases
from recagent.recommender import Recommender
from recagent.retrieval import embeddings
from recagent.retrieval.base import ContextText, Preferences, RetrievalQuery
from recagent.retrieval.filters import Filters
from recagent.retrieval.progress import progress_bar
from recagent.retrieval.redial_bridge import match_movielens
from recagent.retrieval.redial_data import RECOMMENDER, SEEKER, typed
from recagent.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CONTEXT_TURNS, CONTEXT_DECAY = 6, 0.6  # as agent/state/model.py keeps and weighs the user's turns
DEPTH = 100


def build_cases(data: RedialData, split: str) -> tuple[list[tuple[RetrievalQuery, str]], dict]:
    bridge = {data.catalog.ids[p]: ml for p, ml in match_movielens(data.catalog).items()}

    out, total = [], 0
    for d in data.dialogues(split):
        for case in dialogue_cases(d, data.catalog):
            if not case.new:
                continue
            total += 1
            if case.target not in bridge:
                continue
            earlier = d.turns[: case.turn]
            seeker = [t for t in earlier if t.speaker == SEEKER]
            liked = [bridge[m] for t in seeker for m in t.movies if m in bridge]
            shown = [bridge[m] for t in earlier if t.speaker == RECOMMENDER for m in t.movies if m in bridge]
            texts = [typed(t.text, data.catalog) for t in seeker][-CONTEXT_TURNS:]
            n = len(texts)
            context = [ContextText(text=t, weight=CONTEXT_DECAY ** (n - 1 - i)) for i, t in enumerate(texts)]
            liked = list(dict.fromkeys(reversed(liked)))[::-1]  # order of last mention
            q = RetrievalQuery(
                liked_ids=liked,
                filters=Filters(exclude_ids=[m for m in dict.fromkeys(shown) if m not in liked]),
                preferences=Preferences(context=context),
            )
            out.append((q, bridge[case.target]))
    return out, {"new_cases": total, "bridged": len(out), "coverage": round(len(out) / max(total, 1), 4)}


def recall(ranks: list[int | None], k: int) -> float:
    return sum(1 for r in ranks if r is not None and r <= k) / max(len(ranks), 1)


def fused_rank(lists: dict[str, np.ndarray], target: int, weights: dict[str, float], rrf_k: float) -> int | None:
    scores: dict[int, float] = {}
    for name, positions in lists.items():
        w = weights.get(name, 0.0)
        if w <= 0:
            continue
        for rank, p in enumerate(positions[:DEPTH].tolist(), start=1):
            scores[p] = scores.get(p, 0.0) + w / (rrf_k + rank)
    if target not in scores:
        return None
    t = scores[target]
    return 1 + sum(1 for s in scores.values() if s > t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--redial", type=Path, default=ROOT.parent / "shared" / "data" / "redial")
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--split", default="valid", choices=["valid"])
    ap.add_argument("--out", type=Path, default=ROOT / "experiments" / "results" / "tune-conversational.json")
    ap.add_argument("--prior", type=float, nargs="+", default=[0.15, 0.3, 0.5, 0.8])
    ap.add_argument("--text", type=float, nargs="+", default=[0.5, 0.75, 1.0, 1.5])
    ap.add_argument("--comentions", type=float, nargs="+", default=[1.0, 1.5, 2.0, 3.0])
    ap.add_argument("--dialogue-popularity", type=float, nargs="+", default=[0.5, 0.75, 1.0, 1.5])
    args = ap.parse_args()
    embeddings.QUERY_CACHE = 100_000  # every dialogue turn stays embedded for the whole grid

    rec = Recommender(Settings(data_dir=args.data_dir))
    rec.index()
    h = rec.hybrid
    cases, coverage = build_cases(RedialData.load(args.redial), args.split)
    targets = [rec.catalog.position(t) for _, t in cases]
    print("cases:", coverage)

    def serve_ranks(label: str) -> list[int | None]:
        ranks = []
        with progress_bar(label, len(cases), True) as advance:
            for q, t in cases:
                ids = [c.item_id for c in h.candidates(q, DEPTH)]
                ranks.append(ids.index(t) + 1 if t in ids else None)
                advance(1)
        return ranks

    report: dict = {"coverage": coverage, "grid": []}
    counts = rec.popularity.counts
    base_ranks, sugg_ranks = [], []
    for (q, _), t in zip(cases, targets):
        seen = rec.catalog.positions(q.liked_ids + q.filters.exclude_ids)
        for s, out in ((counts.copy(), base_ranks), (h.model("comentions")._popular.copy(), sugg_ranks)):
            s[seen] = -1
            order = np.argsort(-s, kind="stable")[:DEPTH]
            out.append(int(np.flatnonzero(order == t)[0]) + 1 if t in order else None)
    report["popularity"] = {"recall@10": recall(base_ranks, 10), "recall@50": recall(base_ranks, 50)}
    report["redial_suggested"] = {"recall@10": recall(sugg_ranks, 10), "recall@50": recall(sugg_ranks, 50)}
    print("popularity", report["popularity"], "redial-suggested", report["redial_suggested"])

    f0 = rec.settings.fusion
    cached: dict[float, list[dict[str, np.ndarray]]] = {}
    for prior in args.prior:
        h.preferences.fusion = h.fusion = f0.model_copy(update={"text_prior": prior})
        lists = []
        with progress_bar(f"source lists (prior {prior})", len(cases), True) as advance:
            for q, _ in cases:
                q = q.model_copy(update={"filters": q.filters.normalized(rec.catalog)})
                res = h.source_results(q, h.seen_positions(q), f0.per_source)
                lists.append({k: v.positions for k, v in res.items()})
                advance(1)
        cached[prior] = lists

    base_w = h.weights()
    grid = itertools.product(cached, args.text, args.comentions, args.dialogue_popularity)
    best = None
    for prior, text_w, com_w, pop_w in grid:
        w = dict(base_w, text=text_w, comentions=com_w, dialogue_popularity=pop_w)
        ranks = [fused_rank(lists, t, w, f0.rrf_k) for lists, t in zip(cached[prior], targets)]
        row = {
            "text_prior": prior,
            "text": text_w,
            "comentions": com_w,
            "dialogue_popularity": pop_w,
            "recall@10": round(recall(ranks, 10), 4),
            "recall@50": round(recall(ranks, 50), 4),
        }
        report["grid"].append(row)
        key = row["recall@10"] + row["recall@50"] / 2
        if best is None or key > best[0]:
            best = (key, row)
    b = best[1]
    h.preferences.fusion = h.fusion = f0.model_copy(
        update={
            "text_prior": b["text_prior"],
            "text_weight": b["text"],
            "comention_weight": b["comentions"],
            "dialogue_popularity_weight": b["dialogue_popularity"],
        }
    )
    served = serve_ranks("the best, through candidates()")
    b["served"] = {"recall@10": round(recall(served, 10), 4), "recall@50": round(recall(served, 50), 4)}
    report["best"] = best[1]
    print("best on valid:", best[1])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print("wrote", args.out)


if __name__ == "__main__":
    main()
