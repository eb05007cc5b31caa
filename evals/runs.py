"""Evaluate a config's variants on one protocol kind; every runner returns the same RunData.

* ``loo``: full-catalog ranking of each user's held-out item (ml100k-loo, demo). LLM
  variants rerank the retriever's top-N; users whose target is outside the top-N keep
  the retriever's rank.
* ``sampled``: each user ranks 20 candidates, the held-out item and 19 random unseen
  items (ml100k-sampled20). LLM variants see the candidates with the target placed at
  each of the configured positions, which measures position bias.
* ``conversational``: ReDial turns (evals/conversational.py).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from recagent.agent.history import HistorySummarizer, deterministic_summary, history_facts
from recagent.evals.beyond import BEYOND_K, ItemFacts, catalog_facts
from recagent.evals.cases import CaseResult
from recagent.evals.llm import Backends, LLMCaseResult, RerankJob, RerankSpec, llm_metrics, reranker_for, run_jobs
from recagent.evals.metrics import score
from recagent.evals.protocols import Protocol
from recagent.evals.protocols.loo import dataset_stats
from recagent.evals.retrievers import RetrieverBench, evaluate
from recagent.retrieval.base import Candidate
from recagent.retrieval.embeddings import Embedder
from recagent.settings import Settings

if TYPE_CHECKING:
    from recagent.evals.config import EvalConfig


@dataclass
class RunData:
    summary: dict[str, dict] = field(default_factory=dict)  # variant -> metrics (+ llm metrics, + users/seconds)
    cases: list[CaseResult] = field(default_factory=list)
    position_bias: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # variant -> pos -> metrics
    dataset: dict[str, int] = field(default_factory=dict)  # the protocol's data: users, items, interactions
    notes: list[str] = field(default_factory=list)  # extra Markdown lines for the report (a protocol's own table)
    facts: ItemFacts | None = None  # the catalog's genres, vectors and popularity, for the beyond-accuracy metrics
    beyond: dict[str, dict] = field(default_factory=dict)  # variant -> beyond-accuracy metrics (evals/beyond.py)


def sample_users(users: list[str], n: int | None, seed: int) -> list[str]:
    users = sorted(users)
    if n is not None and n < len(users):
        users = sorted(random.Random(seed).sample(users, n))
    return users


class Histories:
    """The user-history text the rerank prompt shows, deterministic or LLM-written (cached)."""

    def __init__(self, bench: RetrieverBench):
        self.bench = bench

    def __call__(self, user: str, spec: RerankSpec, backends: Backends) -> str:
        facts = history_facts(self.bench.catalog, self.bench.log.history(user))
        if spec.history == "deterministic":
            return deterministic_summary(facts)
        summarizer = HistorySummarizer(backends.get(spec), backends.cache, "llm", backends.settings.rerank.domain)
        return summarizer.summarize(facts)[0]


def _llm_summary(config: EvalConfig, cases: list[LLMCaseResult], seconds: float) -> dict:
    return {
        **score([c.rank for c in cases], config.metrics),
        **llm_metrics(cases, config.prices),
        "users": len({c.user for c in cases}),
        "seconds": round(seconds, 2),
    }


def rerank_variant(
    config: EvalConfig,
    variant,
    backends: Backends,
    cases: list,
    plan: Callable[[object, RerankSpec], LLMCaseResult | RerankJob],
    label: str,
    show_progress: bool,
) -> list[LLMCaseResult]:
    """One LLM variant over the protocol's cases: ``plan`` turns a case into a job for the LLM, or into
    a result that keeps the retriever's rank (target out of reach). A reranked target that was not among
    the candidates keeps its retriever rank too, whatever the LLM did. Results come in case order."""
    spec = variant.rerank
    planned = [plan(case, spec) for case in cases]
    jobs = [p for p in planned if isinstance(p, RerankJob)]
    reranked = iter(run_jobs(spec, reranker_for(spec, backends), jobs, label, show_progress))
    out = []
    for p in planned:
        if isinstance(p, RerankJob):
            c = next(reranked)
            p = c if c.in_candidates else c.model_copy(update={"rank": c.retriever_rank})
        out.append(p)
    return out


def run_loo(config: EvalConfig, protocol: Protocol, settings: Settings, show_progress: bool = True) -> RunData:
    dataset = protocol.load(settings.shared_data)  # DatasetMissing when absent
    split = protocol.split(dataset)
    embedder = Embedder(settings.embedding_model, settings.embedding_batch_size)
    bench = RetrieverBench(split, config.stage, settings.data_dir / "evals", embedder, show_progress)
    users = sample_users(list(bench.targets), config.users, config.seed)
    plain = [v for v in config.variants if v.rerank is None]
    data = RunData(dataset=dataset_stats(dataset.interactions))
    for variant in plain:
        some = sample_users(users, variant.users, config.seed)
        summary, cases = evaluate(
            split, config.stage, [variant], config.metrics, None, None, some, show_progress, bench
        )
        data.summary.update(summary)
        data.cases += cases
    backends = Backends(settings)
    history = Histories(bench)
    for variant in (v for v in config.variants if v.rerank is not None):
        t0 = time.perf_counter()
        some = sample_users(users, variant.users, config.seed)

        def plan(user: str, spec: RerankSpec, variant=variant) -> LLMCaseResult | RerankJob:
            target = bench.targets[user]
            target_id = bench.catalog.ids[target]
            hit = np.flatnonzero(bench.ranking(variant, user).positions == target)
            before = int(hit[0]) + 1 if len(hit) else None
            cands = bench.candidates(variant, user, spec.candidates)
            inside = any(c.item_id == target_id for c in cands)
            base = dict(variant=variant.name, user=user, target=target_id, retriever_rank=before, in_candidates=inside)
            base["top"] = [c.item_id for c in cands[:BEYOND_K]]  # kept when the LLM is not asked
            if inside or spec.rerank_all:
                return RerankJob(base=base, candidates=cands, history=history(user, spec, backends))
            return LLMCaseResult(**base, rank=before, llm_called=False)

        done = rerank_variant(config, variant, backends, some, plan, f"{variant.name} ({config.stage})", show_progress)
        data.summary[variant.name] = _llm_summary(config, done, time.perf_counter() - t0)
        data.cases += done
    data.facts = loo_facts(bench, embedder)
    return data


def loo_facts(bench: RetrieverBench, embedder: Embedder) -> ItemFacts:
    """Popularity from the interactions the models were fitted on; vectors from the run's store if it built one."""
    return catalog_facts(
        bench.catalog,
        bench.popularity.counts,
        f"interaction counts of the training log the models were fitted on ({len(bench.fit_log):,} interactions)",
        store=bench.built_store,
        embedder=embedder,
    )


