"""ReDial through the chat agent itself: what a person talking to ``recagent chat`` would get.

The protocol, exactly:

* Data: the ReDial test split (``test_data.jsonl``, 1,342 dialogues, the cases of
  ``evals/protocols/redial.py``: one per movie a recommender turn suggested; 4,589 cases, 4,405 new).
* Catalog: the BUNDLED ml-latest-small (9,742 movies), as a user of the product has it. ReDial ids
  are mapped to MovieLens ids with the title/year bridge of ``retrieval/redial_bridge.py``.
* Replay: each dialogue is a fresh chat session of one ``Recommender`` (the same ``ChatAgent``, state
  and session store as ``recagent chat``). Each seeker turn goes in as a message, its ``@id`` mentions
  written as the plain title without the year, as a person types it. Each recommender turn is
  recorded in the session as what was shown (its bridged movies; :func:`record_recommender_turn`).
  The agent's own answers were never seen by the seeker: they are not left in the session as shown.
* The agent's list for a recommender turn is its answer to the seeker turn just before it, asked
  for ``depth`` (50) items. The chat caps a list at its reranker's candidates (``rerank.candidates``,
  20): ranks 1-20 are the chat's answer, ranks 21-50 continue in the retrieval order of the same
  turn's query (the candidates the agent fetched, beyond those it showed). Cases before any seeker
  turn (69 of 4,589) take the list a new user with no input gets (``Recommender.candidates()``).
* Scores: ``new/recall@k`` over new targets (not mentioned earlier by either speaker), with the
  earlier mentions removed from the list; ``recall@k`` over all cases, list as is. A target the bridge
  cannot map counts as a miss (the "all" figures); the ``bridged/`` figures leave those cases out;
  ``coverage`` is the share of (new) targets bridged.
* The floor: popularity over the bundled catalog's ratings, with the same removals.
* A limit samples whole dialogues (seeded), as in ``redial``.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from recagent.evals.beyond import BEYOND_K, ItemFacts, catalog_facts
from recagent.evals.cases import CaseResult
from recagent.evals.metrics import score
from recagent.evals.protocols.redial import RedialData, RedialProtocol, dialogue_cases, sample_dialogues
from recagent.retrieval.progress import progress_bar
from recagent.retrieval.redial_data import SEEKER, Dialogue, typed
from recagent.settings import Settings

if TYPE_CHECKING:
    from recagent.evals.config import EvalConfig
    from recagent.recommender import Recommender

DEPTH = 50
SPARE = 20  # fetched beyond the depth, so that removing earlier mentions still leaves a full list


class ChatReplayVariant(BaseModel):
    """``system: chat`` replays the dialogues through ``Recommender.chat`` with ``settings`` (overrides of
    the product defaults, nested like Settings); ``system: popularity`` is the floor."""

    model_config = ConfigDict(extra="forbid")

    name: str
    system: Literal["chat", "popularity"] = "chat"
    settings: dict[str, Any] = Field(
        default_factory=dict, description="Settings overrides, e.g. {understanding: parser}"
    )
    depth: int = Field(DEPTH, ge=1, le=200, description="items asked for per turn (the chat shows at most 20)")
    reranker: Literal["default", "none"] = Field(
        "default", description="none: the chat's reranker without an LLM (retrieval order), as with no LLM configured"
    )


class ChatReplayCase(CaseResult):
    """``rank``: the target's rank in the list as is; ``rank_new``: with earlier mentions removed (new only)."""

    new: bool
    bridged: bool
    ml_target: str | None = None
    rank_new: int | None = None
    turn_ms: float | None = None


def plain(text: str, data: RedialData) -> str:
    """``@111776`` -> ``Heat``: the title without its year, as a person types it."""
    return typed(text, data.catalog)


def bridge(data: RedialData) -> dict[str, str]:
    """ReDial movie id -> MovieLens (bundled) movie id, for the titles the bridge matches."""
    from recagent.retrieval.redial_bridge import match_movielens

    return {data.catalog.ids[pos]: ml for pos, ml in match_movielens(data.catalog).items()}


def deep_merge(base: dict, over: dict) -> dict:
    """``base`` with ``over`` laid on top, nested dicts merged key by key (a variant's settings overrides)."""
    out = dict(base)
    for k, v in over.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def variant_settings(base: Settings, overrides: dict[str, Any], sessions: Path) -> Settings:
    """The product settings with the variant's overrides, and a throwaway session store for the run."""
    merged = deep_merge(base.model_dump(), overrides)
    merged["sessions_url"] = str(sessions)
    return Settings(**merged)


class ListTap:
    """Lets the eval read the agent's candidates beyond the ones it shows, without changing what it shows:
    the agent's retrieval call fetches ``depth`` candidates and passes its usual number on."""

    def __init__(self, agent, depth: int):
        self.depth = depth
        self.last: list[str] = []
        tools = agent.pipeline.tools
        fetch = tools.candidates

        def candidates(query, k):
            cands = fetch(query, max(k, depth + SPARE))
            self.last = [c.item_id for c in cands]
            return cands[:k]

        tools.candidates = candidates


