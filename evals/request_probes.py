"""Request probes: does one plain request, as the first message of a fresh chat, get on-request films? And
(the follow-ups set) does the request still hold after a message that narrows it ("only from the 90s")?

The probe sets (``evals/data/request_probes/{dev,test}.yaml``) were written by hand before any run (see the
README there). Each single-turn request names its oracle, which the ranking does not use: the catalog's own
genres for genre requests, TMDB 5000 keywords / genres (``<shared_data>/tmdb-5000``, read at eval time only,
through the bundled ``links.csv``) for topic and mood requests, and the request's stated period (catalog
year). Paired critiques are the critique probes of evals/probes.py, judged the same way.

This module holds the probe models and the oracle; evals/request_probes_run.py runs them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from recagent.evals.probes import ATTRIBUTES, Probe, TmdbMovie

SETS_DIR = Path(__file__).parent / "data" / "request_probes"
SETS = ("dev", "dev2", "test", "followups-dev", "followups")  # dev, dev2, followups-dev: tuning; the rest frozen
KINDS = ("genre", "topic", "mood")


class RequestProbe(BaseModel):
    """One single-turn request and its oracle: a hit meets every condition that is given."""

    model_config = ConfigDict(extra="forbid")

    id: str
    kind: Literal["genre", "topic", "mood"]
    before: list[str] = Field(
        default_factory=list, description="earlier turns of the same chat session; the list after `text` is judged"
    )
    text: str = Field(min_length=3)
    genres: list[str] = Field(default_factory=list, description="catalog genres, all required")
    keywords: list[str] = Field(default_factory=list, description="TMDB keywords, any makes a hit")
    tmdb_genres: list[str] = Field(default_factory=list, description="TMDB genres, any makes a hit (like a keyword)")
    exclude_tmdb_genres: list[str] = Field(default_factory=list, description="TMDB genres that make a miss")
    years: tuple[int, int] | None = Field(None, description="the period the request states (catalog year)")

    @model_validator(mode="after")
    def _has_an_oracle(self):
        if self.kind == "genre" and (not self.genres or self.uses_tmdb):
            raise ValueError(f"{self.id}: a genre probe is judged by catalog genres only")
        if self.kind != "genre" and not self.uses_tmdb:
            raise ValueError(f"{self.id}: a {self.kind} probe needs TMDB keywords or genres")
        if self.years and self.years[0] > self.years[1]:
            raise ValueError(f"{self.id}: years must be [first, last]")
        return self

    @property
    def said(self) -> str:
        """The conversation as one line: "a war movie → only comedies please" (the text alone without turns before)."""
        return " → ".join([*self.before, self.text])

    @property
    def uses_tmdb(self) -> bool:
        return bool(self.keywords or self.tmdb_genres or self.exclude_tmdb_genres)


class CritiqueProbe(Probe):
    """A pair without / with a wish (evals/probes.py's model and judges)."""


class RequestProbeSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requests: list[RequestProbe] = Field(min_length=1)
    critiques: list[CritiqueProbe] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_and_known(self):
        ids = [p.id for p in self.requests] + [p.id for p in self.critiques]
        if len(set(ids)) != len(ids):
            raise ValueError("probe ids must be unique")
        bad = [p.id for p in self.critiques if p.attribute not in ATTRIBUTES]
        if bad:
            raise ValueError(f"unknown critique attribute in {bad}; known: {', '.join(ATTRIBUTES)}")
        return self

    def texts(self) -> set[str]:
        """Every request (normalised): a single turn, a conversation as one line, both halves of each pair."""
        out = {p.said for p in self.requests} | {p.base for p in self.critiques} | {p.wish for p in self.critiques}
        return {" ".join(t.lower().split()) for t in out}


def set_path(name: str) -> Path:
    if name not in SETS:
        raise ValueError(f"unknown probe set {name!r}; known: {', '.join(SETS)}")
    return SETS_DIR / f"{name}.yaml"


def load_set(name_or_path: str | Path) -> RequestProbeSet:
    path = set_path(name_or_path) if str(name_or_path) in SETS else Path(name_or_path)
    return RequestProbeSet.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def is_hit(probe: RequestProbe, genres: list[str], year: int | None, tmdb: TmdbMovie | None) -> bool | None:
    """Whether a movie meets the probe's oracle; None when the oracle cannot judge it (not in TMDB)."""
    if probe.uses_tmdb and tmdb is None:
        return None
    if not set(probe.genres) <= set(genres):
        return False
    if probe.years and (year is None or not probe.years[0] <= year <= probe.years[1]):
        return False
    if tmdb is None:
        return True
    if set(probe.exclude_tmdb_genres) & set(tmdb.genres):
        return False
    if probe.keywords or probe.tmdb_genres:
        return bool(set(probe.keywords) & set(tmdb.keywords) or set(probe.tmdb_genres) & set(tmdb.genres))
    return True
