"""Train the SHIPPED learned ranker (retrieval/data/learned-ranker/ml-latest-small.json) on ml-latest-small-loo.

    P="taskset -c 1 nice -n 10 .venv/bin/python scripts/train_learned_ranker.py"
    for s in valid pre-valid pre-test; do $P features --stage $s; done   # ~40 s a stage: features (npz)
    $P export     # fit the ranker on the two pre stages, write it, read it back, score it on validation

A product data builder: ``export`` writes the model file that ``retrieval/learned_ranker.py`` loads (the default
``--out`` is the shipped file). ``features``: the hybrid's own per-source top lists
(``HybridRetriever.source_results`` with every source on, as ``experiments/tune_fusion.py`` step 2 takes them;
models fitted on the stage's fit log, input its latest 200 items), the union pool of the sources' top 100 per
user, one row per candidate (``FEATURES``; how each is computed: ``RECIPE``), label = candidate is the stage's
target. Stages (``STAGES``): the protocol's validation stage, and two made from the training part alone (train
split again), whose cases train the ranker without touching validation targets. Everything a row uses is
available at test time too (fitted models, the user's input, "now" = the time of the user's latest input item).
The ranker (logistic regression, C 1, all rows) was chosen on the pre stages by the experiments in
``experiments/learned_fusion_loo.py`` (cross-validation, nested CV, transfer, checks: not part of the product).
Test targets are never read. Write-up: docs/evals/ml-latest-small-loo/learned-fusion-2026-12-01.md.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from recagent.evals.protocols import get_protocol
from recagent.evals.protocols.loo import split_leave_one_out
from recagent.evals.retrievers import RetrieverBench, RetrieverVariant
from recagent.retrieval.base import RetrievalQuery
from recagent.retrieval.embeddings import Embedder
from recagent.retrieval.itemitem import Sequences
from recagent.retrieval.learned_ranker import FEATURES, FitStats, RRFWeights, pool_features
from recagent.retrieval.progress import progress_bar
from recagent.settings import FusionSettings, Settings

PROTOCOL = "ml-latest-small-loo"
PER_SOURCE = 100
DAY = 86400.0
OUT = Path("eval-runs/learned-fusion-loo")
MODEL = Path("retrieval/data/learned-ranker/ml-latest-small.json")
C = 1.0  # "logistic C=1.0 rows=all": the linear family fixed in advance, C chosen on the pre stages (the write-up)


# ---------------------------------------------------------------------------------------------------- features


def ndcg_at(rank: int | None, k: int = 10) -> float:
    return 1 / math.log2(rank + 1) if rank is not None and rank <= k else 0.0


STAGES = {  # tag -> what its cases are
    "valid": "the protocol's validation stage: models fitted on train, input train (latest 200), target = valid item",
    "pre-valid": "train alone split again: models fitted on train minus each user's last two train items, input that, "
    "target = the second-to-last train item",
    "pre-test": "the same models (train minus the last two), input train minus its last item, target = the last "
    "train item (the analogue of the test stage, one item earlier)",
}


def stage_split(tag: str, settings: Settings):
    """(split, stage) for a tag of STAGES; the extra stages read the training part only."""
    protocol = get_protocol(PROTOCOL)
    split = protocol.split(protocol.load(settings.shared_data))
    if tag == "valid":
        return split, "valid"
    inner = split_leave_one_out(split.train, protocol.max_history, fit_on_train=True)
    return inner, ("valid" if tag == "pre-valid" else "test")


def build_features(tag: str = "valid", show: bool = True) -> None:
    t0 = time.perf_counter()
    settings = Settings()
    split, stage = stage_split(tag, settings)
    embedder = Embedder(settings.embedding_model, settings.embedding_batch_size)
    bench = RetrieverBench(split, stage, settings.data_dir / "evals", embedder, show)
    users = sorted(bench.targets)
    tuned = FusionSettings()  # the serving defaults (grid-searched by tune_fusion)
    tuned_w = {
        "vector": tuned.vector_weight,
        "mf": tuned.mf_weight,
        "ease": tuned.ease_weight,
        "sequential": tuned.sequential_weight,
        "popularity": tuned.popularity_weight,
    }
    every = FusionSettings(vector_weight=1, mf_weight=1, ease_weight=1, sequential_weight=1, popularity_weight=1)
    hybrid = bench.hybrid(RetrieverVariant(name="all sources", retriever="hybrid", fusion=every))
    seq_model = hybrid.model("sequential")
    catalog, fit, log = bench.catalog, bench.fit_log, bench.log
    t_models = time.perf_counter() - t0
    # the serving recipe (retrieval/learned_ranker.py), item statistics from the TRAIN (fit) part only
    stats = FitStats.build(fit, bench.store.embeddings(catalog.ids))
    rrf = RRFWeights(rrf_k=tuned.rrf_k, **tuned_w)
    inputs = Sequences(log)

    rows, labels, groups, rrf_rank_of_target = [], [], [], []
    pool_has_target = 0
    with progress_bar(f"features ({tag})", len(users), show) as advance:
        for ui, user in enumerate(users):
            query = RetrievalQuery(user_id=user)
            results = hybrid.source_results(query, hybrid.seen_positions(query), PER_SOURCE)
            hist = log.history(user)
            pool = pool_features(
                results, inputs.of(user), hist.timestamps, hist.values, stats, seq_model, rrf, PER_SOURCE
            )
            cand, f, rrf_rank = pool.positions, pool.features, pool.rrf_rank
            n = len(cand)
            target = bench.targets[user]
            lab = cand == target
            pool_has_target += int(lab.any())
            rrf_rank_of_target.append(int(rrf_rank[lab][0]) if lab.any() else -1)
            rows.append(f)
            labels.append(lab)
            groups.append(np.full(n, ui))
            advance(1)
    X, y, g = np.vstack(rows), np.concatenate(labels), np.concatenate(groups)
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        OUT / f"features-{tag}.npz",
        X=X.astype(np.float32),
        y=y,
        groups=g,
        users=np.array(users),
        rrf_rank=np.array(rrf_rank_of_target),
        features=np.array(FEATURES),
    )
    ranks = [r if r > 0 else None for r in rrf_rank_of_target]
    nd = np.mean([ndcg_at(r) for r in ranks])
    rc = np.mean([r is not None and r <= 10 for r in ranks])
    secs = time.perf_counter() - t0
    print(
        f"{len(users)} users, {len(X)} rows ({len(X) / len(users):.0f} a user), target in pool: "
        f"{pool_has_target}/{len(users)}; tuned RRF NDCG@10 {nd:.4f} Recall@10 {rc:.4f}; "
        f"models {t_models:.0f} s, all {secs:.0f} s"
    )
    (OUT / f"features-{tag}.json").write_text(
        json.dumps(
            {
                "stage": STAGES[tag],
                "users": len(users),
                "rows": int(len(X)),
                "target_in_pool": pool_has_target,
                "rrf_ndcg@10": round(float(nd), 4),
                "rrf_recall@10": round(float(rc), 4),
                "seconds_models": round(t_models, 1),
                "seconds_total": round(secs, 1),
            },
            indent=2,
        )
    )


# ---------------------------------------------------------------------------------------------------- ranker


def load_features(tag: str = "valid"):
    d = np.load(OUT / f"features-{tag}.npz")
    return d["X"].astype(np.float64), d["y"], d["groups"], [str(f) for f in d["features"]]


class Standardised:
    """Mean/std scaling fitted on the training rows (plain arrays, so it can be written out as JSON)."""

    def __init__(self, X):
        self.mean = X.mean(axis=0)
        self.std = np.where(X.std(axis=0) > 1e-12, X.std(axis=0), 1.0)

    def __call__(self, X):
        return (X - self.mean) / self.std


def fit_logistic(X, y, g, C):
    from sklearn.linear_model import LogisticRegression

    scale = Standardised(X)
    m = LogisticRegression(C=C, max_iter=2000).fit(scale(X), y)
    return lambda Z: scale(Z) @ m.coef_.ravel(), (scale, m)


def user_ranks(score, y, g, tiebreak):
    """Per user (in group order): the target's rank by ``score`` (ties by ``tiebreak``, lower first), None if
    the target is not in the pool."""
    out = {}
    order = np.lexsort((tiebreak, -score, g))
    gs, ys = g[order], y[order]
    starts = np.searchsorted(gs, np.unique(gs))
    bounds = np.r_[starts, len(gs)]
    for u, a, b in zip(np.unique(gs), bounds[:-1], bounds[1:]):
        hit = np.flatnonzero(ys[a:b])
        out[int(u)] = int(hit[0]) + 1 if len(hit) else None
    return out


def bootstrap(diff, n=10000, seed=0):
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), (n, len(diff)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def stacked(tags):
    parts = [load_features(t) for t in tags]
    X = np.vstack([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    g = np.concatenate([p[2] + 10_000 * i for i, p in enumerate(parts)])
    return X, y, g


def per_user_ndcg(score, y, g, tb):
    ranks = user_ranks(score, y, g, tb)
    return np.array([ndcg_at(ranks[u]) for u in sorted(ranks)]), np.array(
        [ranks[u] is not None and ranks[u] <= 10 for u in sorted(ranks)], dtype=float
    )


RECIPE = {  # how each feature is computed, for porting into the serving path ("now" = the user's latest input time)
    "<source>_rr": "1 / (rrf_k + rank) for the source's 1-based rank in its top 100 (rrf_k 5); 0 if absent",
    "<source>_logrank": "ln(rank); ln(101) if absent",
    "<source>_normscore": "(score - min) / (max - min) over the source's top-100 scores for this user; 1 if max == min; "
    "0 if absent",
    "<source>_present": "1 if the source returned the item in its top 100",
    "rrf": "the tuned weighted RRF score, sum_s w_s / (rrf_k + rank_s) (FusionSettings defaults: rrf_k 5, vector 0.1, "
    "mf 0.25, ease 0.5, sequential 1, popularity 0)",
    "rrf_logrank": "ln of the item's rank in the pool ordered as HybridRetriever.fuse does (-rrf, best single-source "
    "rank, catalog position)",
    "n_sources": "sum of the five <source>_present",
    "item_logpop": "ln(1 + the item's interactions in the fit log)",
    "item_logpop_30d": "ln(1 + fit-log interactions of the item with now - 30 days <= t <= now)",
    "item_logpop_90d": "as above, 90 days",
    "item_logpop_365d": "as above, 365 days",
    "item_days_since_last": "ln(1 + (now - the item's latest fit-log interaction at t <= now) / 86400); 10 if none",
    "item_days_since_first": "ln(1 + (now - its first fit-log interaction at t <= now) / 86400); 0 if none",
    "item_mean_rating": "mean fit-log rating of the item (the log's mean rating if none)",
    "item_year_gap": "(1970 + now / (365.25 * 86400)) - release year (catalog median if unknown)",
    "user_*": "constant within a user: no effect on a linear ranking (kept for the trees)",
    "cos_last1": "cosine of the item's MiniLM vector (the vector store's) to the latest input item's",
    "cos_last5_mean": "mean cosine to the latest 5 input items (input order = time, ties by catalog position)",
    "cos_last5_max": "max of those cosines",
    "seq_last1": "the next-item model's score (SequentialRetriever.scores) of the item from the latest input item alone",
    "seq_last1_rank_top": "1 if the item is in the top 20 of that score, the input items excluded",
    "trans_last1": "ln(1 + times the item directly follows the latest input item in the fit log's user sequences)",
    "trans_last5": "ln(1 + the same summed over the latest 5 input items)",
    "genre_match": "cosine of the item's genre indicator row to the summed genre rows of the latest 20 input items",
    "year_gap_recent": "|release year - mean release year of the latest 20 input items|",
}


def export(path: Path = MODEL) -> None:
    """The ranker fitted on the two extra stages (the model validated by the experiments' ``transfer``) as plain
    JSON, read back and checked to reproduce the validation figure."""
    from sklearn.linear_model import LogisticRegression  # noqa: F401 (fit_logistic's)

    Xp, yp, gp = stacked(["pre-valid", "pre-test"])
    _, (scale, m) = fit_logistic(Xp, yp, gp, C)
    Xv, yv, gv, _ = load_features("valid")
    tbv = Xv[:, FEATURES.index("rrf_logrank")]
    base, base_rec = per_user_ndcg(-tbv, yv, gv, tbv)
    model = {
        "kind": "logistic regression on standardised features: score = sum_j coef_j * (x_j - mean_j) / std_j "
        "(+ intercept, which does not change a ranking); rank the pool by score, ties by the RRF order",
        "protocol": PROTOCOL,
        "trained_on": [STAGES["pre-valid"], STAGES["pre-test"]],
        "sklearn": {"C": C, "max_iter": 2000, "solver": "lbfgs"},
        "pool": "union of the top 100 of each source (vector, mf, ease, sequential, popularity), the input excluded",
        "rrf": {"rrf_k": 5.0, "vector": 0.1, "mf": 0.25, "ease": 0.5, "sequential": 1.0, "popularity": 0.0},
        "features": FEATURES,
        "mean": [round(float(v), 8) for v in scale.mean],
        "std": [round(float(v), 8) for v in scale.std],
        "coef": [round(float(v), 8) for v in m.coef_.ravel()],
        "intercept": round(float(m.intercept_[0]), 8),
        "recipe": RECIPE,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(model, indent=1) + "\n")
    back = json.loads(path.read_text())
    z = (Xv - np.array(back["mean"])) / np.array(back["std"]) @ np.array(back["coef"])
    nd, rec = per_user_ndcg(z, yv, gv, tbv)
    lo, hi = bootstrap(nd - base)
    print(
        f"wrote {path}; read back: validation NDCG@10 {nd.mean():.4f} Recall@10 {rec.mean():.4f} vs RRF "
        f"{base.mean():.4f} / {base_rec.mean():.4f}, gain {(nd - base).mean():+.4f} [{lo:+.4f}, {hi:+.4f}]"
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("step", choices=["features", "export"])
    ap.add_argument("--stage", choices=list(STAGES), default="valid", help="features: which cases")
    ap.add_argument(
        "--out", type=Path, default=MODEL, help="export: where the model JSON goes (default: the shipped one)"
    )
    args = ap.parse_args()
    if args.step == "features":
        build_features(args.stage)
    elif args.step == "export":
        export(args.out)
