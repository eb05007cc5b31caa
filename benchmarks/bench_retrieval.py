"""Retrieval benchmarks: indexing throughput and query latency, printed as figures.

Run from the repository root::

    .venv/bin/python benchmarks/bench_retrieval.py            # full run (several minutes)
    .venv/bin/python benchmarks/bench_retrieval.py --quick    # smoke run, tiny sizes

Sections:

1. the bundled ml-latest-small catalog through ``Recommender``: full index and
   re-index, vector / MF / hybrid retrieval latency;
2. Chroma at scale: 100k synthetic 384-d vectors, insert throughput and k=50
   query latency with and without a metadata filter;
3. MF scoring over 1M synthetic items: the ``top_k`` path ``MFRetriever.retrieve``
   uses, and fold-in of a new user;
4. ALS fit time on MovieLens 100K (from ``../shared/data/ml-100k``, if present).

Everything is written under a fresh temporary directory, never the user's data
dir. Results go to ``--out``: a Markdown table, a JSON file and a PNG chart.
Latency loops are not wrapped in progress bars (a redrawing bar would perturb
sub-millisecond timings); each figure is printed as soon as it is measured.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # run as a plain script without installing the package

from benchmarks.common import (  # noqa: E402
    WARMUP,
    Figure,
    Report,
    heading,
    machine_info,
    markdown_table,
    percentiles,
    print_machine,
    write_results,
)
from recagent.recommender import Recommender  # noqa: E402
from recagent.retrieval.base import RetrievalQuery, Scored, allowed_mask, top_k  # noqa: E402
from recagent.retrieval.catalog import Catalog, InteractionLog, Item  # noqa: E402
from recagent.retrieval.filters import Filters  # noqa: E402
from recagent.retrieval.loaders import Dataset, load_dataset  # noqa: E402
from recagent.retrieval.mf import MFRetriever  # noqa: E402
from recagent.retrieval.progress import progress_bar  # noqa: E402
from recagent.retrieval.vector_store import VectorStore, connect  # noqa: E402
from recagent.settings import MFSettings, Settings  # noqa: E402
from recagent.threads import blas_limit  # noqa: E402

ML_100K = REPO_ROOT.parent / "shared" / "data" / "ml-100k"
GENRES = [
    "Action",
    "Adventure",
    "Animation",
    "Children",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
]
K = 50


@dataclass(frozen=True)
class Sizes:
    catalog_items: int | None  # None: the whole bundled catalog
    chroma_vectors: int
    mf_items: int
    dim: int = 384
    factors: int = 64
    mf_users: int = 1000


FULL = Sizes(catalog_items=None, chroma_vectors=100_000, mf_items=1_000_000)
QUICK = Sizes(catalog_items=500, chroma_vectors=5_000, mf_items=50_000)


# --------------------------------------------------------------------------- 1. bundled catalog


def head_dataset(full: Dataset, n_items: int) -> Dataset:
    """The first ``n_items`` of a dataset's catalog and only the interactions on them."""
    catalog = Catalog(full.catalog.items[:n_items], name=f"{full.catalog.name}-head{n_items}")
    log = full.interactions
    if log is None:
        return Dataset(catalog, None, full.source)
    keep = log.item_positions < n_items  # a prefix keeps positions unchanged
    users = [log.users[u] for u in log.user_positions[keep]]
    sliced = InteractionLog(catalog, users, log.item_positions[keep], log.values[keep], log.timestamps[keep])
    return Dataset(catalog, sliced, full.source)


