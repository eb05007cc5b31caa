"""Learned fusion (learning to rank over the sources' candidates) on ml-latest-small-loo's VALIDATION targets.

    P="taskset -c 1 nice -n 10 .venv/bin/python scripts/learned_fusion_loo.py"
    for s in valid pre-valid pre-test; do $P features --stage $s; done   # ~40 s a stage: features (npz)
    $P cv         # 5-fold over validation users, 3 seeds: every ranker, and RRF + one feature (~25 min: trees)
    $P nested     # outer 5-fold, inner 4-fold choice among RRF / logistic configs (~4 min)
    $P transfer   # fitted on the two extra stages, scored on all validation users (~5 min: trees)
    $P checks     # the chosen ranker: per fold, pre stages + 4/5 validation -> 1/5, feature-group ablations (~2 min)
    $P export     # the chosen ranker as JSON (docs/evals/ml-latest-small-loo/learned-fusion-model.json), read back
    $P export --out retrieval/data/learned-ranker/ml-latest-small.json   # the copy serving loads

``features``: the hybrid's own per-source top lists (``HybridRetriever.source_results`` with every source on, as
``evals/tune_fusion.py`` step 2 takes them; models fitted on the stage's fit log, input its latest 200 items), the
union pool of the sources' top 100 per user, one row per candidate (``FEATURES``; how each is computed: ``RECIPE``),
label = candidate is the stage's target. Stages (``STAGES``): the protocol's validation stage, and two made from
the training part alone (train split again), whose cases train the ranker without touching validation targets.
Everything a row uses is available at test time too (fitted models, the user's input, "now" = the time of the
user's latest input item). Figures: NDCG@10 / Recall@10 of each ranker vs the tuned RRF (FusionSettings
defaults) on the same users and pool, with a paired bootstrap 95% interval over users of the difference.
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
from recagent.retrieval.learned_ranker import source_feature_names
from recagent.retrieval.progress import progress_bar

from recagent.settings import FusionSettings, Settings

PROTOCOL = "ml-latest-small-loo"
PER_SOURCE = 100
DAY = 86400.0
OUT = Path("eval-runs/learned-fusion-loo")
DOC_MODEL = Path("docs/evals/ml-latest-small-loo/learned-fusion-model.json")


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


# ---------------------------------------------------------------------------------------------------- rankers


def load_features(tag: str = "valid"):
    d = np.load(OUT / f"features-{tag}.npz")
    return d["X"].astype(np.float64), d["y"], d["groups"], [str(f) for f in d["features"]]


SOURCE_ONLY = source_feature_names() + ["rrf", "rrf_logrank", "n_sources"]


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


def fit_pairwise(X, y, g, C):
    """A linear pairwise ranker: logistic regression on (positive - negative) differences within a user."""
    from sklearn.linear_model import LogisticRegression

    scale = Standardised(X)
    Z = scale(X)
    diffs = []
    for u in np.unique(g[y]):
        rows = np.flatnonzero(g == u)
        pos = rows[y[rows]]
        neg = rows[~y[rows]]
        diffs.append(Z[pos[0]] - Z[neg])
    D = np.vstack(diffs)
    D = np.vstack([D, -D])
    lab = np.r_[np.ones(len(D) // 2), np.zeros(len(D) // 2)]
    m = LogisticRegression(C=C, fit_intercept=False, max_iter=2000).fit(D, lab)
    return lambda Q: scale(Q) @ m.coef_.ravel(), (scale, m)


def fit_trees(X, y, g, params):
    from sklearn.ensemble import HistGradientBoostingClassifier

    m = HistGradientBoostingClassifier(random_state=0, early_stopping=False, **params).fit(X, y)
    return lambda Q: m.decision_function(Q), m


def fit_rrf_plus(X, y, g, feature_index, betas=(-0.02, -0.01, -0.005, -0.002, 0.002, 0.005, 0.01, 0.02)):
    """The tuned RRF plus beta x one standardised feature, beta chosen on the training users' NDCG@10."""
    rrf = X[:, FEATURES.index("rrf")]
    scale = Standardised(X[:, [feature_index]])
    z = scale(X[:, [feature_index]]).ravel()
    best = max(((pooled_ndcg(rrf + b * z, y, g), b) for b in (0.0, *betas)), key=lambda t: t[0])[1]
    return lambda Q: Q[:, FEATURES.index("rrf")] + best * scale(Q[:, [feature_index]]).ravel(), best


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


