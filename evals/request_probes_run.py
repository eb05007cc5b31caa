"""Run the request probes (evals/request_probes.py) through the product and two floors; write the run folder.

Every single-turn request is the first message of a fresh chat session (``Recommender.chat``, k = 10: the
product path; a follow-up probe's earlier turns come first, in the same session, and the floors then leave out
what the chat showed in them, as the chat itself does) and is also answered by two floors judged the same way: the catalog's popularity ranking
(restricted to the request's stated period only when it states one) and the product's own vector search
(``Recommender.search(text, k=10)``, over every turn's words for a follow-up probe). Precision@10 is hits over the movies the oracle can judge (the
TMDB-linked ones for a TMDB oracle), reported per probe and per kind. Paired critiques run through the chat
and are judged by evals/probes.py. Without ``<shared_data>/tmdb-5000`` only the genre probes run.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from recagent.evals.probes import TMDB_FILE, ProbeResult, TmdbMovie, ask, load_tmdb, score_probe
from recagent.evals.protocols import DatasetMissing
from recagent.evals.request_probes import KINDS, RequestProbe, is_hit, load_set

TOP = 10
SYSTEMS = ("chat", "popularity", "vector")


class SystemList(BaseModel):
    ids: list[str]
    titles: list[str]
    hits: list[bool | None]  # None: the oracle cannot judge that movie
    judged: int
    precision: float | None  # None: nothing judged (an empty answer scores 0)


class RequestResult(BaseModel):
    id: str
    kind: str
    text: str
    systems: dict[str, SystemList]
    chat_message: str | None = None
    chat_source: str | None = None


def judge_list(probe: RequestProbe, ids: list[str], rec, tmdb: dict[str, TmdbMovie] | None, titles) -> SystemList:
    hits = []
    for i in ids:
        item = rec.catalog.get(i)
        hits.append(is_hit(probe, list(item.genres), item.year, None if tmdb is None else tmdb.get(i)))
    judged = [h for h in hits if h is not None]
    precision = sum(judged) / len(judged) if judged else (0.0 if not ids else None)
    return SystemList(ids=ids, titles=[titles(i) for i in ids], hits=hits, judged=len(judged),
                      precision=None if precision is None else round(precision, 4))  # fmt: skip


def popularity_top(rec, probe: RequestProbe, k: int = TOP, shown: set[str] = frozenset()) -> list[str]:
    """The catalog's most popular items, in the stated period only when the request states one (and not those the
    chat already showed in the conversation)."""
    counts = np.asarray(rec.popularity.counts, dtype=np.float64)
    order = np.argsort(-counts, kind="stable")
    out = []
    for p in order:
        year = rec.catalog.items[p].year
        if probe.years and (year is None or not probe.years[0] <= year <= probe.years[1]):
            continue
        if rec.catalog.ids[p] in shown:
            continue
        out.append(rec.catalog.ids[p])
        if len(out) == k:
            break
    return out


def answer(rec, probe: RequestProbe, tmdb, titles) -> RequestResult:
    """The chat's list after the probe's turns (the earlier ones first, in the same session), and the floors';
    the vector search gets every turn's words at once. Like the chat, which never shows a film twice in a
    session, the floors leave out what the chat showed in the earlier turns."""
    session = f"request-probe-{probe.id}"
    shown: set[str] = set()
    for turn in probe.before:
        shown |= {r.item_id for r in rec.chat(session, turn, k=TOP).recommendations}
    resp = rec.chat(session, probe.text, k=TOP)
    words = rec.search(" ".join([*probe.before, probe.text]), k=TOP + len(shown))
    lists = {
        "chat": [r.item_id for r in resp.recommendations],
        "popularity": popularity_top(rec, probe, shown=shown),
        "vector": [h.item_id for h in words if h.item_id not in shown][:TOP],
    }
    return RequestResult(
        id=probe.id, kind=probe.kind, text=probe.said, chat_message=resp.message, chat_source=resp.source,
        systems={s: judge_list(probe, ids, rec, tmdb, titles) for s, ids in lists.items()},
    )  # fmt: skip


def mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def summarize(results: list[RequestResult], critiques: list[ProbeResult]) -> dict:
    kinds = {}
    for kind in KINDS:
        rs = [r for r in results if r.kind == kind]
        if not rs:
            continue
        kinds[kind] = {"probes": len(rs)}
        for s in SYSTEMS:
            vals = [r.systems[s].precision for r in rs if r.systems[s].precision is not None]
            kinds[kind][s] = {
                "precision@10": mean(vals),
                "scored": len(vals),
                "mean_judged": mean([r.systems[s].judged for r in rs]),
                "empty": sum(not r.systems[s].ids for r in rs),
            }
    overall = {
        s: mean([r.systems[s].precision for r in results if r.systems[s].precision is not None]) for s in SYSTEMS
    }
    judged = [c for c in critiques if c.moved is not None]
    return {
        "kinds": kinds,
        "all_requests": {"probes": len(results), **{s: {"precision@10": overall[s]} for s in SYSTEMS}},
        "critiques": {
            "probes": len(critiques),
            "judged": len(judged),
            "moved": sum(c.moved for c in judged),
            "share_moved": mean([float(c.moved) for c in judged]),
            "identical_lists": sum(c.base_ids == c.wish_ids for c in critiques),
        },
    }


def fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def markdown(summary: dict, results: list[RequestResult], critiques: list[ProbeResult], head: dict) -> str:
    lines = [
        f"# Request probes: {head['set']} set",
        "",
        "Each request is the first message of a fresh chat session (k = 10; a follow-up probe, `a → b`, sends its "
        "turns in order in one session and judges the list after the last). Precision@10 is over the movies the "
        "oracle can judge (catalog genres for genre probes; TMDB 5000 keywords/genres, TMDB-linked movies only, "
        "for topic and mood probes; plus the stated period). Floors judged the same way: the catalog's popularity "
        "ranking (in the stated period when there is one) and `Recommender.search(text, k=10)`. See "
        "evals/data/request_probes/README.md.",
        "",
    ]
    if head.get("skipped"):
        lines += [f"**Skipped:** {head['skipped']}", ""]
    lines += ["| kind | probes | chat | popularity | vector | mean judged (chat) | empty chat answers |",
              "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for kind, k in summary["kinds"].items():
        lines.append(
            f"| {kind} | {k['probes']} | {fmt(k['chat']['precision@10'])} | {fmt(k['popularity']['precision@10'])} "
            f"| {fmt(k['vector']['precision@10'])} | {fmt(k['chat']['mean_judged'])} | {k['chat']['empty']} |"
        )
    a = summary["all_requests"]
    lines.append(
        f"| **all** | {a['probes']} | {fmt(a['chat']['precision@10'])} | {fmt(a['popularity']['precision@10'])} "
        f"| {fmt(a['vector']['precision@10'])} | | |"
    )
    c = summary["critiques"]
    if c["probes"]:
        lines += ["", f"Paired critiques (chat): {c['moved']} of {c['judged']} judged moved the asked way "
                  f"({fmt(c['share_moved'])}); {c['probes']} pairs, {c['identical_lists']} with identical lists."]  # fmt: skip
    lines += ["", "## Per request", "",
              "| probe | kind | request | chat | pop | vector | judged (chat) | chat top 5 |",
              "|---|---|---|---:|---:|---:|---:|---|"]  # fmt: skip
    for r in results:
        s = r.systems
        top = "; ".join(f"{t}{'' if h is None else ' ✓' if h else ' ✗'}" for t, h in zip(s["chat"].titles[:5],
                                                                                    s["chat"].hits[:5]))  # fmt: skip
        lines.append(
            f"| {r.id} | {r.kind} | {r.text} | {fmt(s['chat'].precision)} | {fmt(s['popularity'].precision)} "
            f"| {fmt(s['vector'].precision)} | {s['chat'].judged}/{len(s['chat'].ids)} | {top} |"
        )
    if critiques:
        lines += ["", "## Per critique (chat)", "", "| probe | attribute | dir | plain | with wish | moved | top 3 with the wish |",
                  "|---|---|---:|---:|---:|---|---|"]  # fmt: skip
        for p in critiques:
            moved = "unjudged" if p.moved is None else "yes" if p.moved else "no"
            lines.append(f"| {p.id} | {p.attribute} | {p.direction:+d} | {fmt(p.base_score)} | {fmt(p.wish_score)} "
                         f"| {moved} | {'; '.join(p.wish_titles[:3])} |")  # fmt: skip
    lines += [
        "",
        f"Regenerate: `recagent eval probes --set {head['set']}` (add `--data-dir`, `--shared-data` as needed).",
    ]
    return "\n".join(lines) + "\n"


def plot(path: Path, summary: dict) -> Path | None:
    from recagent.evals.report import grouped_bars

    kinds = list(summary["kinds"])
    values = {s: [summary["kinds"][k][s]["precision@10"] or 0.0 for k in kinds] for s in SYSTEMS}
    return grouped_bars(path, values, kinds, "precision@10", title="request probes", rotation=0)


def evaluate(rec, requests: list[RequestProbe], critiques: list, tmdb, show_progress: bool = True, label: str = ""):
    """Ask every probe on an indexed Recommender: (request results, critique results)."""
    from recagent.retrieval.progress import progress_bar
    from recagent.retrieval.titles import display_title

    titles = lambda i: display_title(rec.catalog.get(i).title)  # noqa: E731
    results: list[RequestResult] = []
    pairs: list[ProbeResult] = []
    with progress_bar(f"request probes {label}".strip(), len(requests) + len(critiques), show_progress) as advance:
        for probe in requests:
            results.append(answer(rec, probe, tmdb, titles))
            advance(1)
        for c in critiques:
            base = ask(rec, "chat", c.base, f"request-probe-{c.id}-base", True)
            wish = ask(rec, "chat", c.wish, f"request-probe-{c.id}-wish", True)
            pairs.append(score_probe(c, "chat", base, wish, tmdb, titles))
            advance(1)
    return results, pairs


def write_run(out: Path, results: list[RequestResult], pairs: list[ProbeResult], head: dict) -> tuple[dict, dict]:
    summary = summarize(results, pairs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {"summary": out / "summary.json", "cases": out / "cases.jsonl", "report": out / "report.md"}
    files["summary"].write_text(json.dumps({**head, **summary}, indent=2))
    files["cases"].write_text(
        "".join(r.model_dump_json() + "\n" for r in results)
        + "".join(json.dumps({"critique": True, **p.model_dump()}) + "\n" for p in pairs)
    )
    files["report"].write_text(markdown(summary, results, pairs, head))
    if p := plot(out / "request_probes.png", summary):
        files["plot"] = p
    return summary, files


def run(settings, out: Path, set_name: str = "dev", limit: int | None = None, show_progress: bool = True):
    """Run one probe set on the settings' catalog; write summary.json, cases.jsonl, report.md and a plot."""
    from recagent.evals.protocols.redial_chat import variant_settings
    from recagent.recommender import Recommender

    probes = load_set(set_name)
    skipped = None
    try:
        tmdb = load_tmdb(settings.shared_data)
    except DatasetMissing:
        path = Path(settings.shared_data) / TMDB_FILE
        tmdb, skipped = (
            None,
            f"{path} is absent: the topic and mood probes and the critiques need it; only genre probes ran",
        )
    requests = [p for p in probes.requests if tmdb is not None or not p.uses_tmdb][:limit]
    critiques = [] if tmdb is None else probes.critiques[:limit]
    with tempfile.TemporaryDirectory(prefix="request-probes-") as tmp:
        rec = Recommender.from_parts(variant_settings(settings, {}, Path(tmp) / "sessions.sqlite"))
        rec.index()
        results, pairs = evaluate(rec, requests, critiques, tmdb, show_progress, f"({set_name})")
        uses_llm = any(rec.chat_uses_llm(p.text) for p in requests)
        rec.sessions.close()
    head = {"set": set_name, "skipped": skipped, "chat_may_call_llm": uses_llm, "limit": limit}
    return write_run(out, results, pairs, head)
