"""LLM-side benchmarks with the bundled model: chat turns, prompt size, scoring vs generative.

Run from the repository root (after `recagent index`, or it indexes into a temp dir first)::

    .venv/bin/python benchmarks/bench_chat.py              # ~10 minutes on 2 cores
    .venv/bin/python benchmarks/bench_chat.py --quick      # a smoke run
    .venv/bin/python benchmarks/bench_chat.py --contention # only 4.: llama.cpp threads under a competing load

Figures (median and p95):

1. a chat turn end to end (understanding, retrieval, history, rerank, session writes), cold
   (a new Recommender: models loaded on the first turn) and warm, over scripted conversations,
   with the product defaults and with the LLM forced into every turn (hybrid understanding,
   rerank weight 0.5);
2. prompt tokens per rerank with 20 candidates, per mode (target: under 800);
3. reranking the same candidate sets in scoring mode (one forward pass) and generative mode
   (JSON with explanations), and scoring with a bootstrap of 3 permutations;
4. the warm chat turn with llama.cpp at the old thread default (every core) and at the new one
   (physical cores minus one), on an idle machine and beside busy-loop processes that each hold a
   core, in the same run.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.common import (  # noqa: E402
    Figure,
    Report,
    heading,
    machine_info,
    markdown_table,
    percentiles,
    print_machine,
    write_results,
)
from recagent.agent.rerank import RerankRequest  # noqa: E402
from recagent.recommender import Recommender  # noqa: E402
from recagent.retrieval.base import RetrievalQuery  # noqa: E402
from recagent.settings import Settings  # noqa: E402
from recagent.threads import blas_limit, default_llm_threads, usable_cores  # noqa: E402

CONVERSATION = [
    "something like Heat but less violent, from the 90s",
    "only comedies",
    "something older",
    "more like the second one",
    "not that one, I've seen it",
    "no horror, I loved The Matrix and Toy Story",
]


FORCED_WEIGHT = 0.5  # the bundled model's calibrated weight is 0 (never called): the LLM sections force one


def new_recommender(data_dir: Path) -> Recommender:
    return Recommender(Settings(data_dir=data_dir))


def llm_forced(settings: Settings, **llm) -> Settings:
    """``settings`` with the LLM reranker called on every turn (and ``llm`` overrides, e.g. threads)."""
    update = {"rerank": settings.rerank.model_copy(update={"llm_weight": FORCED_WEIGHT})}
    if llm:
        update["llm"] = settings.llm.model_copy(update=llm)
    return settings.model_copy(update=update)


def bench_chat_turns(report: Report, data_dir: Path, sessions: int, cold: int) -> Recommender:
    """Cold and warm turns of the product's default chat, then warm turns with the LLM forced into
    every turn (rerank weight 0.5, LLM understanding): the default's cost and a capable setup's."""
    sec = "chat"
    heading(f"1. {sec}: {len(CONVERSATION)}-turn conversations, bundled SmolLM2-135M")
    cold_ms = []
    for i in range(cold):
        rec = new_recommender(data_dir)
        t0 = time.perf_counter()
        rec.chat(f"cold-{i}-{time.time_ns()}", CONVERSATION[0])
        cold_ms.append((time.perf_counter() - t0) * 1000)
    p50, p95 = percentiles(cold_ms)
    report.add(Figure(sec, "cold turn (new Recommender: models load on it)", cold, p50, p95))
    default = rec  # the last cold Recommender, warm from here on
    parts = {name: getattr(default, name) for name in ("embedder", "store", "mf", "popularity", "ease", "sequential")}
    forced = Recommender.from_parts(llm_forced(default.settings), dataset=default.dataset, **parts)
    s = default.settings
    setups = {
        f"default (understanding {s.understanding}, calibrated LLM rerank weight "
        f"{default.reranker.weight().value:g})": default,
        f"LLM forced (understanding {s.understanding}, rerank weight {FORCED_WEIGHT})": forced,
    }
    for label, r in setups.items():
        r.chat(f"warm-up-{time.time_ns()}", "a funny movie please")
        first, follow = [], []
        for n in range(sessions):
            sid = f"bench-{n}-{time.time_ns()}"
            for j, msg in enumerate(CONVERSATION):
                t0 = time.perf_counter()
                r.chat(sid, msg)
                (first if j in (0, 5) else follow).append((time.perf_counter() - t0) * 1000)
        for name, samples, target in (
            ("warm turn, all turns", first + follow, 3000.0),
            ("warm turn, requests in words", first, None),
            ("warm turn, follow-ups", follow, None),
        ):
            p50, p95 = percentiles(samples)
            report.add(Figure(sec, f"{label}: {name}", len(samples), p50, p95, target=target))
    return forced


def candidate_sets(rec: Recommender, n: int, rng: random.Random) -> list:
    users = rec.dataset.interactions.users
    return [rec.hybrid.candidates(RetrievalQuery(user_id=u), k=20) for u in rng.sample(users, n)]


def bench_rerank_modes(report: Report, rec: Recommender, n: int, rng: random.Random) -> None:
    sec = "rerank"
    heading(f"2-3. {sec}: 20 candidates, k=10, {n} candidate sets of known users")
    sets = candidate_sets(rec, n, rng)
    history = "Mostly watches Drama, Comedy, Thriller. Recently: Heat; Casino; Fargo. Rated highest: Fargo; Heat."
    runs = {"scoring": {}, "generative": {}, "scoring, bootstrap 3": {"mode": "scoring", "bootstrap": 3}}
    for name, kw in runs.items():
        mode = kw.get("mode", name)
        lat, tokens, fallbacks = [], [], 0
        for cands in sets:
            resp = rec.reranker.rerank(
                RerankRequest(candidates=cands, history=history, request="", k=10),
                mode=mode,
                bootstrap=kw.get("bootstrap", 1),
            )
            lat.append(resp.latency_ms)
            if resp.tokens.prompt_tokens:  # a call that timed out reports no usage: not a 0-token prompt
                tokens.append(resp.tokens.prompt_tokens / max(1, resp.attempts))  # per call: bootstrap makes B calls
            fallbacks += resp.source != "llm"
        p50, p95 = percentiles(lat)
        report.add(Figure(sec, f"{name}: latency", n, p50, p95, extra={"fallbacks": fallbacks}))
        if tokens:
            t50, t95 = percentiles(tokens)
            report.add(
                Figure(
                    sec, f"{name}: prompt tokens per rerank call", len(tokens), t50, t95, unit="tokens", target=800.0
                )
            )
        if fallbacks:
            report.note(f"{name}: {fallbacks}/{n} reranks fell back to retrieval order")
    by = {f.metric: f.p50 for f in report.figures if f.section == sec}
    ratio = by["generative: latency"] / by["scoring: latency"]
    report.note(f"generative / scoring latency ratio (p50): {ratio:.1f}x")


BUSY_LOOP = "while True: pass"


def start_competitors(n: int) -> list[subprocess.Popen]:
    """``n`` CPU-bound processes, one core each: other work on the machine."""
    return [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(n)]


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.kill()
        proc.wait()


def warm_turns(rec: Recommender, turns: int) -> list[float]:
    """A warm-up turn, then ``turns`` turns of the scripted conversation (repeated if needed), in ms."""
    rec.chat(f"contention-warm-{time.time_ns()}", "a funny movie please")
    sid = f"contention-{time.time_ns()}"
    out = []
    for j in range(turns):
        t0 = time.perf_counter()
        rec.chat(sid, CONVERSATION[j % len(CONVERSATION)])
        out.append((time.perf_counter() - t0) * 1000)
    return out


def bench_thread_contention(report: Report, data_dir: Path, turns: int, competitors: int) -> None:
    """Warm chat turns with llama.cpp at every core (the old default) and at the new default, idle
    and beside ``competitors`` busy loops; one Recommender per thread count, sharing the retrieval,
    with the LLM reranker forced (weight 0.5) so that every turn runs llama.cpp."""
    sec = "threads"
    cores = usable_cores()
    settings = {
        f"old default, {cores} threads (all cores)": cores,
        f"new default, {default_llm_threads()} thread(s) (physical cores - 1)": default_llm_threads(),
    }
    heading(f"4. {sec}: warm chat turn, {turns} turns each, idle and beside {competitors} busy loop(s)")
    base = new_recommender(data_dir)
    parts = {name: getattr(base, name) for name in ("embedder", "store", "mf", "popularity", "ease", "sequential")}
    recs = {}
    for label, threads in settings.items():
        recs[label] = Recommender.from_parts(llm_forced(base.settings, threads=threads), dataset=base.dataset, **parts)
    p50s = {}
    for load in ("idle", f"{competitors} busy loop(s)"):
        procs = start_competitors(competitors) if load != "idle" else []
        try:
            time.sleep(0.5 if procs else 0)  # let the busy loops get going
            for label, rec in recs.items():
                samples = warm_turns(rec, turns)
                p50, p95 = percentiles(samples)
                report.add(Figure(sec, f"warm turn, {load}: {label}", len(samples), p50, p95))
                p50s[(load, label)] = p50
                print(f"  {load:>16} | {label}: p50 {p50:,.0f} ms, p95 {p95:,.0f} ms")
        finally:
            stop(procs)
    old, new = settings
    for load in ("idle", f"{competitors} busy loop(s)"):
        ratio = p50s[(load, old)] / p50s[(load, new)]
        report.note(f"{load}: the old default's p50 is {ratio:.2f}x the new default's")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--data-dir", type=Path, default=None, help="an indexed data dir to reuse (default: a temp dir)")
    p.add_argument("--out", type=Path, default=Path("bench-results"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--contention", action="store_true", help="run only 4. (threads under a competing load)")
    p.add_argument("--turns", type=int, default=6, help="4.: timed warm turns per setting and load")
    p.add_argument(
        "--competitors", type=int, default=max(1, (os.cpu_count() or 2) // 2), help="4.: busy-loop processes"
    )
    args = p.parse_args(argv)
    blas_limit(Settings().blas_threads)  # as the CLI and the server serve
    machine = machine_info()
    print_machine(machine)
    tmp = None
    data_dir = args.data_dir
    if data_dir is None:
        tmp = Path(tempfile.mkdtemp(prefix="recagent-chat-bench-"))
        data_dir = tmp
        print("\nindexing the bundled catalog into a temp dir first")
        Recommender(Settings(data_dir=data_dir), show_progress=True).index()
    sessions, cold, n_sets = (1, 1, 4) if args.quick else (5, 3, 20)
    report = Report()
    started = time.perf_counter()
    try:
        if not args.contention:
            forced = bench_chat_turns(report, data_dir, sessions, cold)
            bench_rerank_modes(report, forced, n_sets, random.Random(args.seed))  # the LLM's own cost
        bench_thread_contention(report, data_dir, 2 if args.quick else args.turns, args.competitors)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    config = {
        "quick": args.quick,
        "contention_only": args.contention,
        "contention": {"turns": args.turns, "competitors": args.competitors, "busy_loop": BUSY_LOOP},
        "sessions": sessions,
        "cold": cold,
        "candidate_sets": n_sets,
        "model": "SmolLM2-135M-Instruct Q4_1 (llama.cpp)",
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    print(f"\n{markdown_table(report.figures)}")
    write_results(args.out, report, machine, config, name="chat_threads" if args.contention else "chat")
    return 0


if __name__ == "__main__":
    sys.exit(main())
