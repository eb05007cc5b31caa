"""Tune conversational retrieval on the queries the chat agent itself builds on ReDial VALID dialogues (never test).

    .venv/bin/python experiments/chat_queries.py capture --data-dir /tmp/recagent-x     # once: replay, save queries
    .venv/bin/python experiments/chat_queries.py score --data-dir /tmp/recagent-x [--set fusion.text_prior=0.5 ...]

``capture`` replays the valid dialogues exactly as the ``redial-chat`` protocol does
(``evals/protocols/redial_chat.py``: the same ``Recommender.chat``, parser understanding, no LLM) and
saves, for every new-item case, the ``RetrievalQuery`` the agent passed to its retrieval at that point,
the bridged target and the earlier mentions. ``score`` re-ranks those saved queries through
``Recommender.hybrid.candidates`` (the serving retriever, the chat's list without an LLM) under settings
overrides and prints new-item Recall@1/10/50 (unbridged targets count as misses, as in the protocol).
The development set without test: ``recagent data build-comentions --holdout 0/2 --out DIR`` builds co-mentions
from the train dialogues of half the recommenders, ``capture --split train --holdout 0/2`` replays the other
half's dialogues, and ``score --comentions DIR`` scores them with that folder's co-mentions and dialogues (the
shipped ones, built from all of train, would leak). The halves share no recommender, as test shares no worker
with train; valid does share workers with train, so its figures flatter the sources built from train.
The chat state does not depend on the retrieval settings (the agent's own answers are taken back out of
the shown items), so the saved queries stand for a full replay; confirm a choice with ``recagent eval run``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from recagent.evals.protocols.redial import RedialData, dialogue_cases
from recagent.evals.protocols.redial_chat import (
    DEPTH,
    SEEKER,
    SPARE,
    bridge,
    deep_merge,
    plain,
    record_recommender_turn,
)
from recagent.retrieval.base import RetrievalQuery
from recagent.retrieval.progress import progress_bar
from recagent.retrieval.redial_data import holdout_part
from recagent.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CHAT = {"understanding": "parser", "rerank": {"history_summary": "deterministic"}}


def recommender(settings: Settings, overrides: dict):
    from recagent.agent.rerank import Reranker
    from recagent.recommender import Recommender

    settings = Settings(**deep_merge(settings.model_dump(), overrides))
    rec = Recommender.from_parts(settings, reranker=Reranker(None, settings.rerank))  # no LLM: retrieval order
    rec.index()
    return rec


def capture(settings: Settings, redial: Path, split: str, out: Path, holdout: str | None = None) -> None:
    data = RedialData.load(redial)
    ml_of = bridge(data)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rec = recommender(settings, {**CHAT, "sessions_url": str(Path(tmp) / "s.sqlite")})
        agent = rec.agent
        fetch = agent.pipeline.tools.candidates
        last: dict = {}

        def candidates(query, k):
            last["query"] = query
            cands = fetch(query, max(k, DEPTH + SPARE))
            last["ids"] = [c.item_id for c in cands]
            return cands[:k]

        agent.pipeline.tools.candidates = candidates
        dialogues = data.dialogues(split)
        if holdout:  # the dialogues left out of a --holdout co-mention build (split by recommender)
            dialogues = holdout_part(dialogues, holdout, left_out=True)
        with progress_bar(f"replay ({split})", len(dialogues), True) as advance:
            for d in dialogues:
                sid = f"redial-{d.id}"
                by_turn: dict[int, list] = {}
                for case in dialogue_cases(d, data.catalog):
                    by_turn.setdefault(case.turn, []).append(case)
                query, answer = None, []
                for t, turn in enumerate(d.turns):
                    text = plain(turn.text, data)
                    if turn.speaker == SEEKER:
                        if text:
                            resp = rec.chat(sid, text[: rec.settings.max_message_chars], k=DEPTH)
                            shown = [r.item_id for r in resp.recommendations]
                            answer = shown + [i for i in last["ids"] if i not in set(shown)]
                            query = last["query"]
                        continue
                    for case in by_turn.get(t, []):
                        if case.new:
                            rows.append(
                                {
                                    "dialogue": d.id,
                                    "turn": t,
                                    "target": ml_of.get(case.target),
                                    "removed": sorted({ml_of[m] for m in case.mentioned if m in ml_of}),
                                    "query": None if query is None else query.model_dump(mode="json"),
                                    "served": answer[:DEPTH],
                                }
                            )
                    movies = list(
                        dict.fromkeys(ml_of[m] for m in turn.movies if m in ml_of and ml_of[m] in rec.catalog)
                    )
                    record_recommender_turn(rec, sid, text, movies, forget=answer)
                advance(1)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    print(f"wrote {len(rows)} new-item cases to {out}")


def parse_sets(sets: list[str]) -> dict:
    over: dict = {}
    for s in sets:
        key, value = s.split("=", 1)
        node = over
        *path, leaf = key.split(".")
        for p in path:
            node = node.setdefault(p, {})
        node[leaf] = json.loads(value) if value[:1] in "0123456789-[{tf" else value
    return over


def score(rec, rows: list[dict], label: str = "") -> dict:
    ranks = []
    with progress_bar(label or "score", len(rows), False) as advance:
        for r in rows:
            if r["query"] is None:
                ids = [c.item_id for c in rec.candidates(k=DEPTH + SPARE).candidates]
            else:
                ids = [c.item_id for c in rec.hybrid.candidates(RetrievalQuery(**r["query"]), DEPTH + SPARE)]
            kept = [i for i in ids if i not in set(r["removed"])][:DEPTH]
            ranks.append(kept.index(r["target"]) + 1 if r["target"] in kept else None)
            advance(1)
    out = {f"new/recall@{k}": round(sum(1 for x in ranks if x and x <= k) / len(ranks), 4) for k in (1, 10, 50)}
    out["cases"] = len(ranks)
    return out


def use_comentions(rec, folder: Path) -> None:
    """Swap in the co-mentions and the dialogue source of ``folder`` (a ``recagent data build-comentions --holdout`` build)."""
    from recagent.retrieval.comentions import CoMentionRetriever
    from recagent.retrieval.dialogues import DialogueRetriever
    from recagent.retrieval.sources import fusion_sources

    h = rec.hybrid
    comentions = CoMentionRetriever.load(rec.catalog, folder, half_life=rec.settings.fusion.comention_half_life)
    dialogues = shipped = h.model("dialogues")
    if shipped is not None:  # the same source, on the other half's dialogues
        dialogues = DialogueRetriever.load(
            rec.catalog, shipped.embed, shipped.embed_queries, rec.settings.models_dir, rec.embedder.name,
            folder, neighbours=shipped.neighbours, sharpness=shipped.sharpness,
            decay=shipped.decay, max_turns=shipped.max_turns)
    models = {name: h.model(name) for name in ("vector", "mf", "ease", "sequential", "popularity")}
    h.sources = tuple(fusion_sources(
        rec.catalog, log=h.log, preferences=h.preferences, comentions=comentions, dialogues=dialogues, **models))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["capture", "score"])
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--redial", type=Path, default=ROOT.parent / "shared" / "data" / "redial")
    ap.add_argument("--split", default="valid", choices=["valid", "train"],
                    help="train only with --holdout (the shipped co-mentions are built from train)")
    ap.add_argument("--holdout", default=None, metavar="K/N", help="capture: the train dialogues whose recommender's worker id is K modulo N")
    ap.add_argument("--comentions", type=Path, default=None,
                    help="score: co-mentions from this folder (a recagent data build-comentions --holdout build)")
    ap.add_argument("--queries", type=Path, default=Path("/tmp/chat-queries-valid.jsonl"))
    ap.add_argument("--set", nargs="*", default=[], help="settings overrides, e.g. fusion.text_prior=0.5")
    ap.add_argument("--fusion", nargs="*", default=[], help="more variants, each a JSON of FusionSettings fields")
    args = ap.parse_args()
    settings = Settings(data_dir=args.data_dir)
    if args.mode == "capture":
        if args.split == "train" and not args.holdout:
            ap.error("--split train needs --holdout: the shipped co-mentions are built from train")
        capture(settings, args.redial, args.split, args.queries, args.holdout)
        return
    rows = [json.loads(line) for line in args.queries.read_text().splitlines() if line.strip()]
    rec = recommender(settings, parse_sets(args.set))
    if args.comentions is not None:
        use_comentions(rec, args.comentions)
    print(json.dumps({"set": args.set, **score(rec, rows)}), flush=True)
    base = rec.settings.fusion
    for variant in args.fusion:
        fusion = base.model_copy(update=json.loads(variant))
        rec.hybrid.fusion = rec.hybrid.preferences.fusion = fusion
        print(json.dumps({"fusion": json.loads(variant), **score(rec, rows)}), flush=True)


if __name__ == "__main__":
    main()
