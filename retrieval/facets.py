"""The facet index: what the catalog knows about each item, as named facets a request can ask for.

A facet is a label ("Documentary", "heist film", "tom hanks", "sad") with a membership in [0, 1] per item:

* the catalog's **genres** (1);
* **every user tag** of the catalog (the bundled one's ``tags.csv`` read in full, not only the 8 most frequent
  tags that go into the item text), relevance weighted by how many times it was applied: ``c / (c + 1)``;
* the **Wikidata** facts of the bundled catalog (``retrieval/wikidata.py``): fine-grained genres (1) with their
  hierarchy (an item in "heist film" is in "crime film" too, at ``PARENT_SHARE`` per level), main subjects and
  production companies (1);
* **moods and audiences** ("sad", "uplifting", "gory", "slow", "thought-provoking", "funny", "scary", "for adults",
  "for kids"), each from a small seed of tags and genres plus the derived attributes (``retrieval/attributes.py``);
* for a table catalog, the words of its **description** column (``DESCRIPTION_SHARE``).

Each facet has a **specificity** in [0, 1], idf-like (``log(N / df) / log(N)`` over the summed membership), so a
broad parent ("drama film", 4,000 items) weighs little next to a specific one ("prison film", 100).
The label vectors (MiniLM, for matching a request's words that name no facet literally) are embedded once
per catalog and model and cached in the data dir like the attributes. Reading a request into facets is
``retrieval/facet_reading.py``.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recagent.retrieval.attributes import ItemAttributes
from recagent.retrieval.catalog import Catalog
from recagent.retrieval.wikidata import WikidataFacts

RECIPE_VERSION = "1"  # bump when labels change: the cached label vectors are then rebuilt
PARENT_SHARE = 0.5  # membership of an ancestor genre, per level up the hierarchy
GENERIC_TAIL = ("film", "films", "movie", "movies", "cinema", "genre", "story")

# mood / audience -> (request phrases, tag words, genres (catalog or Wikidata), (attribute, sign) or None)
MOODS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, int] | None]] = {
    "sad": (
        ("sad", "make me cry", "makes me cry", "cry", "tearjerker", "tear jerker", "heartbreaking", "weepy",
         "emotional", "melancholic", "tragic"),
        ("sad", "tearjerk", "tear jerk", "depressing", "emotional", "heartbreak", "bittersweet", "melanchol",
         "tragedy", "tragic", "moving", "touching", "cry"),
        (),  # not Wikidata's "melodrama" (Gladiator, Groundhog Day) nor "tragicomedy" (Love Actually)
        None,
    ),
    "uplifting": (
        ("uplifting", "feel-good", "feel good", "heartwarming", "inspiring", "inspirational", "cheer me up",
         "cheerful", "wholesome", "happy"),
        ("feel-good", "feel good", "heartwarming", "uplifting", "inspirational", "inspiring", "happy ending",
         "optimistic", "life affirming", "cheerful", "touching"),
        (),
        ("darkness", -1),
    ),
    "gory": (
        ("gory", "gore", "bloody", "splatter", "gruesome", "blood"),
        ("gore", "gory", "bloody", "splatter", "gruesome", "blood"),
        ("splatter film", "slasher film", "cannibal film", "body horror", "gore"),
        None,
    ),
    "slow": (
        ("slow", "slow-paced", "slow paced", "slow burn", "slow-burn", "meditative", "contemplative", "quiet"),
        ("slow", "meditative", "contemplative", "atmospheric", "quiet"),
        ("art film",),
        None,
    ),
    "thought-provoking": (
        ("thought-provoking", "thought provoking", "makes you think", "make me think", "cerebral", "philosophical",
         "intelligent", "mind-bending", "mind bending", "deep"),
        ("thought-provoking", "thought provoking", "philosoph", "cerebral", "intellectual", "intelligent",
         "mindfuck", "mind-bending", "mind bending", "existential", "deep", "social commentary"),
        ("philosophical fiction",),
        None,
    ),
    "funny": (
        ("funny", "hilarious", "make me laugh", "laugh"),
        ("funny", "hilarious", "humor", "humour", "witty"),
        ("Comedy",),
        ("humor", 1),
    ),
    "scary": (
        ("scary", "frightening", "terrifying", "creepy", "spooky"),
        ("scary", "creepy", "terrifying", "frightening", "spooky"),
        ("Horror",),
        ("scariness", 1),
    ),
    "for adults": (
        ("for adults", "for grown-ups", "for grownups", "for grown ups", "adult", "adults", "mature", "grown-up"),
        ("adult", "mature", "adult animation"),
        (),
        ("family", -1),
    ),
    "for kids": (
        ("for kids", "for children", "for my kids", "kids", "kid", "children", "family friendly", "family-friendly",
         "kid-friendly", "kid friendly", "for the family", "family"),
        ("kids", "family", "children", "disney", "pixar"),
        ("Children", "children's film", "family film"),
        ("family", 1),
    ),
}  # fmt: skip
NOT_FOR_ADULTS = ("Children", "children's film", "family film")
DESCRIPTION_SHARE = 0.5  # membership of a word of an item's description (table catalogs)
DESCRIPTION_MAX_DF = 0.3  # a description word in more of the items than this says nothing
# words that name no facet, in a request or a description
STOP = frozenset(
    """a an the of in on at to for with about from by and or but so as if than then some any one ones i i'm me my
    we you your it its it's this that these those is are was were be been being will would can could should shall
    may might must do does did have has had please recommend recommendation suggest suggestion show give find
    want wanted need looking look watch watching see seen like liked love loved enjoy enjoyed more less other
    another others something anything everything good great best nice new newer old older recent classic movie
    film flick picture thing kind sort type really very also just maybe perhaps tonight night weekend time
    similar lot much many what which who how where when there here tell know think same too well any similar
    stuff thank thanks hi hello hey ok okay yes yeah sure fun favorite favourite genre genres cool awesome
    interesting based set out up help us our truly sound sounds seem seems guess try trying still yet ever
    never again already actually probably definitely thing things way lot one two first last next whole right world
    them they he she him her his their myself yourself himself herself themselves i've i'd i'll you're all""".split()
)


def lemma(word: str) -> str:
    """A crude English singular ("dramas" -> "drama", "comedies" -> "comedy", "heists" -> "heist")."""
    if len(word) <= 3 or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and word not in ("movies", "series"):
        return word[:-3] + "y"
    if word.endswith("ches") or word.endswith("shes") or word.endswith("xes"):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


TOKEN = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


def words(text: str) -> list[str]:
    return [lemma(w) for w in TOKEN.findall(text.lower().replace("’", "'"))]


def label_keys(label: str) -> set[str]:
    """The lexical keys a label is found by: its lemmatised words, and without a generic tail ("heist film" ->
    "heist film", "heist"; "science fiction film" -> "science fiction")."""
    ws = words(label)
    keys = {" ".join(ws)} if ws else set()
    while len(ws) > 1 and ws[-1] in GENERIC_TAIL:
        ws = ws[:-1]
        keys.add(" ".join(ws))
    return keys


@dataclass(frozen=True)
class Facet:
    label: str
    kind: str  # genre | tag | wikidata | subject | company | mood | description


def tag_counts(catalog: Catalog, folder: Path | None) -> dict[int, Counter]:
    """Per position, every user tag with how often it was applied: a MovieLens folder's ``tags.csv`` read in
    full, else the items' own tags (count 1 each)."""
    out: dict[int, Counter] = defaultdict(Counter)
    tags_csv = None if folder is None else Path(folder) / "tags.csv"
    if tags_csv is not None and tags_csv.is_file():
        with tags_csv.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                iid, tag = (row.get("movieId") or "").strip(), (row.get("tag") or "").strip().lower()
                if tag and iid in catalog:
                    out[catalog.position(iid)][tag] += 1
    else:
        for p, item in enumerate(catalog.items):
            for tag in item.tags:
                out[p][tag.lower()] += 1
    return out


