r"""Learned fusion for the chat's conversational queries: candidate features and a strict 2-fold evaluation.

    # once per half of ReDial train_data_subset500 (the chat's saved queries: experiments/chat_queries.py capture
    # --split train --holdout K/2), half K scored against co-mentions and dialogues built from the OTHER half
    .venv/bin/python experiments/learned_fusion.py extract --data-dir D --queries /tmp/c3-q0.jsonl \
        --comentions /tmp/c3-com0 --out /tmp/ltr/f0.npz
    .venv/bin/python experiments/learned_fusion.py extract --data-dir D --queries /tmp/c3-q1.jsonl \
        --comentions /tmp/c3-com1 --out /tmp/ltr/f1.npz
    .venv/bin/python experiments/learned_fusion.py evaluate /tmp/ltr/f0.npz /tmp/ltr/f1.npz --report R.json

``extract`` runs the serving sources once per saved query (``HybridRetriever.source_results`` with the
serving exclusions and per_source, as ``candidates`` does), keeps the union of their lists (the pool), each
candidate's per-source rank and within-source normalised score, its RRF score (the serving weights and
rrf_k), its soft re-rank shift (``PreferenceScorer.adjust`` minus the base) and item priors, plus the
served RRF list itself. ``evaluate`` fits each model on one half's candidates and scores the other half
(and vice versa): new-item Recall@k exactly as ``experiments/chat_queries.py score`` counts it (the list's first
DEPTH + SPARE, earlier mentions removed, the first DEPTH kept; unbridged targets are misses), against the
served RRF list of the same cases. Queries without context turns or topics keep the served list (the
serving code uses RRF for them). Findings: experiments/results/redial-chat-learned-fusion-2026-12-01.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recagent.retrieval.base import RetrievalQuery, Scored
from recagent.retrieval.catalog import Catalog

sys.path.insert(0, str(Path(__file__).resolve().parent))

K = 70  # DEPTH + SPARE of the chat protocol (evals/protocols/redial_chat.py)
DEPTH = 50
ANCHORED = ("vector", "mf", "ease", "sequential", "comentions")  # HybridRetriever's ANCHORED_SOURCES

SOURCES = (
    "vector",
    "mf",
    "ease",
    "sequential",
    "text",
    "topics",
    "comentions",
    "dialogue_popularity",
    "shown",
    "dialogues",
    "popularity",
)
RANK_SCALE = 100.0  # log-rank features are log(rank) / log(RANK_SCALE + 1): per_source ranks land in [0, 1]
QUERY_FEATURES = ("liked", "turns", "genres", "critiques", "topics", "shown")
PRIORS = ("ml_popularity", "redial_suggested", "redial_mentioned", "quality_prior", "year")


@dataclass
class Pool:
    """The fused pool of one query: catalog positions and, per source, 1-based ranks (0: absent) and scores
    normalised to [0, 1] within the source's list (0: absent)."""

    positions: np.ndarray  # (n,)
    ranks: np.ndarray  # (n, len(SOURCES)) int
    scores: np.ndarray  # (n, len(SOURCES)) float


def pool_of(results: dict[str, Scored]) -> Pool:
    """The union of the sources' lists, in order of first appearance (source order, then rank)."""
    index: dict[int, int] = {}
    for scored in results.values():
        for p in scored.positions.tolist():
            index.setdefault(p, len(index))
    n = len(index)
    ranks = np.zeros((n, len(SOURCES)), dtype=np.int32)
    scores = np.zeros((n, len(SOURCES)), dtype=np.float32)
    for name, scored in results.items():
        if name not in SOURCES or not len(scored):
            continue
        j = SOURCES.index(name)
        rows = np.array([index[p] for p in scored.positions.tolist()], dtype=np.int64)
        ranks[rows, j] = np.arange(1, len(scored) + 1)
        s = scored.scores.astype(np.float64)
        lo, hi = float(s.min()), float(s.max())
        scores[rows, j] = (s - lo) / (hi - lo) if hi > lo else 1.0
    return Pool(np.array(list(index), dtype=np.int64), ranks, scores)


def query_features(query: RetrievalQuery) -> np.ndarray:
    p = query.preferences
    return np.array(
        [
            float(bool(query.liked_ids)),
            min(len(p.context), 6) / 6.0,
            float(bool(p.genres)),
            float(bool(p.critiques)),
            float(bool(p.topics)),
            float(bool(p.shown_ids)),
        ]
    )