def record_recommender_turn(rec: Recommender, session_id: str, text: str, item_ids: list[str], forget: list[str]):
    """Fold a (human) recommender turn into the session with the product's own call
    (``Recommender.observe_turn``: its movies become the shown items). ``forget``: the agent's own answer,
    which the seeker never saw, is then taken back out of the shown items (the one eval-side edit)."""
    rec.observe_turn(session_id, text, item_ids)
    drop = set(forget) - set(item_ids)
    if not drop:
        return
    store = rec.sessions
    with store.session_lock(session_id):
        state = store.get(session_id)
        state.shown_ids = [i for i in state.shown_ids if i not in drop]
        store.save(state)


def _rank(ids: list[str], target: str | None, depth: int, removed: set[str] = frozenset()) -> int | None:
    """1-based rank of the target within the first ``depth`` of the list once ``removed`` are taken out."""
    if target is None:
        return None
    kept = [i for i in ids if i not in removed][:depth]
    return kept.index(target) + 1 if target in kept else None


@dataclass
class Scored:
    case: Any
    ml_target: str | None
    ids: list[str]  # the system's list, best first
    removed: set[str]  # bridged ids of the earlier mentions
    turn_ms: float | None = None


def replay(
    rec: Recommender, tap: ListTap, dialogue: Dialogue, data: RedialData, ml_of: dict[str, str], session_id: str
) -> list[Scored]:
    """One dialogue through ``rec.chat``; every case of it with the agent's list at that point."""
    depth = tap.depth
    by_turn: dict[int, list] = {}
    for case in dialogue_cases(dialogue, data.catalog):
        by_turn.setdefault(case.turn, []).append(case)
    answer: list[str] | None = None
    turn_ms = None
    out: list[Scored] = []
    for t, turn in enumerate(dialogue.turns):
        text = plain(turn.text, data)
        if turn.speaker == SEEKER:
            if not text:
                continue
            t0 = time.perf_counter()
            resp = rec.chat(session_id, text[: rec.settings.max_message_chars], k=depth)
            turn_ms = (time.perf_counter() - t0) * 1000
            shown = [r.item_id for r in resp.recommendations]
            answer = shown + [i for i in tap.last if i not in set(shown)]
            continue
        if answer is None:  # the recommender speaks first: what a new user with no input gets
            answer = [c.item_id for c in rec.candidates(k=depth + SPARE).candidates]
        for case in by_turn.get(t, []):
            removed = {ml_of[m] for m in case.mentioned if m in ml_of}
            out.append(Scored(case, ml_of.get(case.target), answer, removed, turn_ms))
        movies = list(dict.fromkeys(ml_of[m] for m in turn.movies if m in ml_of and ml_of[m] in rec.catalog))
        record_recommender_turn(rec, session_id, text, movies, forget=answer)
    return out


def popularity_cases(rec: Recommender, dialogue: Dialogue, data: RedialData, ml_of: dict[str, str], depth: int):
    counts = rec.popularity.counts
    order = np.argsort(-counts, kind="stable")
    out = []
    for case in dialogue_cases(dialogue, data.catalog):
        removed = {ml_of[m] for m in case.mentioned if m in ml_of}
        ids = [rec.catalog.ids[p] for p in order[: depth + len(removed)]]
        out.append(Scored(case, ml_of.get(case.target), ids, removed))
    return out


def replay_cases(variant: str, scored: list[Scored], depth: int) -> list[ChatReplayCase]:
    """One variant's scored turns as the run's per-case records."""
    return [
        ChatReplayCase(
            variant=variant,
            user=s.case.user,
            target=s.case.target,
            ml_target=s.ml_target,
            rank=_rank(s.ids, s.ml_target, depth),
            new=s.case.new,
            bridged=s.ml_target is not None,
            rank_new=_rank(s.ids, s.ml_target, depth, s.removed) if s.case.new else None,
            turn_ms=None if s.turn_ms is None else round(s.turn_ms, 1),
            top=[i for i in s.ids if i not in s.removed][:BEYOND_K],  # what it shows, earlier mentions removed
        )
        for s in scored
    ]


def summarize(cases: list[ChatReplayCase], metrics: list[str], seconds: float) -> dict:
    new = [c for c in cases if c.new]
    new_b = [c for c in new if c.bridged]
    turn = sorted(c.turn_ms for c in cases if c.turn_ms is not None)
    return {
        **score([c.rank for c in cases], metrics),
        **{f"new/{k}": v for k, v in score([c.rank_new for c in new], metrics).items()},
        **{f"bridged/new/{k}": v for k, v in score([c.rank_new for c in new_b], metrics).items()},
        "users": len(cases),
        "new_users": len(new),
        "new_bridged": len(new_b),
        "coverage_new": round(len(new_b) / len(new), 4) if new else 0.0,
        "coverage_all": round(sum(c.bridged for c in cases) / len(cases), 4) if cases else 0.0,
        "dialogues": len({c.user.split(":")[0] for c in cases}),
        "turn_p50_ms": round(float(np.median(turn)), 1) if turn else None,
        "seconds": round(seconds, 2),
    }


