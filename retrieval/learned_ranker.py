"""A learned ranker over a known user's candidate pool: a logistic model on features of each candidate.

The pool is the union of every source's top ``per_source`` (vector, ALS, EASE, next-item, popularity). Each
candidate gets the 45 features of ``FEATURES``: per-source ranks and scores, the tuned RRF, item statistics
from the log the models were fitted on ("now" = the user's latest input), MiniLM cosines to the latest input
items, the next-item model's score and the fit log's transitions from them, genre and year gaps. The score is
``sum_j coef_j * (x_j - mean_j) / std_j``; ties keep the RRF order (``HybridRetriever.fuse``'s).

The shipped model (``retrieval/data/learned-ranker/ml-latest-small.json``, see its README.md) was fitted by
``scripts/train_learned_ranker.py`` on cases from ml-latest-small-loo's training part: validation NDCG@10 0.1173
vs the tuned RRF's 0.1045. It was learned on the bundled MovieLens ml-latest-small, so ``LearnedRanker.load``
gives None for a catalog whose titles are mostly not ml-latest-small's. ``pool_features`` is the one feature
recipe, shared by serving (``HybridRetriever``) and the script.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.special import expit

from recagent.retrieval.base import Scored
from recagent.retrieval.catalog import Catalog, InteractionLog
from recagent.retrieval.comentions import same_title_key
from recagent.retrieval.itemitem import ItemItemRetriever, Sequences
from recagent.retrieval.loaders import BUNDLED_CATALOG

DEFAULT_MODEL = Path(__file__).resolve().parent / "data" / "learned-ranker" / "ml-latest-small.json"
MIN_MATCH = 0.9  # share of the catalog's titles that must be bundled ml-latest-small titles
SOURCES = ("vector", "mf", "ease", "sequential", "popularity")
DAY = 86400.0
SEQ_TOP = 20  # seq_last1_rank_top: in the top 20 of the next-item score from the latest item
RECENT_COS, RECENT_GENRES = 5, 20


def source_feature_names() -> list[str]:
    return [f"{s}_{k}" for s in SOURCES for k in ("rr", "logrank", "normscore", "present")]


FEATURES = source_feature_names() + [
    "rrf",  # the tuned RRF score (FusionSettings defaults)
    "rrf_logrank",  # log of the candidate's rank under the tuned RRF within the pool
    "n_sources",  # how many of the five sources returned it
    "item_logpop",  # log(1 + fit-log interactions)
    "item_logpop_30d",  # log(1 + fit-log interactions in the 30 days up to now)
    "item_logpop_90d",
    "item_logpop_365d",
    "item_days_since_last",  # log(1 + days since the item's latest fit-log interaction before now) (10 if none)
    "item_days_since_first",  # log(1 + days since its first fit-log interaction before now)
    "item_mean_rating",  # mean fit-log rating (global mean if none)
    "item_year_gap",  # now's year - release year
    "user_loglen",  # log input length
    "user_gap_last",  # log(1 + seconds between the last two input items)
    "user_n_last_hour",  # input items in the hour up to now
    "user_n_last_day",
    "user_mean_rating",
    "cos_last1",  # embedding cosine to the latest input item
    "cos_last5_mean",
    "cos_last5_max",
    "seq_last1",  # next-item model's score from the latest input item alone
    "seq_last1_rank_top",  # 1 if in that score's top 20
    "trans_last1",  # log(1 + fit-log transitions latest-item -> candidate)
    "trans_last5",  # log(1 + fit-log transitions from any of the latest 5 -> candidate)
    "genre_match",  # cosine of the candidate's genres to the genre mix of the latest 20 input items
    "year_gap_recent",  # |release year - mean release year of the latest 20 input items|
]
COL = {name: j for j, name in enumerate(FEATURES)}


class RRFWeights(BaseModel):
    """The RRF the model's rrf features were computed with (the tuned FusionSettings defaults)."""

    model_config = ConfigDict(extra="forbid")
    rrf_k: float = Field(gt=0)
    vector: float = Field(ge=0)
    mf: float = Field(ge=0)
    ease: float = Field(ge=0)
    sequential: float = Field(ge=0)
    popularity: float = Field(ge=0)


