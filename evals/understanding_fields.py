"""Per-message field scores for the understanding eval (issue 19 item 4), beside the pooled P/R/F1 of
evals/understanding.py: what a user sees is a message read right or wrong, not a pooled pair count.

* ``hard_exact``: of the messages whose gold states a hard constraint, the share whose hard constraints
  are all exactly right (genres and exclusions as sets, both year bounds equal);
* ``hard_invented``: of the messages whose gold states none (the negatives), the share given one;
* ``references``: list references as (position, stance, more_like) and as positions alone, P/R/F1. The
  reader reads text only (``Recommender.understand``): the chat resolves a reference against the list it
  showed later, in the state update (agent/state/update.py), so references are scored as read, textually;
* ``state_exact``: messages whose hard, soft, critiques, mentions (title and stance) and references all
  equal the gold's (topics and people left out: free text);
* per ``group`` of the phrasings set: hard exact and invented, so a weak phrasing family shows;
* latency per message (ms): mean, p50, p95, max.
"""

from __future__ import annotations

from collections import defaultdict
from statistics import mean, median


def _ref_pairs(r) -> set[tuple[int, str, bool]]:
    return {(x.position, x.stance, x.more_like) for x in r.references}


def _prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else (1.0 if not fn else 0.0)
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "gold": tp + fn, "predicted": tp + fp}


def _rate(k: int, n: int) -> dict:
    return {"count": k, "of": n, "rate": round(k / n, 4) if n else None}


class FieldScorer:
    """One reader's per-message tallies; ``add`` is called by ``Scorer.add`` with the same gold and reading."""

    def __init__(self):
        self.hard_right = self.hard_gold = self.invented = self.negatives = 0
        self.state_right = 0
        self.refs = [0, 0, 0]  # tp, fp, fn on (position, stance, more_like)
        self.positions = [0, 0, 0]
        self.groups: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # exact, with hard, invented, without
        self.ms: list[float] = []

    def add(self, gold, pred, seconds: float, same_mentions: bool) -> None:
        from recagent.evals.understanding import critique_pairs, hard_pairs, soft_pairs

        g_hard, p_hard = hard_pairs(gold), hard_pairs(pred)
        grp = self.groups[getattr(gold, "group", None) or "all"]
        if g_hard:
            self.hard_gold += 1
            grp[1] += 1
            if p_hard == g_hard:
                self.hard_right += 1
                grp[0] += 1
        else:
            self.negatives += 1
            grp[3] += 1
            if p_hard:
                self.invented += 1
                grp[2] += 1
        for tally, fn in ((self.refs, _ref_pairs), (self.positions, lambda r: {x.position for x in r.references})):
            p, g = fn(pred), fn(gold)
            tally[0] += len(p & g)
            tally[1] += len(p - g)
            tally[2] += len(g - p)
        same = all(f(pred) == f(gold) for f in (hard_pairs, soft_pairs, critique_pairs, _ref_pairs))
        self.state_right += same and same_mentions
        self.ms.append(seconds * 1000)

    def summary(self) -> dict:
        ms = sorted(self.ms)
        n = len(ms)
        return {
            "hard_exact": _rate(self.hard_right, self.hard_gold),
            "hard_invented": _rate(self.invented, self.negatives),
            "references": _prf(*self.refs),
            "reference_positions": _prf(*self.positions),
            "state_exact": _rate(self.state_right, n),
            "groups": {g: {"hard_exact": v[0], "with_hard": v[1], "invented": v[2], "without_hard": v[3]}
                       for g, v in sorted(self.groups.items())},
            "latency_ms": {"mean": round(mean(ms), 2) if ms else 0.0, "p50": round(median(ms), 2) if ms else 0.0,
                           "p95": round(ms[min(n - 1, int(0.95 * n))], 2) if ms else 0.0,
                           "max": round(ms[-1], 2) if ms else 0.0},
        }  # fmt: skip


def markdown(summary: dict[str, dict]) -> list[str]:
    """The per-message table of the report, one column per reader."""
    readers = [r for r in summary if "fields" in summary[r]]
    if not readers:
        return []

    def frac(v: dict) -> str:
        return "-" if v["rate"] is None else f"{v['rate']:.3f} ({v['count']} of {v['of']})"

    def prf(v: dict) -> str:
        return f"none in gold, {v['predicted']} predicted" if not v["gold"] else (
            f"{v['precision']:.2f} / {v['recall']:.2f} / {v['f1']:.2f} (gold {v['gold']})")  # fmt: skip

    f = {r: summary[r]["fields"] for r in readers}
    rows = [
        ("hard constraints exactly right (messages that state one)", lambda s: frac(s["hard_exact"])),
        ("hard constraint invented (messages that state none)", lambda s: frac(s["hard_invented"])),
        ("list references (position, stance, more_like) P / R / F1", lambda s: prf(s["references"])),
        ("list reference positions P / R / F1", lambda s: prf(s["reference_positions"])),
        ("whole reading exactly right (hard, soft, critiques, mentions, references)", lambda s: frac(s["state_exact"])),
        ("latency per message, ms: p50 / p95 / mean / max",
         lambda s: "{p50:.1f} / {p95:.1f} / {mean:.1f} / {max:.1f}".format(**s["latency_ms"])),
    ]  # fmt: skip
    lines = ["", "## Per message", "", "| | " + " | ".join(readers) + " |", "|---|" + "---:|" * len(readers)]
    lines += [f"| {name} | " + " | ".join(fn(f[r]) for r in readers) + " |" for name, fn in rows]
    groups = sorted({g for r in readers for g in f[r]["groups"]})
    if len(groups) > 1 or groups != ["all"]:
        lines += ["", "Per group: hard exactly right of those with one; invented of those with none.", "",
                  "| group | " + " | ".join(f"{r}: exact" for r in readers) + " | "
                  + " | ".join(f"{r}: invented" for r in readers) + " |",
                  "|---|" + "---:|" * (2 * len(readers))]  # fmt: skip
        for g in groups:
            cells = [f[r]["groups"].get(g, {}) for r in readers]
            ex = [f"{c.get('hard_exact', 0)} of {c.get('with_hard', 0)}" for c in cells]
            inv = [f"{c.get('invented', 0)} of {c.get('without_hard', 0)}" for c in cells]
            lines.append(f"| {g} | " + " | ".join(ex) + " | " + " | ".join(inv) + " |")
    return lines