def notes(summary: dict[str, dict], metrics: list[str]) -> list[str]:
    """The report's extra table: new-item recall, all targets vs bridged targets, and coverage."""
    heads = [f"new/{m}" for m in metrics] + [f"bridged/new/{m}" for m in metrics]
    lines = [
        "## New items: all targets vs bridged targets",
        "",
        "`new/`: every new target, an unbridged one counts as a miss; `bridged/new/`: only the new targets the "
        "ReDial-to-MovieLens bridge maps into the bundled catalog. Coverage: the share of new targets bridged.",
        "",
        "| variant | " + " | ".join(heads) + " | new cases | bridged | coverage | dialogues | turn p50 ms |",
        "|---|" + "---:|" * (len(heads) + 5),
    ]
    for name, v in summary.items():
        cells = [f"{v[h]:.4f}" for h in heads]
        p50 = "-" if v.get("turn_p50_ms") is None else f"{v['turn_p50_ms']:.0f}"
        lines.append(
            f"| {name} | " + " | ".join(cells) + f" | {v['new_users']} | {v['new_bridged']} | "
            f"{v['coverage_new']:.1%} | {v['dialogues']} | {p50} |"
        )
    return lines


def run_redial_chat(config: EvalConfig, protocol: RedialChatProtocol, settings: Settings, show_progress: bool = True):
    from recagent.evals.runs import RunData
    from recagent.recommender import Recommender

    data = protocol.load(settings.shared_data)  # DatasetMissing when absent
    split = "valid" if config.stage == "valid" else "test"
    dialogues = sample_dialogues(data.dialogues(split), config.users, config.seed)
    ml_of = bridge(data)
    out = RunData()
    indexed = None  # a chat variant's Recommender, whose synced store gives the item vectors
    with tempfile.TemporaryDirectory(prefix="redial-chat-") as tmp:
        for variant in config.variants:
            t0 = time.perf_counter()
            s = variant_settings(settings, variant.settings, Path(tmp) / f"{variant.name}.sqlite")
            parts = {}
            if variant.reranker == "none":
                from recagent.agent.rerank import Reranker

                parts["reranker"] = Reranker(None, s.rerank)  # the retrieval order, whatever the calibration says
            rec = Recommender.from_parts(s, **parts)
            if variant.system == "chat":
                rec.show_progress = show_progress
                rec.index()  # what `recagent index` does; a no-op when the store and models are up to date
            tap = ListTap(rec.agent, variant.depth) if variant.system == "chat" else None
            scored: list[Scored] = []
            with progress_bar(f"{variant.name} (redial-chat)", len(dialogues), show_progress) as advance:
                for d in dialogues:
                    if variant.system == "popularity":
                        scored += popularity_cases(rec, d, data, ml_of, variant.depth)
                    else:
                        scored += replay(rec, tap, d, data, ml_of, f"redial-{d.id}")
                    advance(1)
            cases = replay_cases(variant.name, scored, variant.depth)
            out.summary[variant.name] = summarize(cases, config.metrics, time.perf_counter() - t0)
            out.cases += cases
            rec.sessions.close()
            indexed = rec if variant.system == "chat" else indexed
    out.notes = notes(out.summary, config.metrics)
    out.facts = chat_facts(rec, indexed)
    return out


def chat_facts(rec: Recommender, indexed: Recommender | None) -> ItemFacts:
    """The bundled catalog as the beyond-accuracy metrics see it: its genres, its ratings as popularity."""
    from recagent.retrieval.embeddings import Embedder

    s = rec.settings
    return catalog_facts(
        rec.catalog,
        rec.popularity.counts,
        f"rating counts of the product's catalog ({rec.catalog.name}; ReDial has no training interactions here)",
        store=indexed.store if indexed is not None else None,
        embedder=None if indexed is not None else Embedder(s.embedding_model, s.embedding_batch_size),
    )


@dataclass(frozen=True)
class RedialChatProtocol(RedialProtocol):
    """``redial-chat``: loads the ReDial data like ``redial``; the ranking is the chat agent's."""


REDIAL_CHAT = RedialChatProtocol(
    "redial-chat",
    "ReDial test dialogues replayed through the chat agent (Recommender.chat) on the bundled ml-latest-small "
    "catalog, ReDial movies bridged to MovieLens by title and year; for each movie a recommender turn suggests, "
    "the agent's answer to the seeker turn before it (ranks 1-20 the chat's list, 21-50 its retrieval order); "
    "new/recall@k over targets not mentioned earlier (earlier mentions removed; unbridged targets are misses), "
    "bridged/new/recall@k over the bridged ones",
    "redial",
    kind="redial-chat",
    metrics=["recall@1", "recall@10", "recall@50"],
    anchors={
        "GPT-4 zero-shot (He et al. 2023, ReDial catalog, new items)": {"new/recall@1": 0.0504, "new/recall@10": 0.2008}
    },
)
