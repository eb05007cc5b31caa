"""Tune the retrieval stage on a leave-one-out protocol's VALIDATION targets (never the test targets).

    .venv/bin/python experiments/tune_fusion.py                    # ml100k-loo, writes eval-runs/tune-ml100k-loo/
    .venv/bin/python experiments/tune_fusion.py --protocol ml-latest-small-loo --max-items 3650 --every-source
    .venv/bin/python experiments/tune_fusion.py --quick            # smaller grids

The protocol's own split decides what the models are fitted on and what a user's input is
(ml-latest-small-loo: the training part, the latest 200 items). Step 1 grid-searches each
model's own parameters by its NDCG@10 alone (ALS: factors, regularisation, alpha; EASE: L2 and
query half-life; next-item: window, half-life, L2; both item models over ``--max-items``). Step 2 takes every source's top
``per_source`` ranking once per user (the hybrid's own ``source_results``, so exclusions are
the serving ones) and grid-searches the reciprocal-rank-fusion weights over those cached lists.
Step 3 re-runs the best fusion through ``HybridRetriever.candidates``, the serving path, to
confirm the figure. Models are fitted on the split's ``train`` log; targets are ``valid``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
from pathlib import Path

import numpy as np

from recagent.evals.protocols import get_protocol
from recagent.evals.retrievers import RetrieverBench, RetrieverVariant, evaluate
from recagent.retrieval.base import RetrievalQuery
from recagent.retrieval.embeddings import Embedder
from recagent.retrieval.progress import progress_bar
from recagent.settings import EASESettings, FusionSettings, MFSettings, SequentialSettings, Settings

SOURCES = ("vector", "mf", "ease", "sequential", "popularity")


def ndcg_recall(ranks: list[int | None], k: int = 10) -> tuple[float, float]:
    hits = [r for r in ranks if r is not None and r <= k]
    return sum(1 / math.log2(r + 1) for r in hits) / len(ranks), len(hits) / len(ranks)


def source_ranks(bench: RetrieverBench, variant: RetrieverVariant, users: list[str], show: bool) -> dict:
    """Each user's per-source top lists, as the hybrid fetches them before fusion."""
    hybrid = bench.hybrid(variant)
    per_source = hybrid.fusion.per_source
    out = {}
    with progress_bar(f"source lists ({variant.name})", len(users), show) as advance:
        for user in users:
            query = RetrievalQuery(user_id=user)
            results = hybrid.source_results(query, hybrid.seen_positions(query), per_source)
            out[user] = {name: scored.positions for name, scored in results.items()}
            advance(1)
    return out


def fused_rank(lists: dict[str, np.ndarray], target: int, weights: dict[str, float], rrf_k: float) -> int | None:
    """The target's rank under weighted RRF (as ``HybridRetriever.fuse``; exact ties count against it)."""
    scores: dict[int, float] = {}
    for name, positions in lists.items():
        w = weights.get(name, 0.0)
        if w <= 0:
            continue
        for rank, pos in enumerate(positions.tolist(), start=1):
            scores[pos] = scores.get(pos, 0.0) + w / (rrf_k + rank)
    if target not in scores:
        return None
    t = scores[target]
    return sum(1 for s in scores.values() if s >= t)


def _rank(scored, target):
    hit = np.flatnonzero(scored.positions == target)
    return int(hit[0]) + 1 if len(hit) else None


MODELS = {  # retriever -> (the variant's settings field, its settings class)
    "als": ("mf", MFSettings),
    "ease": ("ease", EASESettings),
    "sequential": ("sequential", SequentialSettings),
}


