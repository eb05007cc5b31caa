"""Latency of reading one message: the parser alone and the learned reader (parser + span classifier over
MiniLM), per message, on the bundled catalog's reader (its title spotter and genres), MiniLM loaded first.

    nice -n 5 .venv/bin/python benchmarks/bench_reader.py          # ~1 minute on 2 cores
    nice -n 5 .venv/bin/python benchmarks/bench_reader.py --n 100  # fewer messages

Messages: the 390 ReDial utterances of evals/data/understanding/labels.jsonl (most have no year or genre span:
nothing is embedded for them) and generated messages that all have spans (scripts/reader_training_data.py, seed 7).
Each message is read once, uncached (the reader's cache is bypassed). Prints median and p90 and the machine.
Target: the learned reader's p50 at most 150 ms a message on 2 cores (issue 19).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from benchmarks.common import machine_info, print_machine  # noqa: E402


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=390, help="messages of each set")
    args = ap.parse_args()

    from reader_training_data import generate

    from recagent.agent.reading.learned import LearnedReader, candidate_spans, load_model
    from recagent.agent.reading.parser import parse_message
    from recagent.recommender import Recommender
    from recagent.settings import Settings

    rec = Recommender(Settings())
    vocab, spot = rec.catalog.genre_vocab, rec.resolver.spot
    reader = LearnedReader(load_model(), vocab, rec.embedder.embed)
    rec.embedder.embed(["warm up"])
    labels = ROOT / "evals" / "data" / "understanding" / "labels.jsonl"
    redial = [json.loads(line)["text"] for line in labels.read_text().splitlines() if line.strip()][: args.n]
    titles = sorted({it.title.rsplit(" (", 1)[0] for it in rec.catalog})[:2000]
    generated = [m["text"] for m in generate(args.n, 7, vocab, titles, time.localtime().tm_year)]

    print_machine(machine_info())
    for name, texts in (("ReDial labels.jsonl", redial), ("generated (all with spans)", generated)):
        for t in texts[:5]:
            reader.read(t, parse_message(t, vocab, spot))
        parser_ms, learned_ms, spans = [], [], []
        for t in texts:
            t0 = time.perf_counter()
            parsed = parse_message(t, vocab, spot)
            t1 = time.perf_counter()
            reader.read(t, parsed)
            t2 = time.perf_counter()
            parser_ms.append((t1 - t0) * 1000)
            learned_ms.append((t2 - t0) * 1000)
            spans.append(len(candidate_spans(t, parsed, vocab)))
        with_spans = sum(s > 0 for s in spans)
        print(f"\n{name}: {len(texts)} messages, {with_spans} with a candidate span, {sum(spans)} spans")
        for label, xs in (("parser", parser_ms), ("learned (parser + spans + MiniLM)", learned_ms)):
            print(f"  {label:36s} median {statistics.median(xs):7.1f} ms   p90 {pct(xs, 0.9):7.1f} ms")


if __name__ == "__main__":
    main()
