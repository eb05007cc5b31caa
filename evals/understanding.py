"""The understanding eval: how well each reader turns a real seeker utterance into dialogue state.

Gold: ``evals/data/understanding/labels.jsonl`` (ReDial train/valid seeker utterances, labelled by hand;
the schema and guidelines are in that folder's README). Readers: ``parser`` (the deterministic parser),
``llm`` (the bundled LLM's reading alone), ``hybrid`` (the two merged, as the chat does with
``understanding: hybrid``). Every reader's output goes through one adapter, :func:`reading_of`, into
the label schema, and is scored per field (readers are ``Recommender.understand(text, mode)``: the
chat's own reading, titles spotted and resolved against the bundled catalog):

* hard constraints as (field, value) pairs: ``genres``, ``exclude_genres``, ``year_min``, ``year_max``;
  plus ``invented``: utterances whose gold has no hard constraint but the reader set one;
* soft genres as (polarity, genre) pairs (``liked_genres``, ``disliked_genres``);
* mentions by title (normalised, year and leading article dropped; or by MovieLens id when the reader
  gives one): title-level precision/recall/F1, and stance accuracy over the matched titles;
* critiques as (attribute, direction) pairs; topics and people as lowercase strings;
* list references ("the second one", "not the last one") as (position, stance, more_like), read textually.

Per-message scores (hard constraints exactly right, invented on the negatives, whole reading right, per
group, latency) are in :mod:`recagent.evals.understanding_fields`. Besides the ReDial sets, ``--labels``
takes the hand-written phrasings set (``phrasings.jsonl``: its README), whose rows add ``group``,
``previous_list`` and gold ``references``.

Precision, recall and F1 are micro-averaged over the utterances (pairs pooled).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from recagent.agent.reading.model import ListReference, Understanding
from recagent.agent.vocabulary import Stance
from recagent.evals.understanding_fields import FieldScorer
from recagent.evals.understanding_fields import markdown as fields_markdown
from recagent.retrieval.progress import progress_bar
from recagent.retrieval.titles import normalize, split_year

LABELS = Path(__file__).parent / "data" / "understanding" / "labels.jsonl"
READERS = ("parser", "learned", "combined", "llm", "hybrid")  # learned/combined: the span classifier


class Hard(BaseModel):
    genres: list[str] = Field(default_factory=list)
    exclude_genres: list[str] = Field(default_factory=list)
    year_min: int | None = None
    year_max: int | None = None


class Soft(BaseModel):
    liked_genres: list[str] = Field(default_factory=list)
    disliked_genres: list[str] = Field(default_factory=list)


class Mention(BaseModel):
    title: str
    stance: Stance = "neutral"
    ml_id: str | None = None
    redial_id: str | None = None


class CritiquePair(BaseModel):
    attribute: str
    direction: int


class Reading(BaseModel):
    """What an utterance says, in the label schema (a reader's output or the gold)."""

    hard: Hard = Field(default_factory=Hard)
    soft: Soft = Field(default_factory=Soft)
    mentions: list[Mention] = Field(default_factory=list)
    critiques: list[CritiquePair] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    people: list[str] = Field(default_factory=list)
    references: list[ListReference] = Field(default_factory=list)


class Shown(BaseModel):
    title: str
    ml_id: str | None = None


class Label(Reading):
    model_config = ConfigDict(extra="ignore")

    id: str
    split: str
    context: list[str] = Field(default_factory=list)
    text: str
    notes: str | None = None
    group: str | None = None  # the phrasings set's phrasing family
    previous_list: list[Shown] = Field(default_factory=list)  # the list shown last (phrasings follow-ups)


SPLITS = ("train", "valid", "phrasings")  # never ReDial test


def load_labels(path: Path = LABELS) -> list[Label]:
    path = Path(path)
    if not path.is_file():
        from recagent.errors import ConfigError

        raise ConfigError(f"{path}: the understanding labels are not there")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            label = Label.model_validate_json(line)
            if label.split not in SPLITS:
                raise ValueError(f"{path}:{n}: split {label.split!r}: the labelled sets are train/valid only")
            out.append(label)
    return out


# --------------------------------------------------------------------------- the adapter


def reading_of(u: Understanding) -> Reading:
    """A reader's :class:`~recagent.agent.reading.model.Understanding` in the label schema: the one adapter.
    A genre that is a hard constraint is reported there only (the labels never repeat it as a soft wish);
    a soft genre counts as liked from weight 0.5 and as disliked below 0. Mentions keep the catalog id the
    chat resolved them to (``ml_id``), matched against the gold's."""
    genres, excluded = u.hard_values("genre"), u.hard_values("exclude_genre")
    return Reading(
        hard=Hard(genres=genres, exclude_genres=excluded, year_min=u.year_min, year_max=u.year_max),
        soft=Soft(
            liked_genres=[g for g, w in u.genres.items() if w >= 0.5 and g not in genres],
            disliked_genres=[g for g, w in u.genres.items() if w < 0 and g not in excluded],
        ),
        mentions=[Mention(title=m.title or m.text, stance=m.stance, ml_id=m.item_id) for m in u.mentions],
        critiques=[CritiquePair(attribute=c.attribute, direction=c.direction) for c in u.critiques],
        topics=list(u.topics),
        people=list(u.people),
        references=[ListReference(position=r.position, stance=r.stance, more_like=r.more_like) for r in u.references],
    )


# --------------------------------------------------------------------------- readers


class LLMClock:
    """Wraps the (cached) backend and adds up the model's own time per call, replayed from the cache on a
    re-run, so a reader's seconds per utterance are what a chat turn would pay."""

    def __init__(self, backend):
        self.backend = backend
        self.seconds = 0.0  # the model's time, as first measured
        self.wall = 0.0  # the time actually spent in calls here (a cache hit is fast)
        self.is_bundled = getattr(backend, "is_bundled", False)
        self.name, self.model = backend.name, backend.model

    def complete(self, request):
        t0 = time.perf_counter()
        try:
            out = self.backend.complete(request)
        finally:
            self.wall += time.perf_counter() - t0
        self.seconds += out.latency_ms / 1000
        return out


def make_reader(name: str, rec) -> Callable[[Label], Reading]:
    """The chat's reading of the utterance in understanding mode ``name`` (``parser``, ``hybrid``, ``llm``),
    titles spotted and resolved against the catalog: ``Recommender.understand``, the product path."""
    if name not in READERS:
        raise ValueError(f"unknown reader {name!r}: one of {', '.join(READERS)}")
    return lambda label: reading_of(rec.understand(label.text, name)[0])


# --------------------------------------------------------------------------- scoring


_ARTICLE = re.compile(r"^(the|a|an) ")


def title_key(title: str) -> str:
    """'The Matrix (1999)', 'matrix' and 'Matrix, The' all give 'matrix'."""
    return _ARTICLE.sub("", normalize(split_year(title)[0]))


def hard_pairs(r: Reading) -> set[tuple[str, str]]:
    h = r.hard
    out = {("genres", g) for g in h.genres} | {("exclude_genres", g) for g in h.exclude_genres}
    out |= {(f, str(getattr(h, f))) for f in ("year_min", "year_max") if getattr(h, f) is not None}
    return out


def soft_pairs(r: Reading) -> set[tuple[str, str]]:
    return {("liked", g) for g in r.soft.liked_genres} | {("disliked", g) for g in r.soft.disliked_genres}


def critique_pairs(r: Reading) -> set[tuple[str, str]]:
    return {(c.attribute, str(c.direction)) for c in r.critiques}


def _lower(items: Iterable[str]) -> set[str]:
    return {" ".join(x.lower().split()) for x in items if x.strip()}


FIELDS: dict[str, Callable[[Reading], set]] = {
    "hard": hard_pairs,
    "hard.genres": lambda r: {g for f, g in hard_pairs(r) if f == "genres"},
    "hard.exclude_genres": lambda r: {g for f, g in hard_pairs(r) if f == "exclude_genres"},
    "hard.years": lambda r: {p for p in hard_pairs(r) if p[0].startswith("year")},
    "soft": soft_pairs,
    "critiques": critique_pairs,
    "topics": lambda r: _lower(r.topics),
    "people": lambda r: _lower(r.people),
    "references": lambda r: {(x.position, x.stance, x.more_like) for x in r.references},
}


class Counts(BaseModel):
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, pred: set, gold: set) -> None:
        self.tp += len(pred & gold)
        self.fp += len(pred - gold)
        self.fn += len(gold - pred)

    def prf(self) -> dict[str, float | int]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else (1.0 if not self.fn else 0.0)
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "gold": self.tp + self.fn,
                "predicted": self.tp + self.fp}  # fmt: skip