def tune_item_model(bench, users, kind: str, grid: list[dict], show: bool) -> tuple[dict, list[dict]]:
    """Grid-search one retriever's own parameters (``kind``: als, ease or sequential) by NDCG@10."""
    rows = []
    field, settings_cls = MODELS[kind]
    for params in grid:
        variant = RetrieverVariant(name=f"{kind} {params}", retriever=kind, **{field: settings_cls(**params)})
        ranks = [_rank(bench.ranking(variant, u), bench.targets[u]) for u in users]
        ndcg, recall = ndcg_recall(ranks)
        rows.append({"params": params, "ndcg@10": round(ndcg, 4), "recall@10": round(recall, 4)})
        if show:
            print(f"  {kind:<10} {params}  NDCG@10 {ndcg:.4f}  Recall@10 {recall:.4f}", flush=True)
        bench.forget(variant)  # free the dense weights
    best = max(rows, key=lambda r: r["ndcg@10"])
    return best["params"], rows


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--protocol", default="ml100k-loo")
    ap.add_argument("--out", type=Path, default=None, help="default: eval-runs/tune-PROTOCOL")
    ap.add_argument("--quick", action="store_true", help="smaller grids")
    ap.add_argument(
        "--every-source",
        action="store_true",
        help="choose the best fusion in which every source but popularity has a weight (the product needs each)",
    )
    ap.add_argument(
        "--max-items", type=int, nargs="+", default=None, help="item models' max_items to try (default: the setting's)"
    )
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    show = not args.quiet
    settings = Settings()
    protocol = get_protocol(args.protocol)
    dataset = protocol.load(settings.shared_data)
    split = protocol.split(dataset)
    embedder = Embedder(settings.embedding_model, settings.embedding_batch_size)
    bench = RetrieverBench(split, "valid", settings.data_dir / "evals", embedder, show)
    users = sorted(bench.targets)

    out_dir = args.out or Path("eval-runs") / f"tune-{args.protocol}"

    # step 1: each model's own parameters
    sizes = [{"max_items": n} for n in args.max_items] if args.max_items else [{}]
    if args.quick:
        als_grid = [{"factors": f, "regularization": 0.1} for f in (32, 64)]
        ease_grid = [{"l2": l2, "half_life": h} for l2, h in itertools.product([300.0], [4.0, 8.0, 0.0])]
        seq_grid = [{"window": 50, "half_life": 8.0, "l2": l2} for l2 in (100.0, 300.0)]
    else:
        als_grid = [
            {"factors": f, "regularization": r, "alpha": 1.0} for f, r in itertools.product([32, 128], [0.1, 1.0, 10.0])
        ]
        ease_grid = [
            {"l2": l2, "half_life": h} for l2, h in itertools.product([100.0, 300.0, 1000.0], [1.0, 2.0, 4.0, 8.0])
        ]
        seq_grid = [
            {"window": w, "half_life": h, "l2": l2}
            for (w, h), l2 in itertools.product(
                [(20, 4.0), (50, 8.0), (100, 16.0), (200, 32.0)], [10.0, 30.0, 100.0, 300.0]
            )
        ]
    ease_grid = [{**p, **n} for p in ease_grid for n in sizes]
    seq_grid = [{**p, **n} for p in seq_grid for n in sizes]
    print("step 1: each retriever alone (validation)")
    als_best, als_rows = tune_item_model(bench, users, "als", als_grid, show)
    ease_best, ease_rows = tune_item_model(bench, users, "ease", ease_grid, show)
    seq_best, seq_rows = tune_item_model(bench, users, "sequential", seq_grid, show)

    # step 2: fusion weights over cached per-source lists
    everything = FusionSettings(vector_weight=1, mf_weight=1, ease_weight=1, sequential_weight=1, popularity_weight=1)
    full = RetrieverVariant(
        name="all sources",
        retriever="hybrid",
        fusion=everything,
        mf=MFSettings(**als_best),
        ease=EASESettings(**ease_best),
        sequential=SequentialSettings(**seq_best),
    )
    lists = source_ranks(bench, full, users, show)
    targets = bench.targets
    if args.quick:
        grid = list(itertools.product([30.0], [0.0, 0.25], [0.0, 0.5], [0.0, 0.5], [1.0], [0.0, 0.1]))
    else:
        grid = list(
            itertools.product(
                [5.0, 10.0, 30.0, 60.0],  # rrf_k
                [0.0, 0.1, 0.25, 0.5],  # vector
                [0.0, 0.25, 0.5, 1.0],  # mf
                [0.0, 0.25, 0.5, 1.0],  # ease
                [1.0],  # sequential: the anchor (RRF is invariant to scaling all weights)
                [0.0, 0.1, 0.2],  # popularity
            )
        )
    rows = []
    with progress_bar("fusion grid (validation)", len(grid), show) as advance:
        for rrf_k, *ws in grid:
            weights = dict(zip(SOURCES, ws))
            ranks = [fused_rank(lists[u], targets[u], weights, rrf_k) for u in users]
            ndcg, recall = ndcg_recall(ranks)
            rows.append({"rrf_k": rrf_k, **weights, "ndcg@10": round(ndcg, 4), "recall@10": round(recall, 4)})
            advance(1)
    rows.sort(key=lambda r: (-r["ndcg@10"], -r["recall@10"]))
    weighted = [r for r in rows if all(r[s] > 0 for s in SOURCES if s != "popularity")]
    best = weighted[0] if args.every_source and weighted else rows[0]
    print("\nstep 2: best fusion weights (validation NDCG@10, Recall@10)")
    for r in rows[:10]:
        print("  ", {k: v for k, v in r.items()})

    # step 3: the best, through the serving path
    fusion = FusionSettings(
        rrf_k=best["rrf_k"],
        vector_weight=best["vector"],
        mf_weight=best["mf"],
        ease_weight=best["ease"],
        sequential_weight=best["sequential"],
        popularity_weight=best["popularity"],
    )
    chosen = full.model_copy(update={"name": "chosen", "fusion": fusion})
    summary, _ = evaluate(split, "valid", [chosen], ["ndcg@10", "recall@10"], None, None, users, show, bench=bench)
    print("\nstep 3: chosen fusion through HybridRetriever.candidates (validation):", summary["chosen"])
    result = {
        "protocol": args.protocol,
        "stage": "valid",
        "users": len(users),
        "als": {"best": als_best, "grid": als_rows},
        "ease": {"best": ease_best, "grid": ease_rows},
        "sequential": {"best": seq_best, "grid": seq_rows},
        "fusion": {
            "best": rows[0],
            "chosen": best,
            "every_source": args.every_source,
            "top": rows[:20],
            "configs": len(rows),
        },
        "chosen": {"fusion": fusion.model_dump(), "validation": summary["chosen"]},
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "tune.json").write_text(json.dumps(result, indent=2))
    print(f"wrote {out_dir / 'tune.json'}")
    return result


if __name__ == "__main__":
    main()