class RankerModel(BaseModel):
    """The model file (written by ``scripts/train_learned_ranker.py export``)."""

    model_config = ConfigDict(extra="ignore")
    kind: str
    protocol: str
    rrf: RRFWeights
    features: list[str]
    mean: list[float]
    std: list[float]
    coef: list[float]
    intercept: float = 0.0

    @model_validator(mode="after")
    def _check(self) -> RankerModel:
        if self.features != FEATURES:
            raise ValueError("the model's features are not this code's FEATURES (re-export it)")
        if not len(self.mean) == len(self.std) == len(self.coef) == len(FEATURES):
            raise ValueError(f"mean, std and coef need {len(FEATURES)} values each")
        if any(s <= 0 for s in self.std):
            raise ValueError("every std must be positive")
        return self


@dataclass
class FitStats:
    """What the features need that does not depend on the user: from the fit log, the catalog and the vectors."""

    sorted_t: np.ndarray  # fit-log timestamps, ascending
    sorted_i: np.ndarray  # their item positions
    pop: np.ndarray  # fit-log interactions per item
    mean_rating: np.ndarray
    years: np.ndarray  # release years, the catalog median where unknown
    genres: np.ndarray
    gnorm: np.ndarray
    emb: np.ndarray  # unit-normalised item vectors
    trans: sp.csr_matrix  # a -> b: times b directly follows a in a fit-log user sequence

    @classmethod
    def build(cls, fit: InteractionLog, embeddings: np.ndarray) -> FitStats:
        catalog = fit.catalog
        n = len(catalog)
        item_t = fit.timestamps.astype(np.float64)
        order = np.argsort(item_t, kind="stable")
        pop = np.bincount(fit.item_positions, minlength=n).astype(np.float64)
        rating_sum = np.bincount(fit.item_positions, weights=fit.values, minlength=n)
        years = catalog.years.astype(np.float64)
        years = np.where(np.isnan(years), np.nanmedian(years), years)
        genres = catalog.genre_matrix.astype(np.float64)
        emb = np.asarray(embeddings, dtype=np.float64)
        emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-9)
        seqs = list(Sequences(fit))
        src = np.concatenate([s[:-1] for s in seqs]) if seqs else np.empty(0, dtype=np.int64)
        dst = np.concatenate([s[1:] for s in seqs]) if seqs else np.empty(0, dtype=np.int64)
        return cls(
            sorted_t=item_t[order],
            sorted_i=fit.item_positions[order],
            pop=pop,
            mean_rating=np.where(pop > 0, rating_sum / np.maximum(pop, 1), fit.values.mean()),
            years=years,
            genres=genres,
            gnorm=np.linalg.norm(genres, axis=1),
            emb=emb,
            trans=sp.csr_matrix((np.ones(len(src)), (src, dst)), shape=(n, n)),
        )


@dataclass
class Pool:
    positions: np.ndarray  # candidates in pool order (first source first)
    features: np.ndarray  # (n, len(FEATURES))
    rrf_rank: np.ndarray  # 1-based rank of each candidate under the RRF order