def match_mentions(pred: list[Mention], gold: list[Mention]) -> list[tuple[Mention, Mention]]:
    """(predicted, gold) pairs of the same movie: by MovieLens id when both have one, else by title key."""
    pairs, used = [], set()
    for p in pred:
        for j, g in enumerate(gold):
            if j in used:
                continue
            same_id = p.ml_id is not None and g.ml_id is not None and p.ml_id == g.ml_id
            if same_id or title_key(p.title) == title_key(g.title):
                pairs.append((p, g))
                used.add(j)
                break
    return pairs


class CaseScore(BaseModel):
    reader: str
    id: str
    text: str
    predicted: Reading
    errors: dict[str, dict[str, list]] = Field(default_factory=dict)  # field -> {"missed": [...], "extra": [...]}
    invented_hard: bool = False
    seconds: float = 0.0


class Scorer:
    """Accumulates one reader's counts over the labelled utterances."""

    def __init__(self, reader: str):
        self.reader = reader
        self.counts = {f: Counts() for f in FIELDS}
        self.mentions = Counts()
        self.stance_right = 0
        self.stance_matched = 0
        self.invented = 0
        self.no_hard_gold = 0
        self.n = 0
        self.seconds = 0.0
        self.fields = FieldScorer()

    def add(self, gold: Reading, pred: Reading, label_id: str = "", text: str = "", seconds: float = 0.0) -> CaseScore:
        case = CaseScore(reader=self.reader, id=label_id, text=text, predicted=pred, seconds=round(seconds, 3))
        self.n += 1
        self.seconds += seconds
        for name, fn in FIELDS.items():
            p, g = fn(pred), fn(gold)
            self.counts[name].add(p, g)
            if p != g and "." not in name:
                case.errors[name] = {"missed": sorted(map(str, g - p)), "extra": sorted(map(str, p - g))}
        pairs = match_mentions(pred.mentions, gold.mentions)
        self.mentions.tp += len(pairs)
        self.mentions.fp += len(pred.mentions) - len(pairs)
        self.mentions.fn += len(gold.mentions) - len(pairs)
        self.stance_matched += len(pairs)
        self.stance_right += sum(p.stance == g.stance for p, g in pairs)
        if len(pairs) < max(len(pred.mentions), len(gold.mentions)) or any(p.stance != g.stance for p, g in pairs):
            matched_p = {id(p) for p, _ in pairs}
            matched_g = {id(g) for _, g in pairs}
            case.errors["mentions"] = {
                "missed": [f"{g.title} [{g.stance}]" for g in gold.mentions if id(g) not in matched_g],
                "extra": [f"{p.title} [{p.stance}]" for p in pred.mentions if id(p) not in matched_p],
                "stance": [f"{g.title}: {g.stance} read as {p.stance}" for p, g in pairs if p.stance != g.stance],
            }
        self.fields.add(gold, pred, seconds, "mentions" not in case.errors)
        if not hard_pairs(gold):
            self.no_hard_gold += 1
            if hard_pairs(pred):
                self.invented += 1
                case.invented_hard = True
        return case

    def summary(self) -> dict:
        out = {name: c.prf() for name, c in self.counts.items()}
        out["mentions"] = {
            **self.mentions.prf(),
            "stance_accuracy": round(self.stance_right / self.stance_matched, 4) if self.stance_matched else None,
        }
        out["invented_hard"] = {"utterances": self.invented, "of": self.no_hard_gold}
        out["utterances"] = self.n
        out["seconds_per_utterance"] = round(self.seconds / self.n, 4) if self.n else 0.0
        out["fields"] = self.fields.summary()
        return out