def bench_catalog(report: Report, tmp: Path, sizes: Sizes, repeats: int, rng: np.random.Generator) -> dict:
    sec = "bundled catalog"
    head = f" (first {sizes.catalog_items} items)" if sizes.catalog_items else ""
    heading(f"1. {sec}: Recommender on ml-latest-small{head}")
    dataset = bundled_dataset(sizes.catalog_items)
    settings = Settings(data_dir=tmp / "recagent", chroma_host=None, collection=None)
    rec = Recommender(settings, dataset=dataset, show_progress=True)
    bench_indexing(report, sec, rec)
    samples = Samples(dataset, repeats + WARMUP, rng)
    bench_vector(report, sec, rec, samples, repeats)
    bench_mf_known(report, sec, rec, samples, repeats)
    bench_hybrid(report, sec, rec, samples, repeats)
    return {
        "catalog": dataset.catalog.name,
        "items": len(dataset.catalog),
        "interactions": len(dataset.interactions),
        "users": dataset.interactions.n_users,
        "settings": {
            "mf": settings.mf.model_dump(),
            "fusion": settings.fusion.model_dump(),
            "embedding_model": settings.embedding_model,
            "embedding_batch_size": settings.embedding_batch_size,
        },
    }


def bundled_dataset(n_items: int | None) -> Dataset:
    t0 = time.perf_counter()
    dataset = load_dataset("bundled")
    if n_items:
        dataset = head_dataset(dataset, n_items)
    catalog, log = dataset.catalog, dataset.interactions
    print(
        f"  catalog {catalog.name}: {len(catalog):,} items, {len(log):,} interactions, {log.n_users:,} users "
        f"(loaded in {time.perf_counter() - t0:.2f} s)"
    )
    return dataset


class Samples:
    """Random query inputs: one per call (warm-up included), so that no cache serves a repeat."""

    def __init__(self, dataset: Dataset, n: int, rng: np.random.Generator):
        self.catalog, self.log, self.n, self.rng = dataset.catalog, dataset.interactions, n, rng
        # distinct users when the log has enough of them
        self.users = [str(u) for u in rng.choice(self.log.users, n, replace=self.log.n_users < n)]

    def liked_sets(self) -> list[list[str]]:
        """A fresh list of random 3-item sets (distinct from earlier lists, beyond chance overlaps)."""
        ids = self.catalog.ids
        return [[ids[p] for p in self.rng.choice(len(ids), 3, replace=False)] for _ in range(self.n)]

    def texts(self) -> list[str]:
        """Distinct query texts, so that the lru-cached query embedding never hits."""
        moods = ["dark", "funny", "slow-burning", "uplifting", "tense", "quirky", "romantic", "violent"]
        themes = ["a heist", "first love", "time travel", "a small town", "revenge", "space", "a road trip", "war"]
        pick = self.rng.choice
        return [f"{pick(moods)} {pick(GENRES).lower()} film about {pick(themes)}, no. {i}" for i in range(self.n)]


def bench_indexing(report: Report, sec: str, rec: Recommender) -> None:
    """Full index (embeds every item, fits the MF model), then re-index of the unchanged catalog."""
    t0 = time.perf_counter()
    _ = rec.embedder.model  # load the sentence-transformers model outside the indexing figure
    report.add(Figure(sec, "embedding model load", 1, time.perf_counter() - t0, None, "s"))

    t0 = time.perf_counter()
    result = rec.index()
    index_s = time.perf_counter() - t0
    vec = result.vector
    metric = "full index: vector sync (embed + upsert)"
    report.add(Figure(sec, metric, vec.embedded, vec.seconds, None, "s", extra={"items": vec.total}))
    throughput = vec.embedded / vec.seconds
    report.add(Figure(sec, "full index: embedding throughput", vec.embedded, throughput, None, "items/s"))
    extra = {"mf_trained_on": result.mf_trained_on}
    report.add(Figure(sec, "full index: rec.index() total (incl. MF fit)", 1, index_s, None, "s", extra=extra))

    seconds = []
    for _ in range(3):
        r = rec.store.sync(show_progress=False)
        if r.embedded:
            report.note(f"re-index embedded {r.embedded} items of an unchanged catalog")
        seconds.append(r.seconds)
    p50, p95 = percentiles(seconds)
    report.add(Figure(sec, "re-index unchanged catalog", len(seconds), p50, p95, "s", target=3.0))