# --------------------------------------------------------------------------- sampled candidates


def negatives(bench: RetrieverBench, split, user: str, n: int, seed: int) -> list[int]:
    """``n`` random items the user never interacted with (seeded per user)."""
    seen = set(split.train_valid.seen_positions(user).tolist()) | {split.test[user]}
    rng = random.Random(f"{seed}:{user}")
    pool = [p for p in range(len(bench.catalog)) if p not in seen]
    return rng.sample(pool, n)


def _as_candidate(bench: RetrieverBench, pos: int) -> Candidate:
    # equal retrieval scores: in the sampled protocol the LLM alone orders the candidates
    return Candidate.from_item(bench.catalog.items[pos], 1.0)


def run_sampled(config: EvalConfig, protocol: Protocol, settings: Settings, show_progress: bool = True) -> RunData:
    dataset = protocol.load(settings.shared_data)
    split = protocol.split(dataset)
    embedder = Embedder(settings.embedding_model, settings.embedding_batch_size)
    bench = RetrieverBench(split, "test", settings.data_dir / "evals", embedder, show_progress)
    users = sample_users(list(bench.targets), config.users or protocol.users, config.seed)
    n_neg = protocol.candidates - 1
    negs = {u: negatives(bench, split, u, n_neg, config.seed) for u in users}
    data = RunData(dataset=dataset_stats(dataset.interactions))
    backends = Backends(settings)
    history = Histories(bench)
    for variant in config.variants:
        t0 = time.perf_counter()
        spec = variant.rerank
        if spec is None:  # a retriever orders the 20 by its full ranking
            ranks = []
            for user in users:
                order = bench.ranking(variant, user, depth=len(bench.catalog)).positions.tolist()
                where = {p: i for i, p in enumerate(order)}
                end = len(order)
                target = bench.targets[user]
                t = where.get(target, end)
                rank = 1 + sum(where.get(p, end) < t for p in negs[user])
                ranks.append(rank)
                shown = sorted([target, *negs[user]], key=lambda p: where.get(p, end))[:BEYOND_K]
                data.cases.append(
                    CaseResult(
                        variant=variant.name,
                        user=user,
                        target=bench.catalog.ids[target],
                        rank=rank,
                        top=[bench.catalog.ids[p] for p in shown],
                    )
                )
            data.summary[variant.name] = {
                **score(ranks, config.metrics),
                "users": len(users),
                "seconds": round(time.perf_counter() - t0, 2),
            }
            continue
        reranker = reranker_for(spec, backends)
        jobs = []
        for user in users:
            target = bench.targets[user]
            rng = random.Random(f"{config.seed}:{user}:order")
            shuffled = negs[user][:]
            rng.shuffle(shuffled)
            text = history(user, spec, backends)
            for pos in config.positions:
                order = shuffled[:pos] + [target] + shuffled[pos:]
                base = dict(
                    variant=variant.name,
                    user=user,
                    target=bench.catalog.ids[target],
                    retriever_rank=pos + 1,  # "before" is the order shown
                    in_candidates=True,
                    position=pos,
                )
                jobs.append(RerankJob(base=base, candidates=[_as_candidate(bench, p) for p in order], history=text))
        cases = run_jobs(spec, reranker, jobs, f"{variant.name} (sampled)", show_progress)
        data.summary[variant.name] = _llm_summary(config, cases, time.perf_counter() - t0)
        data.position_bias[variant.name] = {
            str(pos): score([c.rank for c in cases if c.position == pos], config.metrics) for pos in config.positions
        }
        data.cases += cases
    if data.position_bias:  # the reference: a ranker that keeps the order it is shown
        data.position_bias["(order shown)"] = {
            str(pos): score([pos + 1] * len(users), config.metrics) for pos in config.positions
        }
    data.facts = loo_facts(bench, embedder)
    data.facts.pool = {bench.catalog.ids[p] for u in users for p in (bench.targets[u], *negs[u])}
    return data


