"""ReDial (Li et al., NeurIPS 2018): recommend the movie the human recommender suggested, from the dialogue so far.

The protocol, exactly:

* Data: ``<shared_data>/redial``, read by ``retrieval/redial_data.py`` (catalog, turns, suggestion labels).
  Report on the official test split (``test_data.jsonl``, 1,342 dialogues); tune only on
  ``valid_data_subset100.jsonl``; fit count-based models (popularity, co-occurrence) only on
  ``train_data_subset500.jsonl``. All three are disjoint.
* Catalog: every movie of ``movies_with_mentions.csv`` (6,924), id = ``movieId``, item text = the title
  with its year, e.g. ``"Police Academy (1984)."`` (the year is parsed from ``"Title (1984)"``; 614
  names carry none). ReDial has a few duplicate entries for one film (``"American Pie "`` and
  ``"American Pie  (1999)"``); targets are matched by id, as in every published protocol.
* Turns: consecutive messages of one worker are merged into one turn (as CRSLab and UniCRS do). The
  recommender is ``respondentWorkerId``, the seeker ``initiatorWorkerId`` (DATASHEET).
* Cases: one per (recommender turn, movie mentioned in that turn as ``@id`` whose label says the
  recommender suggested it). The label is the respondent's own form (``respondentQuestions[id]
  ["suggested"] == 1``), the seeker's form (``initiatorQuestions``) when the respondent's is missing; the
  two forms disagree on ``suggested`` for about 5% of movies, and the respondent knows best what they
  suggested. ``targets="mentioned"`` instead makes every movie of a recommender turn a target, whatever
  its label (the CRSLab/UniCRS convention, which counts "I loved @X too" about the seeker's movie).
* Context: the turns before the case's turn, each rendered as ``"Seeker: ..."`` / ``"Recommender: ..."``
  with every ``@id`` replaced by the catalog title (with year); the movie ids mentioned in them, by
  either speaker, in order of last mention.
* ``new``: the target is not mentioned in any earlier turn. Test has 4,589 cases (1,342 dialogues), 4,405 of them
  new; valid 362 (346 new).
* Ranking (see ``evals/conversational.py``): the whole catalog is ranked. ``recall@k`` is over all cases
  and does NOT exclude the movies mentioned earlier (UniCRS-style: a repeated target counts, and a model
  may rank it by copying the context). ``new/recall@k`` is over the new cases only, ranked with the movies
  mentioned earlier removed (what a recommender that never repeats the dialogue would show; a new
  target can never be among them, so this only lifts other items up).
* A limit samples whole dialogues (seeded), since cases of one dialogue are not independent.

Published figures on the ReDial test split (their protocols differ slightly from this one): UniCRS
Recall@1/10/50 = 0.050/0.215/0.413 (all movies in recommender turns, repeats kept); GPT-4 zero-shot
(He et al., CIKM 2023), new items only, Recall@1/10 = 0.0504/0.2008; GCRS (2026) Recall@1/10 =
0.0688/0.2432.
"""

from __future__ import annotations

import csv
import random
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from recagent.evals.protocols import DatasetMissing, Protocol
from recagent.retrieval.catalog import Catalog, Item
from recagent.retrieval.redial_data import (
    MENTION,
    MOVIES_FILE,
    RECOMMENDER,
    SPLITS,
    Dialogue,
    load_catalog,
    load_dialogues,
)

Targets = Literal["suggested", "mentioned"]


def display_title(item: Item) -> str:
    return item.title if item.year is None else f"{item.title} ({item.year})"


class RedialCase(BaseModel):
    """One recommendation to predict: the dialogue before a recommender turn, and one movie it suggested."""

    model_config = ConfigDict(frozen=True)

    dialogue_id: str
    turn: int  # index of the recommender turn (consecutive messages of one speaker merged)
    target: str  # movie id
    new: bool  # target not mentioned in any earlier turn
    context: tuple[str, ...]  # earlier turns, "Seeker: ..." / "Recommender: ...", @ids rendered as titles
    mentioned: tuple[str, ...]  # movie ids mentioned in earlier turns, in order of last mention (most recent last)
    mention_turns: tuple[int, ...]  # the turn of each one's last mention

    @property
    def user(self) -> str:
        return f"{self.dialogue_id}:{self.turn}"

    @property
    def context_text(self) -> str:
        return "\n".join(self.context)


def render(text: str, catalog: Catalog) -> str:
    """Replace each ``@id`` by the movie's title with its year (left as is when the id is unknown)."""

    def title(m: re.Match) -> str:
        return display_title(catalog.get(m[1])) if m[1] in catalog else m[0]

    return MENTION.sub(title, text)