def evaluate(
    labels: list[Label],
    readers: dict[str, Callable[[Label], Reading]],
    show_progress: bool = True,
    clock: LLMClock | None = None,
) -> tuple[dict[str, dict], list[CaseScore]]:
    """Score each reader on the labels. With ``clock``, a reader's time is its own plus the LLM's."""
    summary, cases = {}, []
    for name, read in readers.items():
        scorer = Scorer(name)
        with progress_bar(f"understanding ({name})", len(labels), show_progress) as advance:
            for label in labels:
                t0 = time.perf_counter()
                llm0, wall0 = (clock.seconds, clock.wall) if clock else (0.0, 0.0)
                pred = read(label)
                took = time.perf_counter() - t0
                if clock:  # the model's first-measured time replaces the time spent reading the cache
                    took += (clock.seconds - llm0) - (clock.wall - wall0)
                cases.append(scorer.add(label, pred, label.id, label.text, took))
                advance(1)
        summary[name] = scorer.summary()
    return summary, cases


# --------------------------------------------------------------------------- report

TABLE_FIELDS = ["hard", "hard.genres", "hard.exclude_genres", "hard.years", "soft", "mentions", "critiques",
                "topics", "people", "references"]  # fmt: skip


def recommend_default(summary: dict[str, dict]) -> str:
    """The reader to make the default: best hard-constraint F1, then mention F1; the parser on ties
    (it costs no LLM call); a reader that invents more hard filters never wins over one that invents fewer."""
    order = {"parser": 0, "hybrid": 1, "llm": 2}

    def key(name: str):
        s = summary[name]
        return (-s["invented_hard"]["utterances"], s["hard"]["f1"], s["mentions"]["f1"], -order.get(name, 9))

    return max((n for n in summary if n in ("parser", "hybrid")) or summary, key=key)


