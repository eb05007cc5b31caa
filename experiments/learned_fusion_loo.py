"""Learned fusion on ml-latest-small-loo's VALIDATION targets: the experiments that chose the shipped ranker.

Not part of the product. The stage features and the shipped model are built by ``scripts/train_learned_ranker.py``
(``features --stage valid|pre-valid|pre-test`` first, ``export`` last); this file holds the comparisons that led to
its choice (every ranker family, nested CV, the transfer from the pre stages, the chosen ranker's checks), whose
results are in docs/evals/ml-latest-small-loo/learned-fusion/ and whose write-up is
docs/evals/ml-latest-small-loo/learned-fusion-2026-12-01.md. Trees, pairwise rankers, rankers fitted on validation
users alone and RRF plus one feature were not adopted.

    S="taskset -c 1 nice -n 10 .venv/bin/python scripts/train_learned_ranker.py"
    for s in valid pre-valid pre-test; do $S features --stage $s; done   # ~40 s a stage: features (npz)
    P="taskset -c 1 nice -n 10 .venv/bin/python experiments/learned_fusion_loo.py"
    $P cv         # 5-fold over validation users, 3 seeds: every ranker, and RRF + one feature (~25 min: trees)
    $P nested     # outer 5-fold, inner 4-fold choice among RRF / logistic configs (~4 min)
    $P transfer   # fitted on the two extra stages, scored on all validation users (~5 min: trees)
    $P checks     # the chosen ranker: per fold, pre stages + 4/5 validation -> 1/5, feature-group ablations (~2 min)

Figures: NDCG@10 / Recall@10 of each ranker vs the tuned RRF (FusionSettings defaults) on the same users and pool,
with a paired bootstrap 95% interval over users of the difference. Test targets are never read.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from recagent.retrieval.learned_ranker import FEATURES, source_feature_names

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from train_learned_ranker import (  # noqa: E402  (the product builder's features and logistic fit)
    OUT,
    Standardised,
    bootstrap,
    fit_logistic,
    load_features,
    ndcg_at,
    per_user_ndcg,
    stacked,
    user_ranks,
)

SOURCE_ONLY = source_feature_names() + ["rrf", "rrf_logrank", "n_sources"]


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


def pooled_ndcg(score, y, g):
    return float(np.mean([ndcg_at(r) for r in user_ranks(score, y, g, np.zeros(len(y))).values()]))


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


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("step", choices=["cv", "nested", "transfer", "checks"])
    ap.add_argument("--only", default=None, help="cv: only rankers whose name contains this")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args()
    if args.step == "cv":
        cross_validate(tuple(args.seeds), only=args.only)
    elif args.step == "transfer":
        transfer()
    elif args.step == "checks":
        checks(tuple(args.seeds))
    elif args.step == "nested":
        nested(tuple(args.seeds))