def feature_names() -> list[str]:
    base = [f"{s}:{kind}" for s in SOURCES for kind in ("present", "rr", "logrank", "score")]
    base += ["rrf", "rrf_logrank", "n_sources", *PRIORS]
    return [*base, *QUERY_FEATURES, *(f"{b}*{q}" for q in ("liked", "turns") for b in base)]


def features(pool: Pool, rrf: np.ndarray, priors: np.ndarray, query: np.ndarray, rrf_k: float) -> np.ndarray:
    """One row per pool item, columns as ``feature_names()``: ``rrf`` the pool's RRF scores, ``priors`` its
    item priors (n, len(PRIORS)), ``query`` the query's ``query_features``."""
    present = (pool.ranks > 0).astype(np.float64)
    safe = np.maximum(pool.ranks, 1).astype(np.float64)
    rr = present * rrf_k / (rrf_k + safe)
    logrank = present * (1.0 - np.log(safe) / np.log(RANK_SCALE + 1))
    per_source = np.stack([present, rr, logrank, pool.scores.astype(np.float64)], axis=2).reshape(len(present), -1)
    top = float(rrf.max()) if len(rrf) else 1.0
    order = np.argsort(-rrf, kind="stable")
    fused_rank = np.empty(len(rrf))
    fused_rank[order] = np.arange(1, len(rrf) + 1)
    base = np.column_stack(
        [
            per_source,
            rrf / (top if top > 0 else 1.0),
            1.0 - np.log(fused_rank) / np.log(RANK_SCALE * 10 + 1),
            present.sum(axis=1) / 4.0,
            priors,
        ]
    )
    q = np.broadcast_to(query, (len(base), len(query)))
    return np.column_stack([base, q, base * query[0], base * query[1]])


def item_priors(
    catalog: Catalog, popularity: np.ndarray, suggested: np.ndarray, mentioned: np.ndarray, quality: np.ndarray
) -> np.ndarray:
    """Per catalog item, the PRIORS columns (all roughly in [0, 1])."""
    year = np.array([np.nan if it.year is None else it.year for it in catalog.items], dtype=np.float64)
    year = np.nan_to_num((year - 1990.0) / 30.0, nan=0.0)
    logs = [np.log1p(np.asarray(a, dtype=np.float64)) for a in (popularity, suggested, mentioned)]
    logs = [a / max(float(a.max()), 1.0) for a in logs]
    return np.column_stack([*logs, np.asarray(quality, dtype=np.float64), year])


# ------------------------------------------------------------------ extract


def extract(args) -> None:
    from chat_queries import recommender, use_comentions

    from recagent.retrieval.preferences import PreferenceScorer
    from recagent.retrieval.progress import progress_bar
    from recagent.settings import Settings

    rows = [json.loads(line) for line in args.queries.read_text().splitlines() if line.strip()]
    rec = recommender(Settings(data_dir=args.data_dir), {})
    use_comentions(rec, args.comentions)
    h = rec.hybrid
    cm = h.model("comentions")
    priors = item_priors(rec.catalog, h.model("popularity").counts, cm.suggested, cm.mentioned, h.preferences.prior)
    weights = h.weights()
    out: dict[str, list] = {k: [] for k in ("positions", "ranks", "scores", "rrf", "delta", "priors")}
    cases: dict[str, list] = {k: [] for k in ("start", "target", "said", "active", "query", "rrf_k")}
    base_lists, removed = [], []
    start = 0
    with progress_bar("extract", len(rows), True) as advance:
        for r in rows:
            target = rec.catalog.position(r["target"]) if r["target"] in rec.catalog else -1
            removed.append(rec.catalog.positions(i for i in r["removed"] if i in rec.catalog).tolist())
            cases["target"].append(target)
            cases["start"].append(start)
            if r["query"] is None:  # no chat query yet: the served list is the popular one
                base_lists.append(rec.catalog.positions(c.item_id for c in rec.candidates(k=K).candidates).tolist())
                cases["said"].append(False), cases["active"].append(False)
                cases["query"].append(np.zeros(6)), cases["rrf_k"].append(h.fusion.rrf_k)
                advance(1)
                continue
            q = RetrievalQuery(**r["query"])
            q = q.model_copy(update={"filters": q.filters.normalized(rec.catalog)})
            results = h.source_results(q, h.seen_positions(q), max(h.fusion.per_source, K))
            base_lists.append(rec.catalog.positions(c.item_id for c in h.fuse(results, K, q)).tolist())
            prefs = q.preferences
            said = bool(prefs.context or prefs.topics)
            rrf_k = h.fusion.conversational_rrf_k if said else h.fusion.rrf_k
            pool = pool_of(results)
            rr = np.where(pool.ranks > 0, 1.0 / (rrf_k + np.maximum(pool.ranks, 1)), 0.0)
            w = np.array([weights.get(s, 1.0) or (1.0 if len(results) == 1 else 0.0) for s in SOURCES])
            rrf = rr @ w
            active = PreferenceScorer.active(prefs)
            delta = np.zeros(len(pool.positions))
            if active:
                near = None
                if h.fusion.anchored_critiques and q.liked_ids and prefs.critiques:
                    anchored = np.array([s in ANCHORED for s in SOURCES])
                    near = rr[:, anchored] @ w[anchored]
                delta = h.preferences.adjust(pool.positions, np.ones(len(pool.positions)), prefs, near) - 1.0
            for k, v in (
                ("positions", pool.positions),
                ("ranks", pool.ranks),
                ("scores", pool.scores),
                ("rrf", rrf),
                ("delta", delta),
                ("priors", priors[pool.positions]),
            ):
                out[k].append(v)
            cases["said"].append(said), cases["active"].append(active)
            cases["query"].append(query_features(q)), cases["rrf_k"].append(rrf_k)
            start += len(pool.positions)
            advance(1)
    flat = {k: np.concatenate(v) for k, v in out.items()}
    flat.update({f"case_{k}": np.array(v) for k, v in cases.items()})
    flat["case_end"] = np.append(flat["case_start"][1:], start)
    for name, lists in (("base", base_lists), ("removed", removed)):
        flat[f"{name}_flat"] = np.array([x for lst in lists for x in lst], dtype=np.int64)
        flat[f"{name}_off"] = np.cumsum([0] + [len(lst) for lst in lists])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **flat)
    print(f"wrote {len(rows)} cases, {start} candidates to {args.out}")


