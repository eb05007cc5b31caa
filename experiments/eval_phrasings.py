"""Run the understanding eval on a labelled set outside ReDial's train/valid split (issue 19's hand-written
phrasings set, on the ``heldout`` branch), with this branch's readers; the eval's own scoring and report.

    nice -n 5 .venv/bin/python experiments/eval_phrasings.py LABELS.jsonl OUT_DIR --data-dir DIR [--reader R ...]

``evals/understanding.load_labels`` accepts only ReDial train/valid rows; this reads every row with the same
``Label`` model instead (unknown fields are ignored), then calls ``evaluate`` and ``write`` as ``run`` does.
Each message is read alone (a follow-up's previous list is not given to the reader).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from recagent.evals import understanding as ue


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("labels", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--reader", action="append", default=None)
    args = ap.parse_args()
    from recagent.recommender import Recommender
    from recagent.settings import Settings

    labels = [ue.Label.model_validate_json(line) for line in args.labels.read_text().splitlines() if line.strip()]
    rec = Recommender.from_parts(Settings(data_dir=args.data_dir))
    rec.index()
    readers = args.reader or ["parser", "learned", "combined"]
    summary, cases = ue.evaluate(labels, {r: ue.make_reader(r, rec) for r in readers}, True)
    files = ue.write(args.out, summary, cases, args.labels, len(labels))
    print(files["report"].read_text())


if __name__ == "__main__":
    main()