def bench_vector(report: Report, sec: str, rec: Recommender, samples: Samples, repeats: int) -> None:
    store = rec.store

    def retrieve(**query) -> Scored:
        return store.retrieve(RetrievalQuery(**query), K)

    sets = samples.liked_sets()
    report.latency(sec, "vector: 3 liked ids, new set per call (k=50)", lambda i: retrieve(liked_ids=sets[i]), repeats)
    report.latency(sec, "vector: 3 liked ids, same set every call", lambda i: retrieve(liked_ids=sets[0]), repeats)
    texts = samples.texts()
    report.latency(sec, "vector: text, uncached (embed + query)", lambda i: retrieve(text=texts[i]), repeats)
    cached = "a feel-good space adventure for the whole family"
    report.latency(sec, "vector: text, cached embedding", lambda i: retrieve(text=cached), repeats)


def bench_mf_known(report: Report, sec: str, rec: Recommender, samples: Samples, repeats: int) -> None:
    users = samples.users
    retrieve = rec.mf.retrieve
    report.latency(sec, "mf: known user (k=50)", lambda i: retrieve(RetrievalQuery(user_id=users[i]), K), repeats)


def bench_hybrid(report: Report, sec: str, rec: Recommender, samples: Samples, repeats: int) -> None:
    hybrid = rec.hybrid

    def candidates(**query) -> list:
        return hybrid.candidates(RetrievalQuery(**query), k=K)

    users = samples.users
    check_len(candidates(user_id=users[0]), "hybrid, known user")
    report.latency(sec, "hybrid: known user (k=50)", lambda i: candidates(user_id=users[i]), repeats, target_ms=10)
    sets = samples.liked_sets()
    report.latency(
        sec, "hybrid: new user, 3 liked ids (k=50)", lambda i: candidates(liked_ids=sets[i]), repeats, target_ms=10
    )

    seen = np.array([len(samples.log.seen_positions(u)) for u in users])
    report.note(
        f"known users sampled have seen {int(np.median(seen))} items (median), {int(seen.max())} (max); "
        "the vector source has to skip their seen items in Chroma's results"
    )


def check_len(result, what: str) -> None:
    if len(result) != K:
        print(f"  warning: {what} returned {len(result)} results, expected {K}", flush=True)


# --------------------------------------------------------------------------- 2. Chroma at scale


