"""Critique probes: does a stated wish move the list the asked way?

Each probe is a pair of requests on the bundled catalog, the same request without and with a wish
("something like Heat" / "something like Heat but less violent"), each sent as the first message of
a fresh chat session (``Recommender.chat``, the path that parses critiques) and, as a second system,
as ``Recommender.recommend(query=...)``. The top 10 of each is judged with attributes the ranking
does NOT use: TMDB 5000's keywords, genres, overview, release year and vote count
(``<shared_data>/tmdb-5000/tmdb_5000_movies.csv``, joined through the bundled ``links.csv`` tmdbId,
read at eval time only; the probe run is skipped with a reason when the file is absent).

A judge scores one movie in [0, 1] for an attribute (the share of its terms matched, at most
``CAP``, in the keywords and the overview, plus the TMDB genres that mean it), or gives the release
year (recency) or log vote count (popularity). A list's score is the judges' mean over its judged
movies (those TMDB knows). A probe moved the asked way when the wish list's score differs from
the plain list's in the probe's direction; an unchanged list (or a tie) did not move. Probes with
fewer than ``MIN_JUDGED`` judged movies in either list are reported as unjudged.
"""

from __future__ import annotations

import csv
import json
import math
import re
import tempfile
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from recagent.evals.protocols import DatasetMissing
from recagent.retrieval.loaders import BUNDLED_CATALOG

PROBES = Path(__file__).parent / "data" / "critique_probes.yaml"
TMDB_FILE = Path("tmdb-5000") / "tmdb_5000_movies.csv"
CAP = 3  # matched terms that make a movie score 1
MIN_JUDGED = 3
TOP = 10

TERMS: dict[str, list[str]] = {
    "violence": ["violence", "violent", "murder", "killer", "killing", "kill", "shootout", "gunfight", "gore",
                 "blood", "massacre", "torture", "assassin", "hitman", "revenge", "gangster", "mafia", "brutal",
                 "shot to death", "battle", "combat", "war", "terrorist", "bomb"],
    "darkness": ["death", "dying", "murder", "suicide", "dystopia", "depression", "drug addiction", "drug abuse",
                 "grief", "tragedy", "rape", "abuse", "cancer", "serial killer", "prison", "torture", "despair",
                 "neo-noir", "film noir", "violence", "revenge", "war", "corruption", "loneliness"],
    "humor": ["comedy", "parody", "spoof", "satire", "slapstick", "comedian", "funny", "hilarious", "farce"],
    "scariness": ["horror", "supernatural", "ghost", "monster", "demon", "zombie", "haunted", "slasher", "vampire",
                  "possession", "serial killer", "evil", "terror", "nightmare", "creature"],
    "family": ["family", "children", "child", "kids", "friendship", "talking animal", "based on children's book",
               "fairy tale", "animation", "puppy", "dog", "christmas"],
    "topic:heist": ["heist", "robbery", "robber", "thief", "theft", "burglar", "con artist", "swindle", "casino",
                    "vault", "steal"],
    "topic:space": ["space", "outer space", "spaceship", "spacecraft", "astronaut", "space travel", "space station",
                    "planet", "galaxy", "moon", "mars", "alien"],
    "topic:true story": ["based on true story", "based on true events", "true story", "biography",
                         "historical figure", "inspired by true events", "based on a true story", "real life"],
}  # fmt: skip
GENRES: dict[str, list[str]] = {
    "violence": ["War"],
    "darkness": ["Horror", "Thriller", "Crime", "War"],
    "humor": ["Comedy"],
    "scariness": ["Horror"],
    "family": ["Family", "Animation"],
    "topic:space": ["Science Fiction"],
    "topic:true story": ["History"],
}
ATTRIBUTES = [*TERMS, "recency", "popularity"]


class Probe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    base: str = Field(description="the request without the wish")
    wish: str = Field(description="the same request with the wish")
    attribute: str
    direction: Literal[-1, 1]


class ProbeSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    settings: dict[str, Any] = Field(default_factory=dict, description="Settings overrides for the Recommender")
    reranker: Literal["default", "none"] = "default"
    systems: list[Literal["chat", "recommend"]] = Field(default_factory=lambda: ["chat", "recommend"])
    probes: list[Probe] = Field(min_length=1)


def load_probes(path: Path = PROBES) -> ProbeSet:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    probes = ProbeSet.model_validate(data)
    bad = [p.id for p in probes.probes if p.attribute not in ATTRIBUTES]
    if bad:
        raise ValueError(f"{path}: unknown attribute in probes {bad}; known: {', '.join(ATTRIBUTES)}")
    return probes