def dialogue_cases(dialogue: Dialogue, catalog: Catalog, targets: Targets = "suggested") -> list[RedialCase]:
    cases: list[RedialCase] = []
    context: list[str] = []
    last_mention: dict[str, int] = {}
    for t, turn in enumerate(dialogue.turns):
        if turn.speaker == RECOMMENDER:
            mentioned = list(last_mention)  # in order of last mention
            for movie in turn.movies:
                if movie not in catalog or (targets == "suggested" and movie not in dialogue.suggested):
                    continue
                cases.append(
                    RedialCase(
                        dialogue_id=dialogue.id,
                        turn=t,
                        target=movie,
                        new=movie not in last_mention,
                        context=tuple(context),
                        mentioned=tuple(mentioned),
                        mention_turns=tuple(last_mention[m] for m in mentioned),
                    )
                )
        context.append(f"{turn.speaker}: {render(turn.text, catalog)}")
        for movie in turn.movies:
            if movie in catalog:
                last_mention.pop(movie, None)
                last_mention[movie] = t
    return cases


def sample_dialogues(dialogues: list[Dialogue], limit: int | None, seed: int = 0) -> list[Dialogue]:
    """A seeded sample of whole dialogues, in file order; all of them without a limit."""
    if limit is None or limit >= len(dialogues):
        return list(dialogues)
    keep = set(random.Random(seed).sample(range(len(dialogues)), limit))
    return [d for i, d in enumerate(dialogues) if i in keep]


@dataclass
class RedialData:
    """The catalog and the dialogues of the three splits (each loaded on first use)."""

    path: Path
    catalog: Catalog
    _splits: dict[str, list[Dialogue]] = field(default_factory=dict)

    @classmethod
    def load(cls, redial_dir: Path) -> RedialData:
        redial_dir = Path(redial_dir)
        if not redial_dir.is_dir():
            raise _missing(redial_dir)
        if not (redial_dir / MOVIES_FILE).is_file():
            raise _missing(redial_dir / MOVIES_FILE)
        return cls(redial_dir, load_catalog(redial_dir))

    def dialogues(self, split: str) -> list[Dialogue]:
        if split not in self._splits:
            if split in SPLITS and not (self.path / SPLITS[split]).is_file():
                raise _missing(self.path / SPLITS[split])
            self._splits[split] = load_dialogues(self.path, split)
        return self._splits[split]

    def cases(
        self, split: str, limit: int | None = None, seed: int = 0, targets: Targets = "suggested"
    ) -> list[RedialCase]:
        """The split's cases; ``limit`` samples that many whole dialogues (seeded)."""
        chosen = sample_dialogues(self.dialogues(split), limit, seed)
        return [c for d in chosen for c in dialogue_cases(d, self.catalog, targets)]

    @cached_property
    def titles(self) -> list[str]:
        """Display title (with year) per catalog position."""
        return [display_title(it) for it in self.catalog]

    def mention_counts(self) -> np.ndarray:
        """ReDial's ``nbMentions`` per catalog position: mentions over all of ReDial's dialogues, test included.
        Only the beyond-accuracy metrics read it (to describe lists), never a ranking."""
        counts = np.zeros(len(self.catalog))
        with (self.path / MOVIES_FILE).open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row["movieId"] in self.catalog:
                    counts[self.catalog.position(row["movieId"])] = float(row.get("nbMentions") or 0)
        return counts

    def movielens_genres(self) -> dict[str, frozenset[str]]:
        """ReDial movie id -> the MovieLens genres of the bundled film the title/year bridge matches it to."""
        from recagent.retrieval.loaders import BUNDLED_CATALOG
        from recagent.retrieval.redial_bridge import match_movielens

        genres = {}
        with (BUNDLED_CATALOG / "movies.csv").open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                genres[row["movieId"]] = frozenset(g for g in row["genres"].split("|") if g != "(no genres listed)")
        matched = match_movielens(self.catalog)
        return {self.catalog.ids[p]: genres[m] for p, m in matched.items() if genres.get(m)}


def _missing(path: Path) -> DatasetMissing:
    """A protocol whose data is not on this machine is a skip with the path, not a crash."""
    return DatasetMissing(f"protocol redial needs {path}, which is absent; skipped")


@dataclass(frozen=True)
class RedialProtocol(Protocol):
    """The ``redial`` protocol: ``load`` returns :class:`RedialData` instead of a ratings dataset."""

    def load(self, shared_data: Path) -> RedialData:  # type: ignore[override]
        return RedialData.load(Path(shared_data) / self.dataset)


REDIAL = RedialProtocol(
    "redial",
    "ReDial conversational recommendation: for each movie a recommender turn suggests, rank the 6,924-movie "
    "catalog from the dialogue so far; recall@k over all suggestions (earlier mentions kept in the ranking), "
    "new/recall@k over suggestions not mentioned earlier (earlier mentions removed from the ranking)",
    "redial",
    kind="conversational",
    metrics=["recall@1", "recall@10", "recall@50"],
    anchors={
        "UniCRS (all mentions in recommender turns, repeats kept)": {
            "recall@1": 0.050,
            "recall@10": 0.215,
            "recall@50": 0.413,
        },
        "GPT-4 zero-shot (He et al. 2023, new items)": {"new/recall@1": 0.0504, "new/recall@10": 0.2008},
        "GCRS (2026; whether repeats count was not checked)": {"recall@1": 0.0688, "recall@10": 0.2432},
    },
)
