"""Reading the ReDial dataset (Li et al., NeurIPS 2018): its movie catalog and its dialogues, as the shipped
co-mention and dialogue data (``recagent data build-comentions``) and the ReDial evals both read them.

* Catalog: every movie of ``movies_with_mentions.csv`` (6,924), id = ``movieId``, item text = the title
  with its year, e.g. ``"Police Academy (1984)."`` (the year is parsed from ``"Title (1984)"``; 614
  names carry none).
* Turns: consecutive messages of one worker are merged into one turn (as CRSLab and UniCRS do). The
  recommender is ``respondentWorkerId``, the seeker ``initiatorWorkerId`` (DATASHEET).
* Suggested: a movie the recommender suggested, by the respondent's own form (``respondentQuestions[id]
  ["suggested"] == 1``), the seeker's form (``initiatorQuestions``) when the respondent's is missing; the
  two forms disagree on ``suggested`` for about 5% of movies, and the respondent knows best what they
  suggested.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

from recagent.errors import DataError
from recagent.retrieval.catalog import Catalog, Item, build_item_text

SPLITS = {
    "train": "train_data_subset500.jsonl",
    "valid": "valid_data_subset100.jsonl",
    "test": "test_data.jsonl",
}
MOVIES_FILE = "movies_with_mentions.csv"
MENTION = re.compile(r"@(\d+)")
YEAR = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})\)\s*$")
SEEKER, RECOMMENDER = "Seeker", "Recommender"
ABSENT = "absent: the ReDial dataset folder holds movies_with_mentions.csv and the dialogue splits"


def parse_title(name: str) -> tuple[str, int | None]:
    """'Police Academy  (1984)' -> ('Police Academy', 1984); 'The Mummy ' -> ('The Mummy', None)."""
    name = " ".join(name.split())
    m = YEAR.match(name)
    if m and m["title"]:
        return m["title"], int(m["year"])
    return name, None


def load_catalog(redial_dir: Path) -> Catalog:
    """The movie catalog of ``movies_with_mentions.csv``; ``nbMentions`` (counted over all splits) is not kept."""
    path = Path(redial_dir) / MOVIES_FILE
    if not path.is_file():
        raise DataError(path, ABSENT)
    items = []
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            title, year = parse_title(row["movieName"])
            title = title or f"movie {row['movieId']}"
            items.append(Item(id=row["movieId"], title=title, year=year, text=build_item_text(title, year)))
    return Catalog(items, name="redial")


@dataclass(frozen=True)
class Turn:
    """Consecutive messages of one speaker, joined by a space; ``movies`` in order of first mention."""

    speaker: str
    text: str
    movies: tuple[str, ...]


@dataclass(frozen=True)
class Dialogue:
    id: str
    turns: tuple[Turn, ...]
    suggested: frozenset[str]  # movies the recommender suggested, by the forms (see the module docstring)
    recommender: str = ""  # the recommender's worker id (respondentWorkerId)


def _suggested(raw: dict) -> frozenset[str]:
    forms = [q if isinstance(q, dict) else {} for q in (raw.get("respondentQuestions"), raw.get("initiatorQuestions"))]
    out = set()
    for movie in set(forms[0]) | set(forms[1]):
        label = forms[0].get(movie) or forms[1].get(movie) or {}
        if label.get("suggested") == 1:
            out.add(movie)
    return frozenset(out)


def parse_dialogue(raw: dict) -> Dialogue:
    recommender = raw["respondentWorkerId"]
    turns: list[Turn] = []
    for msg in raw["messages"]:
        speaker = RECOMMENDER if msg["senderWorkerId"] == recommender else SEEKER
        text = " ".join(msg["text"].split())
        movies = tuple(dict.fromkeys(MENTION.findall(text)))
        if turns and turns[-1].speaker == speaker:
            last = turns[-1]
            merged = tuple(dict.fromkeys(last.movies + movies))
            turns[-1] = Turn(speaker, f"{last.text} {text}".strip(), merged)
        else:
            turns.append(Turn(speaker, text, movies))
    return Dialogue(str(raw["conversationId"]), tuple(turns), _suggested(raw), str(recommender))


def holdout_part(dialogues: list[Dialogue], spec: str, left_out: bool) -> list[Dialogue]:
    """Development halves of a ReDial subset, split by RECOMMENDER: ``spec`` ``K/N`` is the dialogues whose
    recommender's worker id is K modulo N (``left_out=True``), or all the others (``left_out=False``).

    ReDial's test split shares no worker with train, while train's dialogues share them (in a split by
    position, 152 of one half's 250 dialogues have a recommender who also recommends in the other half,
    with the same favourite answers). Splitting by recommender keeps that out of development figures."""
    k, n = map(int, spec.split("/"))
    if not 0 <= k < n:
        raise ValueError(f"holdout {spec!r}: K/N with 0 <= K < N")
    return [d for d in dialogues if (int(d.recommender or 0) % n == k) == left_out]


def load_dialogues(redial_dir: Path, split: str) -> list[Dialogue]:
    if split not in SPLITS:
        raise ValueError(f"unknown ReDial split {split!r}: one of {', '.join(SPLITS)}")
    path = Path(redial_dir) / SPLITS[split]
    if not path.is_file():
        raise DataError(path, ABSENT)
    with path.open(encoding="utf-8") as f:
        return [parse_dialogue(json.loads(line)) for line in f if line.strip()]


def typed(text: str, catalog: Catalog) -> str:
    """``@111776`` -> ``Heat``: the title without its year, as a person types it; whitespace collapsed."""

    def title(m: re.Match) -> str:
        return catalog.get(m[1]).title if m[1] in catalog else m[0]

    return " ".join(MENTION.sub(title, text).split())