def random_unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.standard_normal((n, dim), dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def synthetic_metadata(rng: np.random.Generator, n: int) -> list[dict]:
    years = rng.integers(1950, 2025, n)
    n_genres = rng.integers(1, 3, n)
    return [
        {"year": int(y), "genres": [str(g) for g in rng.choice(GENRES, k, replace=False)]}
        for y, k in zip(years, n_genres)
    ]


def bench_chroma(report: Report, tmp: Path, sizes: Sizes, repeats: int, rng: np.random.Generator) -> dict:
    sec = "chroma scale"
    n, dim = sizes.chroma_vectors, sizes.dim
    heading(f"2. {sec}: {n:,} random unit vectors, dim {dim}, embedded PersistentClient")
    client = connect(path=str(tmp / "chroma-scale"))
    col = client.get_or_create_collection("scale", metadata={"hnsw:space": "cosine"}, embedding_function=None)
    batch = min(client.get_max_batch_size(), 5000)

    elapsed = 0.0
    metadata = synthetic_metadata(rng, n)
    with progress_bar(f"inserting {n:,} vectors", n) as advance:
        for start in range(0, n, batch):
            m = min(batch, n - start)
            ids = [str(i) for i in range(start, start + m)]
            vectors, metadatas = random_unit(rng, m, dim), metadata[start : start + m]
            t0 = time.perf_counter()  # only the insert is timed, not the data generation
            col.add(ids=ids, embeddings=vectors, metadatas=metadatas)
            elapsed += time.perf_counter() - t0
            advance(m)
    report.add(
        Figure(
            sec,
            f"insert {n:,} vectors (batches of {batch})",
            n,
            n / elapsed,
            None,
            "items/s",
            extra={"seconds": elapsed, "batch": batch},
        )
    )

    # the same vectors behind recagent's VectorStore, which plans filtered queries
    catalog = Catalog(
        [
            Item(id=str(i), title=f"item {i}", text="-", year=md["year"], genres=tuple(md["genres"]))
            for i, md in enumerate(metadata)
        ],
        name="scale",
    )
    store = VectorStore(client, "scale", catalog, embedder=None)
    queries = random_unit(rng, repeats + WARMUP, dim)
    filters = Filters(year_min=1990, year_max=2010, genres=["Drama"])
    where = filters.to_where()
    matching = int(filters.mask(catalog).sum())

    report.latency(
        sec, f"query k={K}, no filter ({n:,} vectors)", lambda i: store.nearest(queries[i], K), repeats, target_ms=20
    )
    store.nearest(queries[0], K, filters)  # first filtered query loads the allowed items' vectors once
    fig = report.latency(
        sec,
        f"query k={K}, year 1990-2010 + genre Drama",
        lambda i: store.nearest(queries[i], K, filters),
        repeats,
        target_ms=20,
    )
    fig.extra["matching"] = matching
    report.latency(
        sec,
        "diagnostic: the same filter as a Chroma where clause",
        lambda i: col.query(query_embeddings=[queries[i]], n_results=K, where=where, include=["distances"]),
        min(repeats, 30),
    )
    got = len(store.nearest(queries[0], K, filters))
    report.note(
        f"the filter matches {matching:,} of {n:,} vectors ({matching / n:.1%}); a filtered query got {got}; "
        "VectorStore searches such selective filters exactly (see EXACT_SEARCH_MAX)"
    )
    return {"vectors": n, "dim": dim, "batch": batch, "where": where, "matching": matching}


# --------------------------------------------------------------------------- 3. MF scoring at scale


def bench_mf_scale(report: Report, sizes: Sizes, repeats: int, rng: np.random.Generator) -> dict:
    from implicit.cpu.als import AlternatingLeastSquares

    sec = "mf scale"
    n, f = sizes.mf_items, sizes.factors
    heading(f"3. {sec}: {n:,} items x {f} factors (the top_k path of MFRetriever.retrieve)")
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(factors=f, random_state=0)
    model.item_factors = rng.standard_normal((n, f), dtype=np.float32) * 0.1
    model.user_factors = rng.standard_normal((sizes.mf_users, f), dtype=np.float32) * 0.1
    item_factors, user_factors = model.item_factors, model.user_factors
    seen = [rng.choice(n, 200, replace=False) for _ in range(20)]

    def user(i: int) -> np.ndarray:
        return user_factors[i % len(user_factors)]

    report.latency(sec, f"scores only: item_factors @ user ({n:,})", lambda i: item_factors @ user(i), repeats)
    report.latency(
        sec, f"top_k k={K}, no mask ({n:,} items)", lambda i: top_k(item_factors @ user(i), K), repeats, target_ms=50
    )
    report.latency(
        sec,
        f"top_k k={K}, 200 seen excluded ({n:,} items)",
        lambda i: top_k(item_factors @ user(i), K, allowed_mask(n, None, seen[i % len(seen)], None)),
        repeats,
        target_ms=50,
    )

    # the rows above run as served: main() sets Settings.blas_threads (one), as the CLI and the server do
    with threadpool_limits(os.cpu_count(), "blas"):
        report.latency(
            sec,
            f"diagnostic: top_k k={K}, no mask, {os.cpu_count()} BLAS threads",
            lambda i: top_k(item_factors @ user(i), K),
            repeats,
        )

    # fold-in as MFRetriever.fold_in does it: implicit's one-row solve, on one thread (MFRetriever
    # sets num_threads=1); then implicit's default of all cores, for comparison
    rows = [liked_row(rng.choice(n, 5, replace=False), n) for _ in range(20)]
    model.num_threads = 1
    t0 = time.perf_counter()
    model.recalculate_user(0, rows[0])  # the first call computes and caches YtY over all items
    first_ms = (time.perf_counter() - t0) * 1000
    report.add(Figure(sec, f"fold-in, first call (computes YtY, {n:,} items)", 1, first_ms, None))

    def fold_in(i: int) -> np.ndarray:
        return model.recalculate_user(0, rows[i % len(rows)])

    report.latency(sec, f"fold-in 5 liked items ({n:,} items)", fold_in, repeats)
    model.num_threads = 0
    report.latency(sec, "diagnostic: fold-in, implicit num_threads=0", fold_in, repeats)
    return {"items": n, "factors": f, "users": sizes.mf_users, "excluded": 200}


def liked_row(positions: np.ndarray, n_items: int) -> sp.csr_matrix:
    data = np.ones(len(positions), dtype=np.float32)
    return sp.csr_matrix((data, (np.zeros(len(positions), dtype=np.int64), positions)), shape=(1, n_items))


# --------------------------------------------------------------------------- 4. ALS fit on ML-100K


def bench_als_fit(report: Report, fits: int = 3) -> dict:
    sec = "als fit"
    heading(f"4. {sec}: MFRetriever.fit on MovieLens 100K")
    if not (ML_100K / "u.data").exists():
        report.note(f"skipped: MovieLens 100K not found at {ML_100K}")
        return {"skipped": f"not found at {ML_100K}"}
    log = load_dataset(ML_100K).interactions
    params = MFSettings()
    seconds = []
    with progress_bar(f"fitting ALS ({len(log):,} ratings)", fits) as advance:
        for _ in range(fits):
            t0 = time.perf_counter()
            MFRetriever.fit(log, params, show_progress=False)
            seconds.append(time.perf_counter() - t0)
            advance(1)
    report.add(
        Figure(
            sec,
            f"ALS fit, {len(log):,} ratings, {params.iterations} iterations",
            fits,
            statistics.median(seconds),
            None,
            "s",
            extra={"runs_s": seconds},
        )
    )
    return {"path": str(ML_100K), "interactions": len(log), "users": log.n_users, "params": params.model_dump()}


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    p.add_argument("--out", type=Path, default=Path("bench-results"), help="output folder (default: bench-results/)")
    p.add_argument(
        "--repeats", type=int, default=None, help="timed calls per latency figure (default 200; 30 with --quick)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--keep-tmp", action="store_true", help="keep the temporary data dir")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = QUICK if args.quick else FULL
    repeats = args.repeats or (30 if args.quick else 200)
    rng = np.random.default_rng(args.seed)

    machine = machine_info()
    print_machine(machine)
    tmp = Path(tempfile.mkdtemp(prefix="recagent-bench-"))
    print(f"\nmode {'quick' if args.quick else 'full'}, {repeats} timed calls per latency figure, temp dir {tmp}")

    blas_limit(Settings().blas_threads)  # as served: the CLI and the server set it, not the Recommender
    report = Report()
    config: dict = {"quick": args.quick, "repeats": repeats, "seed": args.seed, "k": K, "sizes": asdict(sizes)}
    started = time.perf_counter()
    try:
        config["catalog"] = bench_catalog(report, tmp, sizes, repeats, rng)
        config["chroma"] = bench_chroma(report, tmp, sizes, repeats, rng)
        config["mf_scale"] = bench_mf_scale(report, sizes, repeats, rng)
        config["als_fit"] = bench_als_fit(report)
    finally:
        if args.keep_tmp:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    config["total_seconds"] = round(time.perf_counter() - started, 1)

    print(f"\n{markdown_table(report.figures)}")
    write_results(args.out, report, machine, config)
    missed = [f.metric for f in report.figures if f.met is False]
    print(f"\ntotal {config['total_seconds']} s; targets missed: {', '.join(missed) if missed else 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