def pooled_ndcg(score, y, g):
    return float(np.mean([ndcg_at(r) for r in user_ranks(score, y, g, np.zeros(len(y))).values()]))


def bootstrap(diff, n=10000, seed=0):
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), (n, len(diff)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


GROUPS = {
    "sources": SOURCE_ONLY,
    "item time": [
        "item_logpop_30d",
        "item_logpop_90d",
        "item_logpop_365d",
        "item_days_since_last",
        "item_days_since_first",
    ],
    "item static": ["item_logpop", "item_mean_rating", "item_year_gap"],
    "user": ["user_loglen", "user_gap_last", "user_n_last_hour", "user_n_last_day", "user_mean_rating"],
    "user-item": [
        "cos_last1",
        "cos_last5_mean",
        "cos_last5_max",
        "seq_last1",
        "seq_last1_rank_top",
        "trans_last1",
        "trans_last5",
        "genre_match",
        "year_gap_recent",
    ],
}


def ablations():
    """Logistic C=0.01 (the first all-feature model) without each feature group, and sources + one group."""
    out = {}
    fit = lambda X, y, g: fit_logistic(X, y, g, 0.01)  # noqa: E731
    for name, group in GROUPS.items():
        keep = [FEATURES.index(f) for f in FEATURES if f not in group]
        out[f"ablate logistic C=0.01 without {name}"] = (keep, fit)
    for name, group in GROUPS.items():
        if name != "sources":
            keep = [FEATURES.index(f) for f in SOURCE_ONLY + group]
            out[f"ablate logistic C=0.01 sources + {name}"] = (keep, fit)
    top = lambda X, y, g, n: fit_logistic(*_top_rows(X, y, g, n), 0.01)  # noqa: E731
    for n in (20, 50):
        out[f"ablate logistic C=0.01 all, trained on RRF top {n}"] = (None, lambda X, y, g, n=n: top(X, y, g, n))
    return out


def _top_rows(X, y, g, n):
    keep = X[:, FEATURES.index("rrf_logrank")] <= math.log(n) + 1e-9
    return X[keep], y[keep], g[keep]


def rankers():
    col = [FEATURES.index(f) for f in SOURCE_ONLY]
    out = {}
    for C in (0.01, 0.1, 1.0):
        out[f"logistic sources C={C}"] = (col, lambda X, y, g, C=C: fit_logistic(X, y, g, C))
        out[f"logistic all C={C}"] = (None, lambda X, y, g, C=C: fit_logistic(X, y, g, C))
        out[f"pairwise all C={C}"] = (None, lambda X, y, g, C=C: fit_pairwise(X, y, g, C))
    trees = {
        "trees d3 lr.05 n200 leaf200": dict(
            max_depth=3, learning_rate=0.05, max_iter=200, min_samples_leaf=200, l2_regularization=1.0
        ),
        "trees d2 lr.05 n300 leaf500": dict(
            max_depth=2, learning_rate=0.05, max_iter=300, min_samples_leaf=500, l2_regularization=1.0
        ),
        "trees leaves8 lr.03 n300 leaf300": dict(
            max_leaf_nodes=8, learning_rate=0.03, max_iter=300, min_samples_leaf=300, l2_regularization=3.0
        ),
    }
    for name, params in trees.items():
        out[name] = (None, lambda X, y, g, p=params: fit_trees(X, y, g, p))
    return out


def cross_validate(seeds=(0, 1, 2), folds=5, only: str | None = None) -> None:
    X, y, g, names = load_features()
    assert names == FEATURES, "features.npz is stale: rebuild it"
    n_users = int(g.max()) + 1
    rrf_rank = X[:, FEATURES.index("rrf_logrank")]  # the serving order's tie-break for every ranker
    base = user_ranks(-rrf_rank, y, g, rrf_rank)
    base_ndcg = np.array([ndcg_at(base[u]) for u in range(n_users)])
    base_rec = np.array([base[u] is not None and base[u] <= 10 for u in range(n_users)], dtype=float)
    models = rankers()
    for j, f in enumerate(FEATURES):
        if f not in SOURCE_ONLY:
            models[f"rrf + beta*{f}"] = (None, lambda X, y, g, j=j: fit_rrf_plus(X, y, g, j))
    models.update(ablations())
    if only:
        models = {k: v for k, v in models.items() if only in k}
    report = {
        "baseline": {"ndcg@10": round(float(base_ndcg.mean()), 4), "recall@10": round(float(base_rec.mean()), 4)},
        "seeds": list(seeds),
        "folds": folds,
        "models": {},
    }
    print(f"tuned RRF: NDCG@10 {base_ndcg.mean():.4f} Recall@10 {base_rec.mean():.4f} ({n_users} users)")
    for name, (cols, fit) in models.items():
        t0 = time.perf_counter()
        ndcg = np.zeros((len(seeds), n_users))
        rec = np.zeros((len(seeds), n_users))
        per_fold = []
        for si, seed in enumerate(seeds):
            fold_of = np.random.default_rng(seed).permutation(n_users) % folds
            for k in range(folds):
                test_u = np.flatnonzero(fold_of == k)
                tr = ~np.isin(g, test_u)
                te = ~tr
                Xc = X if cols is None else X[:, cols]
                score, _ = fit(Xc[tr], y[tr], g[tr])
                ranks = user_ranks(score(Xc[te]), y[te], g[te], rrf_rank[te])
                for u in test_u:
                    r = ranks.get(int(u))
                    ndcg[si, u], rec[si, u] = ndcg_at(r), float(r is not None and r <= 10)
                per_fold.append(
                    {
                        "seed": seed,
                        "fold": k,
                        "ndcg@10": round(float(ndcg[si, test_u].mean()), 4),
                        "rrf_ndcg@10": round(float(base_ndcg[test_u].mean()), 4),
                    }
                )
        diff = ndcg.mean(axis=0) - base_ndcg
        lo, hi = bootstrap(diff)
        per_seed = [round(float(ndcg[si].mean()), 4) for si in range(len(seeds))]
        secs = time.perf_counter() - t0
        row = {
            "ndcg@10": round(float(ndcg.mean()), 4),
            "recall@10": round(float(rec.mean()), 4),
            "per_seed_ndcg@10": per_seed,
            "gain": round(float(diff.mean()), 4),
            "gain_ci95": [round(lo, 4), round(hi, 4)],
            "recall_gain": round(float(rec.mean() - base_rec.mean()), 4),
            "folds": per_fold,
            "seconds": round(secs, 1),
        }
        report["models"][name] = row
        print(
            f"{name:<42} NDCG@10 {row['ndcg@10']:.4f} (seeds {per_seed}) Recall@10 {row['recall@10']:.4f} "
            f"gain {row['gain']:+.4f} [{lo:+.4f}, {hi:+.4f}]  {secs:.0f} s",
            flush=True,
        )
    suffix = f"-{only.replace(' ', '_').replace('*', '')}" if only else ""
    (OUT / f"cv{suffix}.json").write_text(json.dumps(report, indent=2))


MENU = {  # what nested CV may choose from: the tuned RRF itself, or a logistic ranker
    "tuned RRF": None,
    **{f"logistic C={C} rows={rows}": (C, rows) for C in (0.01, 0.1, 1.0) for rows in ("all", 50)},
}


def fit_menu(X, y, g, choice):
    if MENU[choice] is None:
        return lambda Q: -Q[:, FEATURES.index("rrf_logrank")]
    C, rows = MENU[choice]
    if rows != "all":
        X, y, g = _top_rows(X, y, g, rows)
    return fit_logistic(X, y, g, C)[0]


def cv_ndcg(X, y, g, choice, users, folds, seed):
    """Mean NDCG@10 of ``choice`` over ``users`` by ``folds``-fold CV (the inner loop of ``nested``)."""
    fold_of = dict(zip(users.tolist(), np.random.default_rng(seed).permutation(len(users)) % folds))
    f = np.array([fold_of[u] for u in g])
    tb = X[:, FEATURES.index("rrf_logrank")]
    total = []
    for k in range(folds):
        tr, te = f != k, f == k
        score = fit_menu(X[tr], y[tr], g[tr], choice)
        total += [ndcg_at(r) for r in user_ranks(score(X[te]), y[te], g[te], tb[te]).values()]
    return float(np.mean(total))


def nested(seeds=(0, 1, 2), folds=5) -> None:
    """Outer 5-fold over users; in each outer fold the MENU entry with the best inner 4-fold NDCG@10 on the
    outer-training users is fitted on them and scores the held-out fifth: a figure the choice cannot flatter."""
    X, y, g, _ = load_features()
    n_users = int(g.max()) + 1
    tb = X[:, FEATURES.index("rrf_logrank")]
    base = user_ranks(-tb, y, g, tb)
    base_ndcg = np.array([ndcg_at(base[u]) for u in range(n_users)])
    ndcg = np.zeros((len(seeds), n_users))
    chosen = []
    t0 = time.perf_counter()
    for si, seed in enumerate(seeds):
        fold_of = np.random.default_rng(seed).permutation(n_users) % folds
        for k in range(folds):
            test_u = np.flatnonzero(fold_of == k)
            tr = ~np.isin(g, test_u)
            inner = {c: cv_ndcg(X[tr], y[tr], g[tr], c, np.flatnonzero(fold_of != k), 4, seed + 100) for c in MENU}
            best = max(inner, key=inner.get)
            chosen.append(
                {"seed": seed, "fold": k, "chosen": best, "inner": {c: round(v, 4) for c, v in inner.items()}}
            )
            score = fit_menu(X[tr], y[tr], g[tr], best)
            ranks = user_ranks(score(X[~tr]), y[~tr], g[~tr], tb[~tr])
            for u in test_u:
                ndcg[si, u] = ndcg_at(ranks.get(int(u)))
            print(
                f"seed {seed} fold {k}: chose {best} (inner {inner[best]:.4f}, RRF {inner['tuned RRF']:.4f}); "
                f"held-out {ndcg[si, test_u].mean():.4f} vs RRF {base_ndcg[test_u].mean():.4f}",
                flush=True,
            )
    diff = ndcg.mean(axis=0) - base_ndcg
    lo, hi = bootstrap(diff)
    res = {
        "ndcg@10": round(float(ndcg.mean()), 4),
        "rrf_ndcg@10": round(float(base_ndcg.mean()), 4),
        "per_seed_ndcg@10": [round(float(r.mean()), 4) for r in ndcg],
        "gain": round(float(diff.mean()), 4),
        "gain_ci95": [round(lo, 4), round(hi, 4)],
        "folds": chosen,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    print(
        f"nested: NDCG@10 {res['ndcg@10']:.4f} vs RRF {res['rrf_ndcg@10']:.4f}, gain {res['gain']:+.4f} "
        f"[{lo:+.4f}, {hi:+.4f}], {res['seconds']:.0f} s"
    )
    (OUT / "nested.json").write_text(json.dumps(res, indent=2))


TRANSFER_MENU = {
    **{f"logistic C={C} rows={rows}": ("logistic", C, rows) for C in (0.01, 0.1, 1.0) for rows in ("all", 50)},
    "trees d3 lr.05 n200 leaf200": (
        "trees",
        dict(max_depth=3, learning_rate=0.05, max_iter=200, min_samples_leaf=200, l2_regularization=1.0),
        "all",
    ),
    "trees d2 lr.05 n300 leaf500": (
        "trees",
        dict(max_depth=2, learning_rate=0.05, max_iter=300, min_samples_leaf=500, l2_regularization=1.0),
        "all",
    ),
}


def fit_transfer(X, y, g, choice):
    kind, param, rows = TRANSFER_MENU[choice]
    if rows != "all":
        X, y, g = _top_rows(X, y, g, rows)
    return (fit_logistic if kind == "logistic" else fit_trees)(X, y, g, param)[0]


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


def transfer() -> None:
    """Rankers fitted on the two extra stages (cases from the training part alone), scored on ALL validation
    users, no fold needed. The config is chosen without validation: fit on one extra stage, score the other."""
    t0 = time.perf_counter()
    Xv, yv, gv, _ = load_features("valid")
    tbv = Xv[:, FEATURES.index("rrf_logrank")]
    base, base_rec = per_user_ndcg(-tbv, yv, gv, tbv)
    Xa, ya, ga, _ = load_features("pre-valid")
    Xb, yb, gb, _ = load_features("pre-test")
    Xp, yp, gp = stacked(["pre-valid", "pre-test"])
    report = {
        "baseline": {"ndcg@10": round(float(base.mean()), 4), "recall@10": round(float(base_rec.mean()), 4)},
        "models": {},
    }
    print(f"tuned RRF on validation: NDCG@10 {base.mean():.4f} Recall@10 {base_rec.mean():.4f}")
    for name in TRANSFER_MENU:
        t1 = time.perf_counter()
        # selection signal, validation untouched: pre-valid -> pre-test and pre-test -> pre-valid
        sel = []
        for (Xf, yf, gf), (Xs, ys, gs) in (((Xa, ya, ga), (Xb, yb, gb)), ((Xb, yb, gb), (Xa, ya, ga))):
            tbs = Xs[:, FEATURES.index("rrf_logrank")]
            nd, _ = per_user_ndcg(fit_transfer(Xf, yf, gf, name)(Xs), ys, gs, tbs)
            rrf_nd, _ = per_user_ndcg(-tbs, ys, gs, tbs)
            sel.append(float(nd.mean() - rrf_nd.mean()))
        nd, rec = per_user_ndcg(fit_transfer(Xp, yp, gp, name)(Xv), yv, gv, tbv)
        lo, hi = bootstrap(nd - base)
        row = {
            "selection_gain_pre_stages": [round(v, 4) for v in sel],
            "ndcg@10": round(float(nd.mean()), 4),
            "recall@10": round(float(rec.mean()), 4),
            "gain": round(float((nd - base).mean()), 4),
            "gain_ci95": [round(lo, 4), round(hi, 4)],
            "seconds": round(time.perf_counter() - t1, 1),
        }
        report["models"][name] = row
        print(
            f"{name:<30} pre-stage gains {sel[0]:+.4f} {sel[1]:+.4f} | validation NDCG@10 {nd.mean():.4f} "
            f"Recall@10 {rec.mean():.4f} gain {row['gain']:+.4f} [{lo:+.4f}, {hi:+.4f}]  {row['seconds']:.0f} s",
            flush=True,
        )
    best = max(report["models"], key=lambda n: np.mean(report["models"][n]["selection_gain_pre_stages"]))
    report["chosen_on_pre_stages"] = best
    report["seconds"] = round(time.perf_counter() - t0, 1)
    print(
        f"chosen on the pre stages: {best}: validation gain {report['models'][best]['gain']:+.4f} "
        f"{report['models'][best]['gain_ci95']}"
    )
    (OUT / "transfer.json").write_text(json.dumps(report, indent=2))


CHOSEN = "logistic C=1.0 rows=all"  # the linear family fixed in advance, C by the pre stages (see the write-up)


def checks(seeds=(0, 1, 2), folds=5) -> None:
    """For CHOSEN: the transfer gain per user fold; fitted on the pre stages plus 4/5 of validation (as a final
    model would be) and scored on the held-out fifth; and the transfer without each feature group."""
    Xv, yv, gv, _ = load_features("valid")
    tbv = Xv[:, FEATURES.index("rrf_logrank")]
    base, _ = per_user_ndcg(-tbv, yv, gv, tbv)
    n_users = len(base)
    Xp, yp, gp = stacked(["pre-valid", "pre-test"])
    out = {"chosen": CHOSEN}
    nd, _ = per_user_ndcg(fit_transfer(Xp, yp, gp, CHOSEN)(Xv), yv, gv, tbv)
    fold_of = np.random.default_rng(0).permutation(n_users) % folds
    out["transfer_per_fold"] = [
        {
            "fold": k,
            "ndcg@10": round(float(nd[fold_of == k].mean()), 4),
            "rrf": round(float(base[fold_of == k].mean()), 4),
        }
        for k in range(folds)
    ]
    print("transfer per fold:", out["transfer_per_fold"])
    out["transfer_from_one_stage"] = {}
    for tag in ("pre-valid", "pre-test"):
        X1, y1, g1, _ = load_features(tag)
        nd1, _ = per_user_ndcg(fit_transfer(X1, y1, g1, CHOSEN)(Xv), yv, gv, tbv)
        lo, hi = bootstrap(nd1 - base)
        out["transfer_from_one_stage"][tag] = {
            "ndcg@10": round(float(nd1.mean()), 4),
            "gain": round(float((nd1 - base).mean()), 4),
            "gain_ci95": [round(lo, 4), round(hi, 4)],
        }
    print("transfer from one stage:", out["transfer_from_one_stage"], flush=True)
    # pre stages + 4/5 validation -> 1/5
    cv = np.zeros((len(seeds), n_users))
    for si, seed in enumerate(seeds):
        fo = np.random.default_rng(seed).permutation(n_users) % folds
        for k in range(folds):
            test_u = np.flatnonzero(fo == k)
            tr = ~np.isin(gv, test_u)
            X = np.vstack([Xp, Xv[tr]])
            y = np.concatenate([yp, yv[tr]])
            g = np.concatenate([gp, gv[tr] + 50_000])
            ranks = user_ranks(fit_transfer(X, y, g, CHOSEN)(Xv[~tr]), yv[~tr], gv[~tr], tbv[~tr])
            for u in test_u:
                cv[si, u] = ndcg_at(ranks.get(int(u)))
    lo, hi = bootstrap(cv.mean(axis=0) - base)
    out["pre_plus_valid_cv"] = {
        "ndcg@10": round(float(cv.mean()), 4),
        "per_seed": [round(float(r.mean()), 4) for r in cv],
        "gain": round(float(cv.mean() - base.mean()), 4),
        "gain_ci95": [round(lo, 4), round(hi, 4)],
    }
    print("pre stages + 4/5 validation -> 1/5:", out["pre_plus_valid_cv"], flush=True)
    out["ablations"] = {}
    for name, group in GROUPS.items():
        keep = [FEATURES.index(f) for f in FEATURES if f not in group]
        nd_a, _ = per_user_ndcg(fit_transfer(Xp[:, keep], yp, gp, CHOSEN)(Xv[:, keep]), yv, gv, tbv)
        lo, hi = bootstrap(nd_a - base)
        out["ablations"][f"without {name}"] = {
            "ndcg@10": round(float(nd_a.mean()), 4),
            "gain": round(float((nd_a - base).mean()), 4),
            "gain_ci95": [round(lo, 4), round(hi, 4)],
        }
        print(f"transfer without {name}: {out['ablations'][f'without {name}']}", flush=True)
    (OUT / "checks.json").write_text(json.dumps(out, indent=2))


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


def export(path: Path = DOC_MODEL) -> None:
    """CHOSEN fitted on the two extra stages (the model validated by ``transfer``) as plain JSON, read back and
    checked to reproduce the validation figure."""
    from sklearn.linear_model import LogisticRegression  # noqa: F401 (fit_logistic's)

    Xp, yp, gp = stacked(["pre-valid", "pre-test"])
    kind, C, rows = TRANSFER_MENU[CHOSEN]
    assert kind == "logistic" and rows == "all"
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
    ap.add_argument("step", choices=["features", "cv", "nested", "transfer", "checks", "export"])
    ap.add_argument("--stage", choices=list(STAGES), default="valid", help="features: which cases")
    ap.add_argument("--only", default=None, help="cv: only rankers whose name contains this")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", type=Path, default=DOC_MODEL, help="export: where the model JSON goes")
    args = ap.parse_args()
    if args.step == "features":
        build_features(args.stage)
    elif args.step == "cv":
        cross_validate(tuple(args.seeds), only=args.only)
    elif args.step == "transfer":
        transfer()
    elif args.step == "export":
        export(args.out)
    elif args.step == "checks":
        checks(tuple(args.seeds))
    elif args.step == "nested":
        nested(tuple(args.seeds))