def pool_features(
    results: dict[str, Scored],
    seq: np.ndarray,
    timestamps: np.ndarray,
    values: np.ndarray,
    stats: FitStats,
    seq_model: ItemItemRetriever,
    rrf: RRFWeights,
    per_source: int,
) -> Pool:
    """The features of every candidate in the sources' pool for one user: ``seq`` is the input (item
    positions by time, ties by catalog position), ``timestamps`` / ``values`` the input's times and ratings."""
    pool: dict[int, int] = {}
    for scored in results.values():
        for p in scored.positions.tolist():
            pool.setdefault(p, len(pool))
    cand = np.fromiter(pool, dtype=np.int64, count=len(pool))
    n, n_items = len(cand), len(stats.pop)
    f = np.zeros((n, len(FEATURES)), dtype=np.float64)
    weights = rrf.model_dump()
    rrf_score = np.zeros(n)
    best_rank = np.full(n, per_source + 1.0)
    for s in SOURCES:
        f[:, COL[f"{s}_logrank"]] = math.log(per_source + 1)
        if s not in results or not len(results[s]):
            continue
        sc = results[s]
        idx = np.array([pool[p] for p in sc.positions.tolist()])
        ranks = np.arange(1, len(idx) + 1, dtype=np.float64)
        scores = sc.scores.astype(np.float64)
        lo, hi = scores.min(), scores.max()
        f[idx, COL[f"{s}_rr"]] = 1 / (rrf.rrf_k + ranks)
        f[idx, COL[f"{s}_logrank"]] = np.log(ranks)
        f[idx, COL[f"{s}_normscore"]] = (scores - lo) / (hi - lo) if hi > lo else 1.0
        f[idx, COL[f"{s}_present"]] = 1.0
        rrf_score[idx] += weights[s] / (rrf.rrf_k + ranks)
        best_rank[idx] = np.minimum(best_rank[idx], ranks)
    # the serving order: -rrf, then the best single-source rank, then catalog position
    serve = np.lexsort((cand, best_rank, -rrf_score))
    rrf_rank = np.empty(n)
    rrf_rank[serve] = np.arange(1, n + 1)
    f[:, COL["rrf"]] = rrf_score
    f[:, COL["rrf_logrank"]] = np.log(rrf_rank)
    f[:, COL["n_sources"]] = sum(f[:, COL[f"{s}_present"]] for s in SOURCES)
    # item features, "now" = the user's latest input
    now = float(np.max(timestamps))
    sorted_t, sorted_i = stats.sorted_t, stats.sorted_i
    before = np.searchsorted(sorted_t, now, side="right")
    for days, name in ((30, "item_logpop_30d"), (90, "item_logpop_90d"), (365, "item_logpop_365d")):
        start = np.searchsorted(sorted_t, now - days * DAY, side="left")
        counts = np.bincount(sorted_i[start:before], minlength=n_items)
        f[:, COL[name]] = np.log1p(counts[cand])
    f[:, COL["item_logpop"]] = np.log1p(stats.pop[cand])
    past_i, past_t = sorted_i[:before], sorted_t[:before]
    last_t = np.full(n_items, -np.inf)
    np.maximum.at(last_t, past_i, past_t)
    first_t = np.full(n_items, np.inf)
    np.minimum.at(first_t, past_i, past_t)
    lt, ft = last_t[cand], first_t[cand]
    with np.errstate(invalid="ignore"):  # no interaction before now: inf, replaced
        f[:, COL["item_days_since_last"]] = np.where(np.isfinite(lt), np.log1p((now - lt) / DAY), 10.0)
        f[:, COL["item_days_since_first"]] = np.where(np.isfinite(ft), np.log1p((now - ft) / DAY), 0.0)
    f[:, COL["item_mean_rating"]] = stats.mean_rating[cand]
    f[:, COL["item_year_gap"]] = (1970 + now / (365.25 * DAY)) - stats.years[cand]
    # user features (constant within a user)
    ts = np.sort(np.asarray(timestamps, dtype=np.float64))
    f[:, COL["user_loglen"]] = math.log(len(seq))
    f[:, COL["user_gap_last"]] = math.log1p(ts[-1] - ts[-2]) if len(ts) > 1 else 20.0
    f[:, COL["user_n_last_hour"]] = float(np.sum(ts > now - 3600))
    f[:, COL["user_n_last_day"]] = float(np.sum(ts > now - DAY))
    f[:, COL["user_mean_rating"]] = float(np.mean(values))
    # user-item features
    last5 = seq[-RECENT_COS:]
    sims = stats.emb[cand] @ stats.emb[last5].T
    f[:, COL["cos_last1"]] = sims[:, -1]
    f[:, COL["cos_last5_mean"]] = sims.mean(axis=1)
    f[:, COL["cos_last5_max"]] = sims.max(axis=1)
    s1 = seq_model.scores(seq[-1:]).astype(np.float64)
    s1[seq] = -np.inf
    top = np.argsort(-s1)[:SEQ_TOP]
    f[:, COL["seq_last1"]] = np.where(np.isfinite(s1[cand]), s1[cand], 0.0)
    f[:, COL["seq_last1_rank_top"]] = np.isin(cand, top)
    f[:, COL["trans_last1"]] = np.log1p(stats.trans[seq[-1]].toarray().ravel()[cand])
    f[:, COL["trans_last5"]] = np.log1p(np.asarray(stats.trans[last5].sum(axis=0)).ravel()[cand])
    recent = seq[-RECENT_GENRES:]
    mix = stats.genres[recent].sum(axis=0)
    f[:, COL["genre_match"]] = (stats.genres[cand] @ mix) / np.maximum(stats.gnorm[cand] * np.linalg.norm(mix), 1e-9)
    f[:, COL["year_gap_recent"]] = np.abs(stats.years[cand] - stats.years[recent].mean())
    return Pool(cand, f, rrf_rank)