RUNNERS = {"loo": run_loo, "sampled": run_sampled}


# --------------------------------------------------------------------------- conversational (ReDial)


def run_conversational(
    config: EvalConfig, protocol: Protocol, settings: Settings, show_progress: bool = True
) -> RunData:
    """ReDial turns. LLM variants rerank the retriever's top-N movies not mentioned earlier in the
    dialogue, with the dialogue so far as the request and the movies mentioned as the profile. For
    targets mentioned earlier (repeats) the LLM is not asked, and they keep the retriever's rank; for
    new targets the rank is the reranked one (earlier mentions removed, as in new/recall@k)."""
    from recagent.evals.conversational import RedialEvaluator
    from recagent.evals.protocols.redial import display_title

    data = protocol.load(settings.shared_data)  # DatasetMissing when absent
    embedder = Embedder(settings.embedding_model, settings.embedding_batch_size)
    evaluator = RedialEvaluator(data, settings.data_dir / "evals", embedder, show_progress)
    cases = evaluator.cases("valid" if config.stage == "valid" else "test", config.users, config.seed)
    plain = [v for v in config.variants if v.rerank is None]
    out = RunData()
    if plain:
        summary, results = evaluator.evaluate(cases, plain, config.metrics, show_progress)
        out.summary.update(summary)
        out.cases += results
    backends = Backends(settings)
    catalog = evaluator.catalog
    evaluator.sources.embed_turns(cases, show_progress=show_progress)
    for variant in (v for v in config.variants if v.rerank is not None):
        t0 = time.perf_counter()

        def plan(case, spec: RerankSpec, variant=variant) -> LLMCaseResult | RerankJob:
            rank_all, rank_new = evaluator.rank(case, variant)
            request, positions = evaluator.candidates(case, variant, spec.candidates)
            ids = [catalog.ids[p] for p in positions.tolist()]
            inside = case.new and case.target in ids
            base = dict(
                variant=variant.name,
                user=case.user,
                target=case.target,
                retriever_rank=rank_new if case.new else rank_all,
                in_candidates=inside,
                new=case.new,
                top=ids[:BEYOND_K],
            )
            if not (inside or (case.new and spec.rerank_all)):
                return LLMCaseResult(**base, rank=base["retriever_rank"], llm_called=False)
            mentioned = [display_title(catalog.get(m)) for m in case.mentioned[-8:]]
            history = (
                "Movies mentioned so far in this conversation: " + "; ".join(mentioned) + "."
                if mentioned
                else "No movie mentioned yet."
            )
            cands = [  # retrieval order as the score: scoring mode fuses it with the LLM's
                Candidate.from_item(catalog.items[p], float(len(ids) - i), title=display_title(catalog.items[p]))
                for i, p in enumerate(positions.tolist())
            ]
            return RerankJob(base=base, candidates=cands, history=history, request=request)

        done = rerank_variant(config, variant, backends, cases, plan, f"{variant.name} (redial)", show_progress)
        new_ranks = [c.rank for c in done if c.new]
        out.summary[variant.name] = {
            **_llm_summary(config, done, time.perf_counter() - t0),
            **{f"new/{k}": v for k, v in score(new_ranks, config.metrics).items()},
            "users": len(done),
            "new_users": len(new_ranks),
        }
        out.cases += done
    out.facts = evaluator.item_facts()
    return out


RUNNERS["conversational"] = run_conversational


def _run_redial_chat(config: EvalConfig, protocol: Protocol, settings: Settings, show_progress: bool = True) -> RunData:
    from recagent.evals.protocols.redial_chat import run_redial_chat  # the chat agent: imported only when run

    return run_redial_chat(config, protocol, settings, show_progress)


RUNNERS["redial-chat"] = _run_redial_chat