# ------------------------------------------------------------------ evaluate


class Fold:
    def __init__(self, path: Path):
        d = dict(np.load(path))
        self.d = d
        self.n = len(d["case_target"])
        self.x = np.zeros((0, len(feature_names())))
        xs, ys, groups = [], [], []
        for i in range(self.n):
            a, b = self.span(i)
            if b == a:
                continue
            pool = Pool(d["positions"][a:b], d["ranks"][a:b], d["scores"][a:b])
            xs.append(features(pool, d["rrf"][a:b], d["priors"][a:b], d["case_query"][i], float(d["case_rrf_k"][i])))
            ys.append(d["positions"][a:b] == d["case_target"][i])
            groups.append(np.full(b - a, i))
        self.x, self.y, self.group = np.concatenate(xs), np.concatenate(ys), np.concatenate(groups)

    def span(self, i):
        return int(self.d["case_start"][i]), int(self.d["case_end"][i])

    def ragged(self, name, i):
        off = self.d[f"{name}_off"]
        return self.d[f"{name}_flat"][off[i] : off[i + 1]]

    def rank_of(self, i, ranked) -> int | None:
        gone = set(self.ragged("removed", i).tolist())
        kept = [p for p in ranked[:K] if p not in gone][:DEPTH]
        t = int(self.d["case_target"][i])
        return kept.index(t) + 1 if t in kept else None

    def recall(
        self, scores: np.ndarray | None, transform: str | None = "rank", cases=None, pool_size: int = 200
    ) -> dict:
        """New-item recall of the learned order (``scores`` per row of x; None: the RRF replica), the soft
        re-rank applied after it as the product does (``transform``: how the score becomes its base; None: no
        re-rank, the score already holds the shifts); ``cases``: only these case indices."""
        ranks = []
        for i in range(self.n) if cases is None else cases:
            a, b = self.span(i)
            if not self.d["case_said"][i] or b == a:
                ranks.append(self.rank_of(i, self.ragged("base", i).tolist()))
                continue
            s = self.d["rrf"][a:b] if scores is None else scores[a:b]
            active = bool(self.d["case_active"][i]) and transform is not None
            ranked = rerank(
                s,
                self.d["positions"][a:b],
                self.d["delta"][a:b],
                active,
                transform if scores is not None else "rrf",
                pool_size,
            )
            ranks.append(self.rank_of(i, ranked))
        return summary(ranks)

    def baseline(self) -> dict:
        return summary([self.rank_of(i, self.ragged("base", i).tolist()) for i in range(self.n)])


def summary(ranks: list) -> dict:
    out = {f"r@{k}": sum(1 for r in ranks if r and r <= k) / len(ranks) for k in (1, 10, 50)}
    return out | {"hits10": sum(1 for r in ranks if r and r <= 10), "cases": len(ranks)}