def bundled_titles() -> set[str]:
    with open(BUNDLED_CATALOG / "movies.csv", newline="", encoding="utf-8") as f:
        return {same_title_key(row["title"].strip()) for row in csv.DictReader(f)}


def is_movielens_small(catalog: Catalog) -> bool:
    """At least MIN_MATCH of the catalog's titles are bundled ml-latest-small titles."""
    if not len(catalog):
        return False
    titles = bundled_titles()
    return sum(same_title_key(item.title) in titles for item in catalog.items) >= MIN_MATCH * len(catalog)


class LearnedRanker:
    """The model file's ranker for one catalog; ``attach`` gives it the fit log and vectors it needs."""

    def __init__(self, model: RankerModel, catalog: Catalog, stats: FitStats | None = None):
        self.model = model
        self.catalog = catalog
        self.stats = stats
        self._mean, self._std, self._coef = (np.array(v) for v in (model.mean, model.std, model.coef))

    @classmethod
    def load(cls, path: Path, catalog: Catalog) -> LearnedRanker | None:
        """The model at ``path`` (validated; a malformed file raises ValueError); None when ``catalog`` is not
        the one it was learned on (MovieLens ml-latest-small, or a slice of it)."""
        model = RankerModel.model_validate_json(Path(path).read_text(encoding="utf-8"))
        return cls(model, catalog) if is_movielens_small(catalog) else None

    def attach(self, fit_log: InteractionLog, embeddings: np.ndarray) -> LearnedRanker:
        """The same ranker with the statistics of ``fit_log`` (the log the models were fitted on) and the
        catalog's item vectors (the vector store's), precomputed once."""
        if fit_log.catalog is not self.catalog and len(fit_log.catalog) != len(self.catalog):
            raise ValueError("the fit log is on another catalog")
        return LearnedRanker(self.model, self.catalog, FitStats.build(fit_log, embeddings))

    def score(self, features: np.ndarray) -> np.ndarray:
        return ((features - self._mean) / self._std) @ self._coef

    def rank(
        self,
        results: dict[str, Scored],
        seq: np.ndarray,
        timestamps: np.ndarray,
        values: np.ndarray,
        seq_model: ItemItemRetriever,
        per_source: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(positions, scores) of the whole pool, best first, ties by the RRF order. The score is the model's
        probability (the intercept added): positive, as the reranker's fusion (score / max) expects."""
        if self.stats is None:
            raise RuntimeError("attach the fit log first")
        pool = pool_features(results, seq, timestamps, values, self.stats, seq_model, self.model.rrf, per_source)
        z = self.score(pool.features)
        order = np.lexsort((pool.rrf_rank, -z))
        return pool.positions[order], expit(z[order] + self.model.intercept)
