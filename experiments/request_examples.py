"""The issue-20 example requests through ``Recommender.chat`` (a fresh session each, top 10), plus the README's
first command: prints each list, its reply notes, and for the "like Heat" pair the TMDB violence judge and
crime/thriller/heist count of the top 5. Usage: ``RECAGENT_DATA_DIR=... python experiments/request_examples.py``.
TMDB keywords are read here (eval time) only, never by the ranking."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

from recagent.evals.probes import judge, load_tmdb
from recagent.recommender import Recommender

SHARED_DATA = Path(os.environ.get("RECAGENT_SHARED_DATA", "/work/shared/data"))

REQUESTS = [
    "Recommend a good documentary",
    "a classic film noir",
    "a survival movie",
    "a movie based on a video game",
    "a biopic about a real person",
    "a movie about a journalist",
    "a courtroom drama with lawyers",
    "a wedding movie",
    "a sad movie that will make me cry",
    "an animated movie for adults, not a kids film",
    "I loved The Shawshank Redemption and The Green Mile. Any other prison dramas?",
    "I liked Alien. More sci-fi horror, but newer than 2000",
    "movies with Tom Hanks",
    "Animation movies from the 1990s",
    "Action movies from the 2000s",
    "something like Heat but less violent, from the 90s",
]
CRIME = ("crime", "thriller", "heist", "gangster", "police", "mafia", "robbery")


def heat_check(rec, ids, tmdb) -> str:
    top = ids[:5]
    violent = [rec.catalog.get(i).title for i in top if i in tmdb and judge(tmdb[i], "violence") >= 2 / 3]
    crimeish = sum(
        1
        for i in top
        if any(g in ("Crime", "Thriller") for g in rec.catalog.get(i).genres)
        or (i in tmdb and any(any(c in k for c in CRIME) for k in tmdb[i].keywords))
    )
    judged = [(rec.catalog.get(i).title, round(judge(tmdb[i], "violence"), 2)) for i in top if i in tmdb]
    return f"  top5: violent(judge>=2/3)={violent} crime/thriller/heist={crimeish} violence judge={judged}"


def main(only: list[str]) -> None:
    rec = Recommender.from_settings()
    tmdb = load_tmdb(SHARED_DATA)
    for text in only or REQUESTS:
        resp = rec.chat(f"ex-{uuid.uuid4().hex[:8]}", text, k=10)
        ids = [r.item_id for r in resp.recommendations]
        print(f"\n## {text}\n  reply: {resp.message}")
        for n, r in enumerate(resp.recommendations, 1):
            it = rec.catalog.get(r.item_id)
            print(f"  {n:2}. {it.title} [{'|'.join(it.genres)}]")
        if "Heat" in text:
            print(heat_check(rec, ids, tmdb))
    resp = rec.recommend(likes=["Heat", "The Matrix"], query="less violent, from the 90s", k=10, rerank=True)
    ids = [r.item_id for r in resp.recommendations]
    print("\n## README: recommend --likes 'Heat, The Matrix' --query 'less violent, from the 90s' --rerank")
    print(f"  reply: {resp.message}")
    for n, i in enumerate(ids, 1):
        print(f"  {n:2}. {rec.catalog.get(i).title} [{'|'.join(rec.catalog.get(i).genres)}]")
    print(heat_check(rec, ids, tmdb))


if __name__ == "__main__":
    main(sys.argv[1:])