def to_base(s: np.ndarray, transform: str) -> np.ndarray:
    """A learned score as the positive, max-normalised base the soft re-rank adds its shifts to."""
    if transform == "rrf":
        return s / max(float(s.max()), 1e-12)
    if transform == "shift":  # a score in the soft re-rank's own units (best 1): final = s + delta, up to a constant
        return s - s.max() + 1.0
    if transform == "exp":
        return np.exp(s - s.max())
    if transform == "rank":  # the learned order on RRF's rank-1 .. n curve (k = 30)
        r = np.empty(len(s))
        r[np.argsort(-s, kind="stable")] = np.arange(1, len(s) + 1)
        return 31.0 / (30.0 + r)
    raise ValueError(transform)


def rerank(s, positions, delta, active, transform, pool_size):
    order = np.argsort(-s, kind="stable")
    if active:
        top = order[:pool_size]
        adj = to_base(s[top], transform) + delta[top]
        order = top[np.argsort(-adj, kind="stable")]
    return positions[order].tolist()


def standardiser(x):
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    return mean, scale


def logistic(train: Fold, rows: np.ndarray, c: float = 1.0):
    """Pointwise logistic regression on all features (standardised)."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = standardiser(train.x[rows])
    lr = LogisticRegression(C=c, max_iter=2000).fit((train.x[rows] - mean) / scale, train.y[rows])
    return lambda f: ((f.x - mean) / scale) @ lr.coef_[0]


def softmax_fit(z: np.ndarray, y: np.ndarray, group: np.ndarray, l2: float, free: int = 0) -> np.ndarray:
    """Conditional logit: per case, softmax over its pool, the target's log-probability maximised (cases whose
    target is in the pool); L2 ``l2 / 100 x |w|^2 / 2`` per case on all but the first ``free`` columns."""
    from scipy.optimize import minimize

    keep = np.isin(group, np.unique(group[y]))
    z, y, group = z[keep], y[keep], group[keep]
    _, gi = np.unique(group, return_inverse=True)
    n = gi.max() + 1
    pen = np.r_[np.zeros(free), np.ones(z.shape[1] - free)] * l2 / 100.0

    def loss(w):
        s = z @ w
        mx = np.full(n, -np.inf)
        np.maximum.at(mx, gi, s)
        e = np.exp(s - mx[gi])
        den = np.bincount(gi, weights=e, minlength=n)
        val = -(s[y] - mx[gi[y]] - np.log(den[gi[y]])).sum() / n + 0.5 * (pen * w) @ w
        return val, z.T @ (e / den[gi] - y) / n + pen * w

    w0 = np.r_[np.full(free, 10.0), np.zeros(z.shape[1] - free)]
    return minimize(loss, w0, jac=True, method="L-BFGS-B", options={"maxiter": 1000}).x


def listwise(train: Fold, rows: np.ndarray, l2: float = 1.0):
    """Conditional logit on all features (standardised)."""
    mean, scale = standardiser(train.x[rows])
    w = softmax_fit((train.x[rows] - mean) / scale, train.y[rows], train.group[rows], l2)
    return lambda f: ((f.x - mean) / scale) @ w


RANK_PRIOR = [
    i for i, n in enumerate(feature_names()) if "*" not in n and n not in QUERY_FEATURES and not n.endswith(":score")
]


def residual(train: Fold, rows: np.ndarray, l2: float = 300.0):
    """Conditional logit over the RRF score and the soft re-rank shift (free, unpenalised) plus the rank and
    prior features (L2), scaled so that the shift's coefficient is 1: the soft re-rank then adds its shifts
    in its own units (transform "shift")."""
    rrf = feature_names().index("rrf")
    x = train.x[rows][:, RANK_PRIOR]
    mean, scale = standardiser(x)
    z = np.column_stack([train.x[rows, rrf], train.d["delta"][rows], (x - mean) / scale])
    w = softmax_fit(z, train.y[rows], train.group[rows], l2, free=2)
    return lambda f: (w[0] * f.x[:, rrf] + ((f.x[:, RANK_PRIOR] - mean) / scale) @ w[2:]) / w[1]


BASE = [i for i, n in enumerate(feature_names()) if "*" not in n]  # trees find the interactions themselves
HGB_CONFIGS = (  # the first was set before any tree was fitted, the others after seeing it (see the doc)
    {"max_iter": 100, "max_leaf_nodes": 7, "min_samples_leaf": 500},
    {"max_iter": 300, "max_leaf_nodes": 15, "min_samples_leaf": 200},
    {"max_iter": 200, "max_leaf_nodes": 7, "min_samples_leaf": 500},
    {"max_iter": 50, "max_leaf_nodes": 7, "min_samples_leaf": 500},
    {"max_iter": 100, "max_leaf_nodes": 4, "min_samples_leaf": 1000},
)


def hgb(train: Fold, rows: np.ndarray, config: dict):
    """Pointwise gradient-boosted trees on the base features and the soft re-rank shift."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    def design(f):
        return np.column_stack([f.x[:, BASE], f.d["delta"]])

    m = HistGradientBoostingClassifier(
        learning_rate=0.05, l2_regularization=1.0, early_stopping=False, random_state=0, **config
    )
    m.fit(design(train)[rows], train.y[rows])
    return lambda f: np.log(m.predict_proba(design(f))[:, 1] + 1e-12)


