"""Per-request cost of the learned ranker for a known user: ``Recommender.candidates(user_id=...)`` on the bundled
catalog with ``FusionSettings.learned_ranker`` on and off, median over users (after one warm-up call each).

    taskset -c 1 nice -n 10 .venv/bin/python scripts/ranker_latency.py --users 50
"""

from __future__ import annotations

import argparse
import statistics
import time

from recagent.recommender import Recommender
from recagent.settings import FusionSettings, Settings


def main(n_users: int, k: int) -> None:
    on = Recommender.from_settings(Settings())
    on.index()
    off = Recommender.from_parts(
        Settings(fusion=FusionSettings(learned_ranker=False)),
        **{name: getattr(on, name) for name in ("embedder", "store", "mf", "popularity", "ease", "sequential")},
    )
    t0 = time.perf_counter()
    assert on.learned_ranker is not None, "the ranker did not load for this catalog"
    print(f"ranker load + attach: {time.perf_counter() - t0:.2f} s")
    assert off.hybrid.ranker is None
    users = on.dataset.interactions.users[:n_users]
    times = {"learned": [], "rrf": []}
    for user in users:
        for name, rec in (("learned", on), ("rrf", off)):
            rec.candidates(user_id=user, k=k)  # warm
            t = time.perf_counter()
            rec.candidates(user_id=user, k=k)
            times[name].append((time.perf_counter() - t) * 1000)
    med = {name: statistics.median(v) for name, v in times.items()}
    print(
        f"{len(users)} users, k={k}, {len(on.catalog)} items: median candidates() latency "
        f"learned {med['learned']:.1f} ms, RRF {med['rrf']:.1f} ms, cost {med['learned'] - med['rrf']:+.1f} ms"
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--k", type=int, default=50)
    args = ap.parse_args()
    main(args.users, args.k)
