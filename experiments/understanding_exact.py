"""Issue 19's per-field figures from an understanding eval run: hard constraints exactly right on the messages
that state one, hard constraints invented on the ones that state none, and the eval's own F1s.

    .venv/bin/python experiments/understanding_exact.py RUN_DIR LABELS.jsonl

RUN_DIR is a ``recagent eval understanding --out`` folder (its cases.jsonl, the cases with an error, and
summary.json); a case's ``errors["hard"]`` is set when its hard pairs differ from the gold's. Prints a Markdown table.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(run: Path, labels: Path) -> None:
    gold = {}
    for line in labels.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            h = row.get("hard") or {}
            gold[row["id"]] = bool(
                h.get("genres")
                or h.get("exclude_genres")
                or h.get("year_min") is not None
                or h.get("year_max") is not None
            )
    summary = json.loads((run / "summary.json").read_text())
    summary = summary.get("readers", summary)
    readers = list(summary)
    stated = sum(gold.values())
    stats = {r: {"exact": stated, "stated": stated} for r in readers}
    for line in (run / "cases.jsonl").read_text().splitlines():  # the cases with an error
        c = json.loads(line)
        if gold.get(c["id"]) and "hard" in c["errors"]:
            stats[c["reader"]]["exact"] -= 1
    print("| field | " + " | ".join(readers) + " |")
    print("|---|" + "---:|" * len(readers))

    def row(name, fn):
        print(f"| {name} | " + " | ".join(fn(r) for r in readers) + " |")

    row(
        "hard constraints exactly right (messages stating one)", lambda r: f"{stats[r]['exact']} / {stats[r]['stated']}"
    )
    row(
        "hard constraints invented (messages stating none)",
        lambda r: f"{summary[r]['invented_hard']['utterances']} / {summary[r]['invented_hard']['of']}",
    )
    for field in ("hard", "soft", "critiques", "mentions"):
        row(f"{field} F1 (P / R)", lambda r, f=field: _prf(summary[r][f]))
    row("mention stance accuracy", lambda r: f"{summary[r]['mentions']['stance_accuracy']}")
    row("seconds per message (eval)", lambda r: f"{summary[r]['seconds_per_utterance']:.3f}")


def _prf(d: dict) -> str:
    if d.get("f1") is None:
        return "n/a"
    return f"{d['f1']:.2f} ({d['precision']:.2f} / {d['recall']:.2f})"


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
