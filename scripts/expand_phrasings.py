"""Expand the hand-written phrasings set from its compact notation into the label-schema JSONL.

The messages and every label value are written by hand, one line per message, in
``evals/data/understanding/phrasings-src.txt``; this only spells the notation out (titles looked up from the
bundled catalog by the ``movieId`` written by hand, empty fields filled in). It adds no message and no label.

    python scripts/expand_phrasings.py   # rewrites evals/data/understanding/phrasings.jsonl
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "evals" / "data" / "understanding" / "phrasings-src.txt"
OUT = ROOT / "evals" / "data" / "understanding" / "phrasings.jsonl"
MOVIES = ROOT / "retrieval" / "data" / "ml-latest-small" / "movies.csv"


def _split(v: str) -> list[str]:
    return [x.strip() for x in v.split(",") if x.strip()]


def main() -> None:
    titles = {r["movieId"]: r["title"] for r in csv.DictReader(MOVIES.open(encoding="utf-8"))}
    lists: dict[str, list[str]] = {}
    contexts: dict[str, list[str]] = {}
    group, counters, rows = "", {}, []
    for n, raw in enumerate(SRC.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1]
            continue
        if line.startswith("@list "):
            _, name, ids = line.split(" ", 2)
            lists[name] = _split(ids)
            continue
        if line.startswith("@ctx "):
            _, name, turns = line.split(" ", 2)
            contexts[name] = [t.strip() for t in turns.split("||")]
            continue
        if line.endswith(" |"):  # a message with no label at all
            line += " "
        text, _, labels = line.partition(" | ")
        row = {
            "hard": {"genres": [], "exclude_genres": [], "year_min": None, "year_max": None},
            "soft": {"liked_genres": [], "disliked_genres": []},
            "mentions": [], "critiques": [], "topics": [], "people": [], "references": [],
        }  # fmt: skip
        context, previous, notes = [], [], None
        rest = labels.strip()
        if " n=" in " " + rest:
            rest, _, notes = (" " + rest).partition(" n=")
        for item in filter(None, (x.strip() for x in rest.split(";"))):
            key, _, val = item.partition("=")
            if key == "g":
                row["hard"]["genres"] = _split(val)
            elif key == "x":
                row["hard"]["exclude_genres"] = _split(val)
            elif key in ("ymin", "ymax"):
                row["hard"]["year_" + key[1:]] = int(val)
            elif key == "sl":
                row["soft"]["liked_genres"] = _split(val)
            elif key == "sd":
                row["soft"]["disliked_genres"] = _split(val)
            elif key == "m":
                for m in _split(val):
                    mid, stance = m.split(":")
                    row["mentions"].append({"redial_id": None, "title": titles[mid], "ml_id": mid, "stance": stance})
            elif key == "c":
                for c in _split(val):
                    attr, d = c.split(":")
                    row["critiques"].append({"attribute": attr, "direction": int(d)})
            elif key == "t":
                row["topics"] = _split(val)
            elif key == "p":
                row["people"] = _split(val)
            elif key == "r":
                for r in _split(val):
                    pos, stance, *more = r.split(":")
                    row["references"].append({"position": int(pos), "stance": stance, "more_like": bool(more)})
            elif key == "f":
                ids = lists[val]
                previous = [{"title": titles[i], "ml_id": i} for i in ids]
                context = [*contexts[val], "RECOMMENDER: " + ", ".join(titles[i] for i in ids)]
            else:
                raise SystemExit(f"{SRC}:{n}: unknown key {key!r}")
        counters[group] = counters.get(group, 0) + 1
        rows.append({
            "id": f"ph:{group}:{counters[group]:03d}", "split": "phrasings", "group": group, "context": context,
            "previous_list": previous, "text": text.strip(), **row, "notes": notes.strip() if notes else None,
        })  # fmt: skip
    with OUT.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} rows -> {OUT}")


if __name__ == "__main__":
    main()