class FacetIndex:
    """Facets, their item memberships (``matrix``: items x facets, CSC) and specificities."""

    def __init__(self, catalog: Catalog, facets: list[Facet], matrix: sp.csc_matrix, prior: np.ndarray):
        self.catalog = catalog
        self.facets = facets
        self.matrix = matrix.tocsc()
        self.prior = np.asarray(prior, dtype=np.float64)
        df = np.asarray(self.matrix.sum(axis=0)).ravel()
        n = max(len(catalog), 2)
        self.specificity = np.clip(np.log(n / np.maximum(df, 1.0)) / math.log(n), 0.0, 1.0)
        self.keys: dict[str, list[int]] = defaultdict(list)
        for j, f in enumerate(facets):
            for key in label_keys(f.label):
                self.keys[key].append(j)
        self.by_label = {(f.kind, f.label): j for j, f in enumerate(facets)}
        self._vectors: Callable[[], np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.facets)

    def column(self, j: int) -> np.ndarray:
        """Facet ``j``'s membership per item (dense)."""
        out = np.zeros(len(self.catalog))
        start, end = self.matrix.indptr[j], self.matrix.indptr[j + 1]
        out[self.matrix.indices[start:end]] = self.matrix.data[start:end]
        return out

    def item_facets(self, pos: int) -> dict[int, float]:
        """The facets of one item with their membership."""
        row = self.rows.getrow(pos)
        return dict(zip(row.indices.tolist(), row.data.tolist()))

    @cached_property
    def rows(self) -> sp.csr_matrix:
        return self.matrix.tocsr()

    @cached_property
    def vectors(self) -> np.ndarray:
        """The facet labels' unit vectors (embedded once per catalog and model, cached)."""
        if self._vectors is None:
            return np.zeros((len(self.facets), 1), dtype=np.float32)
        return self._vectors()

    def with_vectors(self, embed: Callable[[list[str]], np.ndarray], models_dir: Path | None, model_name: str):
        """Attach the label vectors: loaded from ``models_dir`` when this catalog's labels were embedded by this
        model before, else embedded (on first use) and saved."""

        def load() -> np.ndarray:
            h = hashlib.sha1(f"{RECIPE_VERSION}\0{model_name}".encode())
            for f in self.facets:
                h.update(f.label.encode() + b"\0")
            path = None if models_dir is None else Path(models_dir) / f"facets-{h.hexdigest()[:16]}.npy"
            if path is not None and path.exists():
                got = np.load(path)
                if len(got) == len(self.facets):
                    return got
            got = np.asarray(embed([f.label for f in self.facets]), dtype=np.float32)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp.npy")
                np.save(tmp, got)
                tmp.replace(path)
            return got

        self._vectors = load
        return self

    # ------------------------------------------------------------------ building

    @classmethod
    def build(
        cls,
        catalog: Catalog,
        attributes: ItemAttributes,
        wikidata: WikidataFacts | None = None,
        tags_folder: Path | None = None,
    ) -> FacetIndex:
        cols: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)

        def put(kind: str, label: str, pos: int, value: float) -> None:
            col = cols[(kind, label)]
            col[pos] = max(col.get(pos, 0.0), value)

        for p, item in enumerate(catalog.items):
            for g in item.genres:
                put("genre", g, p, 1.0)
        tags = tag_counts(catalog, tags_folder)
        for p, counter in tags.items():
            for tag, c in counter.items():
                put("tag", tag, p, c / (c + 1.0))
        wd = wikidata or WikidataFacts()
        for p, genres in wd.genres.items():
            for g in genres:
                put("wikidata", g, p, 1.0)
                for parent, depth in wd.ancestors(g).items():
                    put("wikidata", parent, p, PARENT_SHARE**depth)
        for p, subjects in wd.subjects.items():
            for s in subjects:
                put("subject", s, p, 1.0)
        for p, companies in wd.companies.items():
            for c in companies:
                put("company", c, p, 1.0)
        for word, positions in description_words(catalog).items():
            for p in positions:
                put("description", word, p, DESCRIPTION_SHARE)
        for mood, column in mood_columns(catalog, attributes, tags, wd).items():
            for p in np.flatnonzero(column > 0).tolist():
                put("mood", mood, p, float(column[p]))
        facets = [Facet(label, kind) for kind, label in cols]
        rows, colidx, data = [], [], []
        for j, col in enumerate(cols.values()):
            rows += list(col)
            colidx += [j] * len(col)
            data += list(col.values())
        matrix = sp.csc_matrix((data, (rows, colidx)), shape=(len(catalog), len(facets)), dtype=np.float32)
        return cls(catalog, facets, matrix, attributes.prior)


