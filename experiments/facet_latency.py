"""Retrieval time of a warm chat turn with request facets on and off (same process, same parts): each message's
query is built by the pipeline, then ``HybridRetriever.candidates(query, 20)`` is timed on its first call (new
words: the text source and the facet reader embed them) and on a second (cached). Medians over the messages. Usage:
``RECAGENT_DATA_DIR=... python experiments/facet_latency.py``."""

from __future__ import annotations

import statistics
import time

from recagent.recommender import Recommender
from recagent.settings import FusionSettings, Settings

MESSAGES = [
    "something like Heat but less violent, from the 90s", "only comedies", "something older",
    "no horror, I loved The Matrix and Toy Story", "Recommend a good documentary", "a classic film noir",
    "a survival movie", "a biopic about a real person", "a movie about a journalist", "a wedding movie",
    "a sad movie that will make me cry", "an animated movie for adults, not a kids film",
    "I loved The Shawshank Redemption and The Green Mile. Any other prison dramas?", "movies with Tom Hanks",
    "I liked Alien. More sci-fi horror, but newer than 2000", "Animation movies from the 1990s",
    "Action movies from the 2000s", "a heist movie set in space", "any good movies lately?", "I like comedies",
]  # fmt: skip


def main() -> None:
    on = Recommender.from_settings()
    on.index()
    parts = {k: v for k, v in on.built_parts().items() if k not in ("hybrid", "chat_tools", "pipeline", "agent")}
    off = Recommender.from_parts(Settings(fusion=FusionSettings(request_facets=False)), **parts)
    on.chat("warm", "a funny movie please")
    off.chat("warm", "a funny movie please")
    for name, rec in (("facets off", off), ("facets on", on)):
        times, again = [], []
        for text in MESSAGES:
            query = rec.candidates(query=text, k=20).query  # built by the pipeline
            rec.embedder._query_cache.clear()  # new words: nothing cached (an experiment may look inside)
            if name == "facets on":
                rec.facet_reader._cache.clear()
                rec.facet_reader.reads.clear()
            t0 = time.perf_counter()
            rec.hybrid.candidates(query, 20)
            times.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            rec.hybrid.candidates(query, 20)  # the same words again (cached query vectors, as a repeated script)
            again.append((time.perf_counter() - t0) * 1000)
        print(
            f"{name}: retrieval p50 {statistics.median(times):.1f} ms new words, "
            f"{statistics.median(again):.1f} ms cached words, over {len(times)} messages"
        )


if __name__ == "__main__":
    main()
