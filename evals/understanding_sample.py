"""Draw the seeded, stratified sample of ReDial seeker utterances for the understanding eval.

Only the train and valid subsets are read (never ``test_data.jsonl``). One utterance is one seeker
message (not a merged turn), id ``"<split>:<conversationId>:<messageIndex>"``. Its ``@ids`` are
rendered as the movie title without the year (as a user types it); ``context`` holds up to two
previous messages of the dialogue, rendered the same way and prefixed ``"SEEKER: "`` /
``"RECOMMENDER: "``.

Strata are filled in priority order, each from the utterances not drawn yet: every utterance with a
year or decade, restrictive or negated markers, critique words, genre words, people cues, ``@``
mentions, then ordinary utterances (greetings, thanks, "have you seen X?") for about a quarter of the
set, so that a reader is also scored on not inventing constraints. The sample carries, per mention,
the seeker's own form (``initiatorQuestions``) as a hint for the annotator; the labels are written by
hand into ``labels.jsonl`` (see ``evals/data/understanding/README.md``).

    python -m recagent.evals.understanding_sample --redial ../shared/data/redial --seed 9
    python -m recagent.evals.understanding_sample --redial ../shared/data/redial --seed 91 \\
        --exclude evals/data/understanding/labels.jsonl      # the held-out set
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

from recagent.evals.movielens_bridge import match_movielens
from recagent.evals.protocols.redial import MENTION, SPLITS, display_title, load_catalog

OUT_DIR = Path(__file__).parent / "data" / "understanding"
GENRE = (
    r"comed|horror|scary|sci.?fi|science fiction|thriller|romance|romantic|rom.?com|drama|action|animat|"
    r"cartoon|documentar|musical|western|\bwar\b|mystery|crime|fantasy|adventure|family|kids|children|"
    r"disney|superhero|suspense|chick flick|noir|biograph"
)
STRATA: list[tuple[str, str, int | None]] = [
    # name, pattern (case-insensitive unless it has capitals that matter), quota (None: all)
    ("year", r"\b(19|20)\d\d\b|\b\d0'?s\b|\b(eighties|nineties|seventies)\b|\bdecade", None),
    (
        "restrictive",
        r"\bonly\b|anything but|don'?t want|do not want|has to be|must be|not a fan|\bhate\b|can'?t stand|"
        r"not (really )?into|don'?t (really )?like|\bno (more )?(" + GENRE + r")|\bnothing\b|\bwithout\b|"
        r"\bavoid|not too|prefer",
        70,
    ),
    (
        "critique",
        r"lighter|funnier|darker|\bdark\b|gritty|grittier|violen|\bgor[ey]|feel.?good|uplifting|recent|newer|"
        r"\bolder\b|classic|underrated|hidden gem|well.?known|\bless\b|scarier|intense|heist|true story|space",
        45,
    ),
    ("genre", GENRE, 70),
    ("people", r"starring|\bactor|actress|director|directed|\bwith [A-Z][a-z]+|\b[A-Z][a-z]+ [A-Z][a-z]{2,}", 20),
    ("mention", r"@\d+", 30),
]
ORDINARY = 85
ORDINARY_MIN_SHARE = 0.25
# Second stage, appended after the first (so the first stage's rows and order stay as labelled): the first
# stage held only 12 utterances with a hard constraint and 27 with a critique, so every remaining
# utterance with an exclusion cue is added, and a seeded draw of remaining ones with a critique cue.
HARD_EXTRA = (
    r"anything but|except|don'?t want|dont want|do not want|not in the mood|rather not|prefer not|\bavoid|"
    r"\bno (more )?(" + GENRE + r")|\bnot (a |an |any |too )?(" + GENRE + r")|\bnothing (too )?(" + GENRE + r")|"
    r"\bonly (" + GENRE + r")|\bjust (" + GENRE + r")|has to be|needs to be|must be|\bnewer than|"
    r"\b(before|after|since) (19|20)|\bstrictly|\bexclusively|\bno (old|older|black and white)|not (too )?old"
)
CRITIQUE_EXTRA = (
    r"lighter|funnier|darker|gritt|violen|\bgor[ey]|feel.?good|uplifting|newer|\bolder\b|old.?school|underrated|"
    r"hidden gem|for (my |the )?(kids|children|family|daughter|son)|family.?friendly|"
    r"with my (kids|children|daughter|son|family)|scarier|less scary|not (too )?scary|something (more )?recent|"
    r"recent (ones|movies|films)|\bnew (ones|movies|films|releases)\b|less (violent|dark|gory)|"
    r"more (action|intense|violent)|classics?\b|well.?known|popular|lesser known|heist|true story|set in|based on"
)
CRITIQUE_EXTRA_N = 45
# The held-out set (``--exclude labels.jsonl``, seed 91): drawn after the 390 labelled rows were used to fix the
# parser, from what they left. They took every year/decade and every restrictive cue, so the held-out strata
# add two cues the first draw had no stratum for: a negation next to a genre word ("anything besides scifi",
# "not big into thrillers") and time words ("current movies", "the new one"), then the usual strata.
NEGATION = r"\bnot\b|n'?t\b|\bno\b|\bnever\b|\bnone\b|\bbesides\b"
HELDOUT_STRATA: list[tuple[str, str, int | None]] = [
    ("year", STRATA[0][1], None),
    ("restrictive", STRATA[1][1], None),
    ("negation-genre", r"(?=.*(" + NEGATION + r"))(?=.*(" + GENRE + r"))", None),
    ("critique", STRATA[2][1], 18),
    ("time", r"\bnew\b|latest|this year|last year|\bold\b|modern|\bera\b|current|lately|theaters?\b|theatre", 8),
    ("genre", GENRE, 15),
    ("people", STRATA[4][1], 5),
    ("mention", STRATA[5][1], 8),
]
HELDOUT_ORDINARY = 33


def seeker_utterances(redial_dir: Path, split: str, titles: dict[str, str]) -> list[dict]:
    """Every seeker message of one split, rendered, with its context and mention hints."""

    def plain(text: str) -> str:
        return " ".join(MENTION.sub(lambda m: titles.get(m[1], m[0]), text).split())

    out = []
    with (redial_dir / SPLITS[split]).open(encoding="utf-8") as f:
        for line in f:
            raw = json.loads(line)
            seeker = raw["initiatorWorkerId"]
            form = raw.get("initiatorQuestions") if isinstance(raw.get("initiatorQuestions"), dict) else {}
            msgs = raw["messages"]
            for i, msg in enumerate(msgs):
                if msg["senderWorkerId"] != seeker or not msg["text"].strip():
                    continue
                context = [
                    ("SEEKER: " if m["senderWorkerId"] == seeker else "RECOMMENDER: ") + plain(m["text"])
                    for m in msgs[max(0, i - 2) : i]
                ]
                out.append(
                    {
                        "id": f"{split}:{raw['conversationId']}:{i}",
                        "split": split,
                        "context": context,
                        "text": plain(msg["text"]),
                        "raw": " ".join(msg["text"].split()),
                        "mention_ids": list(dict.fromkeys(MENTION.findall(msg["text"]))),
                        "form": {k: v for k, v in form.items()},
                    }
                )
    return out


def _stratum(utt: dict, strata: list[tuple[str, str, int | None]] = STRATA) -> str | None:
    for name, pattern, _ in strata:
        flags = 0 if name == "people" else re.IGNORECASE
        if re.search(pattern, utt["raw"], flags):
            return name
    return None


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text.lower()).split())


def draw(
    redial_dir: Path, seed: int = 9, splits: tuple[str, ...] = ("train", "valid"), exclude: Path | None = None
) -> list[dict]:
    """The stratified sample, in a seeded shuffled order (so any prefix is itself a mixed sample).

    With ``exclude`` (a labelled JSONL file), the held-out draw: every utterance whose id, or whose text
    (lowercased, punctuation dropped), is in that file is left out, and the held-out strata are used.
    """
    if "test" in splits:
        raise ValueError("the understanding set never draws from the ReDial test split")
    catalog = load_catalog(redial_dir)
    ml = {catalog.ids[pos]: ml_id for pos, ml_id in match_movielens(catalog).items()}
    plain_titles = {it.id: it.title for it in catalog}
    utts = [u for split in splits for u in seeker_utterances(redial_dir, split, plain_titles)]
    strata, ordinary_min = STRATA, ORDINARY
    if exclude is not None:
        with exclude.open(encoding="utf-8") as f:
            labelled = [json.loads(line) for line in f if line.strip()]
        ids, texts = {r["id"] for r in labelled}, {_norm(r["text"]) for r in labelled}
        kept = []
        for u in utts:  # also one row per distinct text (repeated messages would count twice)
            if u["id"] not in ids and _norm(u["text"]) not in texts:
                texts.add(_norm(u["text"]))
                kept.append(u)
        utts = kept
        strata, ordinary_min = HELDOUT_STRATA, HELDOUT_ORDINARY
    rng = random.Random(seed)
    by_stratum: dict[str, list[dict]] = {}
    for u in utts:
        u["stratum"] = _stratum(u, strata) or "ordinary"
        by_stratum.setdefault(u["stratum"], []).append(u)
    chosen: list[dict] = []
    for name, _, quota in strata:
        pool = by_stratum.get(name, [])
        chosen += pool if quota is None or quota >= len(pool) else rng.sample(pool, quota)
    ordinary = max(ordinary_min, round(ORDINARY_MIN_SHARE * len(chosen) / (1 - ORDINARY_MIN_SHARE)))
    chosen += rng.sample(by_stratum["ordinary"], ordinary)
    rng.shuffle(chosen)
    if exclude is not None:
        return _rows(chosen, catalog, ml)
    taken = {u["id"] for u in chosen}
    rest = [u for u in utts if u["id"] not in taken]
    hard = [dict(u, stratum="hard-extra") for u in rest if re.search(HARD_EXTRA, u["raw"], re.IGNORECASE)]
    rest = [u for u in rest if not re.search(HARD_EXTRA, u["raw"], re.IGNORECASE)]
    critique_pool = [u for u in rest if re.search(CRITIQUE_EXTRA, u["raw"], re.IGNORECASE)]
    critique = [dict(u, stratum="critique-extra") for u in rng.sample(critique_pool, CRITIQUE_EXTRA_N)]
    second = hard + critique
    rng.shuffle(second)
    chosen += second
    return _rows(chosen, catalog, ml)


def _rows(chosen: list[dict], catalog, ml: dict) -> list[dict]:
    rows = []
    for u in chosen:
        mentions = [
            {
                "redial_id": mid,
                "title": display_title(catalog.get(mid)) if mid in catalog else None,
                "ml_id": ml.get(mid),
                "form": u["form"].get(mid),
            }
            for mid in u["mention_ids"]
        ]
        rows.append(
            {
                "id": u["id"],
                "split": u["split"],
                "stratum": u["stratum"],
                "context": u["context"],
                "text": u["text"],
                "mentions": mentions,
            }
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--redial", type=Path, default=Path("../shared/data/redial"))
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument("--out", type=Path, default=None, help="default: sample.jsonl, or heldout-sample.jsonl")
    ap.add_argument("--exclude", type=Path, default=None, help="labelled JSONL whose ids and texts to leave out")
    args = ap.parse_args()
    rows = draw(args.redial, args.seed, exclude=args.exclude)
    if args.out is None:
        args.out = OUT_DIR / ("sample.jsonl" if args.exclude is None else "heldout-sample.jsonl")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["stratum"]] = counts.get(row["stratum"], 0) + 1
    print(f"{len(rows)} utterances -> {args.out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