def markdown(summary: dict[str, dict], labels_path: Path, n: int) -> str:
    readers = list(summary)
    lines = [
        "# Understanding: readers against hand labels",
        "",
        f"{n} labelled utterances from `{labels_path}` (ReDial train/valid seeker messages, never test, or the "
        "hand-written phrasings set). Micro-averaged "
        "precision / recall / F1 per field (evals/understanding.py); mentions matched by title, stance accuracy "
        "over the matched ones.",
        "",
        "| field | " + " | ".join(f"{r} P / R / F1" for r in readers) + " | gold |",
        "|---|" + "---:|" * (len(readers) + 1),
    ]

    def cell(v: dict) -> str:
        if not v["gold"]:  # nothing to find: recall and F1 say nothing, the false positives do
            return f"none in gold, {v['predicted']} predicted"
        return f"{v['precision']:.2f} / {v['recall']:.2f} / {v['f1']:.2f}"

    for f in TABLE_FIELDS:
        cells = [cell(summary[r][f]) for r in readers]
        lines.append(f"| {f} | " + " | ".join(cells) + f" | {summary[readers[0]][f]['gold']} |")
    acc = ["-" if summary[r]["mentions"]["stance_accuracy"] is None else f"{summary[r]['mentions']['stance_accuracy']:.2f}"
           for r in readers]  # fmt: skip
    lines.append("| mention stance accuracy | " + " | ".join(acc) + " | |")
    inv = [f"{summary[r]['invented_hard']['utterances']} of {summary[r]['invented_hard']['of']}" for r in readers]
    lines.append("| hard filters invented (gold: none) | " + " | ".join(inv) + " | |")
    sec = [f"{summary[r]['seconds_per_utterance']:.3f}" for r in readers]
    lines.append("| seconds per utterance | " + " | ".join(sec) + " | |")
    lines += fields_markdown(summary)
    lines += ["", f"Recommended default understanding mode: **{recommend_default(summary)}**."]
    return "\n".join(lines) + "\n"


def plot(path: Path, summary: dict[str, dict]) -> Path | None:
    from recagent.evals.report import grouped_bars

    f1 = {r: [summary[r][f]["f1"] for f in TABLE_FIELDS] for r in summary}
    return grouped_bars(path, f1, list(TABLE_FIELDS), "F1", title="Understanding F1 per field")


def write(out: Path, summary: dict, cases: list[CaseScore], labels_path: Path, n: int) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = {"summary": out / "summary.json", "cases": out / "cases.jsonl", "report": out / "report.md"}
    payload = {
        "labels": str(labels_path),
        "utterances": n,
        "readers": summary,
        "recommended": recommend_default(summary),
    }
    files["summary"].write_text(json.dumps(payload, indent=2))
    with files["cases"].open("w") as f:
        for c in cases:
            if c.errors or c.invented_hard:  # only the utterances a reader got wrong: what people read
                f.write(c.model_dump_json(exclude={"predicted"}) + "\n")
    files["report"].write_text(markdown(summary, labels_path, n))
    if p := plot(out / "f1.png", summary):
        files["plot"] = p
    return files


def run(
    settings, readers: list[str], out: Path, labels_path: Path = LABELS, limit: int | None = None, show_progress=True
) -> tuple[dict, dict[str, Path]]:
    """Score the readers on the labels (the first ``limit`` of them); write the run to ``out``."""
    from recagent.recommender import Recommender

    labels = load_labels(labels_path)[:limit]
    clock, parts = None, {}
    if any(r in ("llm", "hybrid") for r in readers):
        from recagent.agent.backends import create_backend
        from recagent.agent.backends.caching import CachingBackend
        from recagent.agent.cache import DiskCache

        cache = DiskCache(settings.data_dir / "evals" / "llm-cache.sqlite")  # the harness's reply cache
        clock = LLMClock(CachingBackend(create_backend(settings), cache))
        parts["aux_backend"] = clock
    rec = Recommender.from_parts(settings, show_progress=show_progress, **parts)
    rec.index()  # title resolution confirms unclear matches against the vector store
    summary, cases = evaluate(labels, {r: make_reader(r, rec) for r in readers}, show_progress, clock)
    return summary, write(Path(out), summary, cases, labels_path, len(labels))