class TmdbMovie(BaseModel):
    title: str
    year: int | None
    genres: list[str]
    keywords: list[str]
    overview: str
    vote_count: int


def load_tmdb(shared_data: Path, movielens_dir: Path = BUNDLED_CATALOG) -> dict[str, TmdbMovie]:
    """MovieLens movieId -> its TMDB 5000 row (only the movies TMDB 5000 has)."""
    path = Path(shared_data) / TMDB_FILE
    if not path.is_file():
        raise DatasetMissing(f"the critique probes need {path}, which is absent; skipped")
    rows = {}
    with path.open(newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            date = r["release_date"] or ""
            rows[r["id"]] = TmdbMovie(
                title=r["title"],
                year=int(date[:4]) if date[:4].isdigit() else None,
                genres=[g["name"] for g in json.loads(r["genres"] or "[]")],
                keywords=[k["name"].lower() for k in json.loads(r["keywords"] or "[]")],
                overview=(r["overview"] or "").lower(),
                vote_count=int(float(r["vote_count"] or 0)),
            )
    out = {}
    with open(Path(movielens_dir) / "links.csv", newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["tmdbId"] in rows:
                out[r["movieId"]] = rows[r["tmdbId"]]
    return out


def judge(movie: TmdbMovie, attribute: str) -> float | None:
    if attribute == "recency":
        return movie.year
    if attribute == "popularity":
        return math.log1p(movie.vote_count)
    text = " | ".join(movie.keywords) + " | " + movie.overview
    hits = sum(1 for t in TERMS[attribute] if re.search(rf"(?<![a-z]){re.escape(t)}(?![a-z])", text))
    hits += sum(2 for g in GENRES.get(attribute, []) if g in movie.genres)
    return min(hits, CAP) / CAP


def list_score(ids: list[str], tmdb: dict[str, TmdbMovie], attribute: str) -> tuple[float | None, int]:
    """(mean judge score over the judged movies, how many were judged)."""
    vals = [v for i in ids if i in tmdb and (v := judge(tmdb[i], attribute)) is not None]
    return (sum(vals) / len(vals) if vals else None), len(vals)


class ProbeResult(BaseModel):
    id: str
    system: str
    attribute: str
    direction: int
    base_ids: list[str]
    wish_ids: list[str]
    base_titles: list[str]
    wish_titles: list[str]
    base_score: float | None
    wish_score: float | None
    judged: tuple[int, int]
    moved: bool | None  # None: unjudged
    overlap: int  # movies in both top-10s


def score_probe(probe: Probe, system: str, base: list[str], wish: list[str], tmdb, titles) -> ProbeResult:
    bs, bn = list_score(base, tmdb, probe.attribute)
    ws, wn = list_score(wish, tmdb, probe.attribute)
    moved = None
    if bn >= MIN_JUDGED and wn >= MIN_JUDGED:
        moved = (ws - bs) * probe.direction > 1e-9
    return ProbeResult(
        id=probe.id, system=system, attribute=probe.attribute, direction=probe.direction,
        base_ids=base, wish_ids=wish, base_titles=[titles(i) for i in base], wish_titles=[titles(i) for i in wish],
        base_score=None if bs is None else round(bs, 4), wish_score=None if ws is None else round(ws, 4),
        judged=(bn, wn), moved=moved, overlap=len(set(base) & set(wish)),
    )  # fmt: skip


def ask(rec, system: str, text: str, session_id: str, rerank: bool) -> list[str]:
    if system == "chat":
        resp = rec.chat(session_id, text, k=TOP)
    else:
        resp = rec.recommend(query=text, k=TOP, rerank=rerank)
    return [r.item_id for r in resp.recommendations]


def summarize(results: list[ProbeResult]) -> dict:
    out: dict[str, dict] = {}
    for system in dict.fromkeys(r.system for r in results):
        rs = [r for r in results if r.system == system]
        judged = [r for r in rs if r.moved is not None]
        per = {}
        for a in dict.fromkeys(r.attribute for r in rs):
            ja = [r for r in judged if r.attribute == a]
            per[a] = {"probes": sum(r.attribute == a for r in rs), "judged": len(ja), "moved": sum(r.moved for r in ja)}
        out[system] = {
            "probes": len(rs),
            "judged": len(judged),
            "moved": sum(r.moved for r in judged),
            "share_moved": round(sum(r.moved for r in judged) / len(judged), 4) if judged else 0.0,
            "unchanged_lists": sum(r.base_ids == r.wish_ids for r in rs),
            "attributes": per,
        }
    return out


def markdown(summary: dict, results: list[ProbeResult], probes: ProbeSet) -> str:
    lines = [
        "# Critique probes",
        "",
        "Pairs of requests without and with a wish, each the first message of a fresh session; the top 10 judged "
        "with TMDB 5000 keywords, genres, overview, year and vote count (which the ranking does not use). "
        f"Settings overrides: `{probes.settings}`, reranker: {probes.reranker}. See evals/probes.py.",
        "",
        "| system | probes | judged | moved the asked way | share | identical lists |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for system, s in summary.items():
        lines.append(
            f"| {system} | {s['probes']} | {s['judged']} | {s['moved']} | {s['share_moved']:.0%} | {s['unchanged_lists']} |"
        )
    systems = list(summary)
    lines += ["", "| attribute | " + " | ".join(f"{s} moved / judged" for s in systems) + " |",
              "|---|" + "---:|" * len(systems)]  # fmt: skip
    for a in dict.fromkeys(r.attribute for r in results):
        cells = [f"{summary[s]['attributes'][a]['moved']} / {summary[s]['attributes'][a]['judged']}" for s in systems]
        lines.append(f"| {a} | " + " | ".join(cells) + " |")
    lines += ["", "## Per probe", "", "| probe | system | attribute | dir | plain | with wish | moved | top 3 with the wish |",
              "|---|---|---|---:|---:|---:|---|---|"]  # fmt: skip
    for r in results:
        fmt = lambda v: "-" if v is None else f"{v:.3g}"  # noqa: E731
        moved = "unjudged" if r.moved is None else "yes" if r.moved else "no"
        lines.append(
            f"| {r.id} | {r.system} | {r.attribute} | {r.direction:+d} | {fmt(r.base_score)} | {fmt(r.wish_score)} | "
            f"{moved} | {'; '.join(r.wish_titles[:3])} |"
        )
    return "\n".join(lines) + "\n"


def plot(path: Path, summary: dict) -> Path | None:
    from recagent.evals.report import grouped_bars

    attrs = list(next(iter(summary.values()))["attributes"])
    shares = {
        s: [per[a]["moved"] / per[a]["judged"] if per[a]["judged"] else 0 for a in attrs]
        for s, per in ((s, summary[s]["attributes"]) for s in summary)
    }
    return grouped_bars(
        path, shares, attrs, "share of probes moved the asked way", target=(0.8, "target 80%"), rotation=25
    )


def run(settings, out: Path, probes_path: Path = PROBES, limit: int | None = None, show_progress: bool = True):
    """Run the probes through the product path; write summary.json, cases.jsonl, report.md, a plot."""
    from recagent.evals.protocols.redial_chat import variant_settings
    from recagent.recommender import Recommender
    from recagent.retrieval.progress import progress_bar
    from recagent.retrieval.titles import display_title

    tmdb = load_tmdb(settings.shared_data)  # DatasetMissing when absent
    probes = load_probes(probes_path)
    chosen = probes.probes[:limit]
    results: list[ProbeResult] = []
    with tempfile.TemporaryDirectory(prefix="probes-") as tmp:
        s = variant_settings(settings, probes.settings, Path(tmp) / "sessions.sqlite")
        parts = {}
        if probes.reranker == "none":
            from recagent.agent.rerank import Reranker

            parts["reranker"] = Reranker(None, s.rerank)
        rec = Recommender.from_parts(s, **parts)
        rec.index()
        titles = lambda i: display_title(rec.catalog.get(i).title)  # noqa: E731
        with progress_bar("critique probes", len(chosen) * len(probes.systems), show_progress) as advance:
            for probe in chosen:
                for system in probes.systems:
                    rerank = probes.reranker != "none"
                    base = ask(rec, system, probe.base, f"probe-{probe.id}-base", rerank)
                    wish = ask(rec, system, probe.wish, f"probe-{probe.id}-wish", rerank)
                    results.append(score_probe(probe, system, base, wish, tmdb, titles))
                    advance(1)
        rec.sessions.close()
    summary = summarize(results)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {"summary": out / "summary.json", "cases": out / "cases.jsonl", "report": out / "report.md"}
    files["summary"].write_text(json.dumps({"probes": str(probes_path), "settings": probes.settings,
                                            "reranker": probes.reranker, "systems": summary}, indent=2))  # fmt: skip
    files["cases"].write_text("".join(r.model_dump_json() + "\n" for r in results))
    files["report"].write_text(markdown(summary, results, probes))
    if p := plot(out / "probes.png", summary):
        files["plot"] = p
    return summary, files