def hgb_inner_cv(train: Fold, rows: np.ndarray):
    """HGB with its config chosen inside the training half only: 2-fold over its cases (by parity)."""
    hits = []
    for config in HGB_CONFIGS:
        total = 0
        for part in (0, 1):
            fit_rows = rows & (train.group % 2 != part)
            score = hgb(train, fit_rows, config)(train)
            total += train.recall(score, "rank", cases=[i for i in range(train.n) if i % 2 == part])["hits10"]
        hits.append(total)
    best = HGB_CONFIGS[int(np.argmax(hits))]
    print(json.dumps({"inner-cv hits@10": hits, "chosen": best}), file=sys.stderr, flush=True)
    return hgb(train, rows, best)


def models(with_hgb: bool) -> dict:
    out = {
        "logistic C=1, all features": (lambda t, r: logistic(t, r), ("rank", "exp")),
        "listwise l2=1, all features": (lambda t, r: listwise(t, r), ("rank", "exp")),
        "listwise residual over RRF + shift, l2=300": (lambda t, r: residual(t, r), ("shift",)),
    }
    if with_hgb:
        for c in HGB_CONFIGS:
            label = f"hgb {c['max_iter']} iter, {c['max_leaf_nodes']} leaves, min leaf {c['min_samples_leaf']}"
            out[label] = (lambda t, r, c=c: hgb(t, r, c), (None, "rank"))
        out["hgb, config by inner CV on the training half"] = (hgb_inner_cv, ("rank",))
    return out


def evaluate(args) -> None:
    folds = [Fold(p) for p in args.features]
    print(
        json.dumps(
            {
                "features": len(feature_names()),
                "candidates": [len(f.y) for f in folds],
                "target_in_pool": [int(f.y.sum()) for f in folds],
                "cases": [f.n for f in folds],
            }
        )
    )
    report: dict = {
        "baseline (served RRF)": [f.baseline() for f in folds],
        "RRF replica from the features": [f.recall(None) for f in folds],
    }
    for name, (fit, transforms) in models(args.hgb).items():
        scores = [fit(folds[1 - i], np.ones(len(folds[1 - i].y), dtype=bool))(folds[i]) for i in (0, 1)]
        for t in transforms:
            label = f"{name} [{'score alone' if t is None else 're-rank after: ' + t}]"
            report[label] = [folds[i].recall(scores[i], t) for i in (0, 1)]
            show(label, report[label], sum(f.n for f in folds))
    table = {name: row(per, sum(f.n for f in folds)) for name, per in report.items()}
    if args.report:
        args.report.write_text(json.dumps(table, indent=1) + "\n")


def row(per: list[dict], n: int) -> dict:
    out = {"pooled r@10": round(sum(p["hits10"] for p in per) / n, 4)}
    for i, p in enumerate(per):
        out |= {f"half{i} r@{k}": round(p[f"r@{k}"], 4) for k in (1, 10, 50)}
    return out


def show(name: str, per: list[dict], n: int) -> None:
    print(json.dumps({name: row(per, n)}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    ex = sub.add_parser("extract")
    ex.add_argument("--data-dir", type=Path, required=True)
    ex.add_argument("--queries", type=Path, required=True)
    ex.add_argument("--comentions", type=Path, required=True, help="the other half's co-mention build")
    ex.add_argument("--out", type=Path, required=True)
    ev = sub.add_parser("evaluate")
    ev.add_argument("features", type=Path, nargs=2, help="the two halves' extract files")
    ev.add_argument("--hgb", action="store_true", help="also gradient-boosted trees (minutes)")
    ev.add_argument("--report", type=Path, default=None)
    args = ap.parse_args()
    (extract if args.mode == "extract" else evaluate)(args)


if __name__ == "__main__":
    main()