def description_words(catalog: Catalog) -> dict[str, list[int]]:
    """A table catalog's description words (lemmatised, no stop words) found in at least 2 items and at most
    ``DESCRIPTION_MAX_DF`` of them, with the items whose description has each."""
    found: dict[str, set[int]] = defaultdict(set)
    for p, item in enumerate(catalog.items):
        text = item.metadata.get("description")
        if isinstance(text, str):
            for w in words(text):
                if len(w) > 2 and w not in STOP and not any(ch.isdigit() for ch in w):
                    found[w].add(p)
    most = max(2, int(DESCRIPTION_MAX_DF * len(catalog)))
    return {w: sorted(ps) for w, ps in found.items() if 2 <= len(ps) <= most}


def mood_columns(
    catalog: Catalog, attributes: ItemAttributes, tags: dict[int, Counter], wd: WikidataFacts
) -> dict[str, np.ndarray]:
    """Each mood's membership per item: the strongest of its seed tags (weighted by count), its genres, and its
    attribute (from one standard deviation beyond the mean)."""
    n = len(catalog)
    out = {}
    for mood, (_, tag_words, genres, attribute) in MOODS.items():
        col = np.zeros(n)
        seed = re.compile(r"(?<![a-z])(?:" + "|".join(map(re.escape, tag_words)) + ")")
        for p, counter in tags.items():
            hits = sum(c for tag, c in counter.items() if seed.search(tag))
            if hits:
                col[p] = hits / (hits + 1.0)
        for p, item in enumerate(catalog.items):
            if any(g in genres for g in item.genres) or any(g in genres for g in wd.genres.get(p, ())):
                col[p] = max(col[p], 1.0)
        if attribute is not None:
            name, sign = attribute
            z = sign * np.asarray(attributes[name], dtype=np.float64)
            col = np.maximum(col, np.clip((z - 0.5) / 1.5, 0.0, 0.8))
        if mood == "for adults":  # any film not for children (more so the less family-like), never a children's one
            col = np.maximum(col, np.clip(0.5 - 0.5 * np.asarray(attributes["family"], dtype=np.float64), 0, 1))
            for p, item in enumerate(catalog.items):
                if any(g in NOT_FOR_ADULTS for g in (*item.genres, *wd.genres.get(p, ()))):
                    col[p] = 0.0
        out[mood] = col
    return out
