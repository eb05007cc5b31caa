"""One scored case of an eval run, as every protocol writes it to ``cases.jsonl``.

Its own module, below the protocols and the runners that all write it, so that none of them has to import
another to get it (``evals/protocols`` imports it, and the runners import the protocols).
"""

from __future__ import annotations

from pydantic import BaseModel


class CaseResult(BaseModel):
    variant: str
    user: str
    target: str
    rank: int | None
    top: list[str] | None = None  # item ids of the top BEYOND_K, for the beyond-accuracy metrics (evals/beyond.py)
    beyond: dict[str, float | None] | None = None  # that list's diversity, novelty, log-pop (evals/beyond.py)
