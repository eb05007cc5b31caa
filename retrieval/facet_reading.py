"""A request's facets: which of the catalog's facets (``retrieval/facets.py``) the words of a request ask for.

The words come from the query the message reader already produced (the request's search text and topics), so a
message is still read once, by the one reader; here they are only looked up in the catalog's own vocabulary:

1. **moods and audiences** by their seed phrases ("make me cry" -> sad, "for adults");
2. **lexical matches** of the lemmatised words against every facet's keys, longest first ("prison dramas" ->
   "prison film" and Drama; "heist" -> "heist film" and the tag "heist"; "sci-fi" -> Sci-Fi and "science fiction
   film"), plus the facets whose label vector is a near synonym of the phrase ("courtroom drama" -> "legal drama");
3. **embedding matches** (MiniLM) of the remaining content phrases to the facet labels, above ``MATCH_MIN``,
   preferring the most specific of the near-best ("journalist" -> "journalism").

Each matched phrase is a :class:`Concept`: the items that have any of its facets, with their membership. A phrase
after a negation ("not a kids film") is a negated concept. A person's name (the catalog has no cast) matches only a
user tag of that name ("tom hanks"). Nothing here filters: :class:`RequestFacets` gives each item a tier (how many
concepts it meets) and a strength, which the hybrid retriever ranks by.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from recagent.retrieval.base import RetrievalQuery
from recagent.retrieval.facets import MOODS, STOP, TOKEN, FacetIndex, label_keys, lemma, words
from recagent.retrieval.preferences import without_titles

WISHED_GENRE = 0.9  # a soft genre this strong (asked for by name) is the request's facet on a turn naming none
MATCH_MIN = 0.7  # cosine of a phrase to a facet label for an embedding match
SYNONYM_MIN = 0.8  # cosine for a facet to join a lexical match's concept
NEAR_BEST = 0.04  # facets this close to the best match compete on specificity
MAX_PHRASES = 4  # embedded phrases per request
MIN_TAG_ITEMS = 3  # a phrase answered only by user tags needs this many tagged items ("moldy" on one film is no facet)
MIN_EMBEDDED_ITEMS = 5  # and a phrase matched to a facet by embedding alone, this many
CACHE = 512
BROAD, FOCUSED = 0.15, 0.4  # concept specificities: the facet source is off at the first, full from the second
NEGATIONS = frozenset("not no without nothing never less avoid hate isn't don't dont aren't except".split())
ARTICLES = frozenset("a an the some my his her their this that".split())
TOPIC_BEFORE = frozenset("about involving featuring concerning regarding".split())  # "a movie about ..."
# "set in a hospital", "takes place on a ship", "stranded on an island", "trapped in a building": where a story is
PLACED = frozenset("set place stranded trapped marooned shipwrecked imprisoned".split())
ANCHOR_SKIP = ("mood", "company")  # not what makes a film like another (Heat's studio is not its neighbourhood)
KIND_ORDER = {"mood": 0, "genre": 1, "wikidata": 2, "subject": 3, "tag": 4, "company": 5}

# what a request may ask for that the catalog does not record (no facet answers it, so no word of it may be read
# as another facet: "video game" is not "game"); the reply says so, and the rest of the request decides
GAPS = {
    "based on video games": re.compile(r"\b(?:video|computer)[ -]?games?\b|\bvideogames?\b"),
}
# ways of writing a facet that the lemmatised words would miss (a number is no facet word: "world war 2")
SPELLINGS = (
    (re.compile(r"\b(?:ww ?(?:ii|2)|world war (?:2|two|ii)|(?:the )?second world war)\b"), "world war ii"),
    (re.compile(r"\b(?:ww ?(?:i|1)|world war (?:1|one|i)|(?:the )?first world war|the great war)\b"), "world war i"),
)
ALIASES = {
    "sci-fi": "science fiction", "scifi": "science fiction", "sci fi": "science fiction", "biopic": "biographical",
    "noir": "film noir", "animated": "animation", "animated film": "animation", "cartoon": "animation",
    "courtroom": "trial",
    "documentary": "documentary", "doc": "documentary", "rom-com": "romantic comedy", "romcom": "romantic comedy",
    "romantic": "romance", "science fiction": "sci-fi",
    "true story": "based on a true story", "real person": "biographical", "kung-fu": "kung fu",
}  # fmt: skip


@dataclass(frozen=True)
class Concept:
    """One thing the request asks for, and the facets (columns of the index) that answer it."""

    phrase: str
    facets: tuple[int, ...]
    label: str  # the most specific of them, for the reply
    negated: bool = False


@dataclass
class RequestFacets:
    """The concepts of a request with each item's membership; ``anchor``: the liked items' own specific facets."""

    concepts: list[Concept] = field(default_factory=list)
    members: list[np.ndarray] = field(default_factory=list)  # per concept, membership per catalog position
    weights: list[float] = field(default_factory=list)  # per concept, its specificity
    credits: list[np.ndarray] = field(default_factory=list)  # per concept, its tier credit per position
    evidence: list[np.ndarray] = field(default_factory=list)  # per concept, kinds of facet agreeing, best 1
    anchor: np.ndarray | None = None  # per position, affinity to the liked items' facets in [0, 1]
    anchor_labels: list[str] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)  # what the request says films are about that no facet answers

    def __bool__(self) -> bool:
        return bool(self.concepts) or self.anchor is not None or bool(self.unread)

    @property
    def wanted(self) -> list[int]:
        return [i for i, c in enumerate(self.concepts) if not c.negated]

    @property
    def labels(self) -> list[str]:
        return [self.concepts[i].label for i in self.wanted]

    def tiers(self, positions: np.ndarray) -> np.ndarray:
        """How many wanted concepts each item meets (a named catalog genre in full only by the catalog's own genre,
        by Wikidata's or a tag's at half), minus one per negated concept it has strongly."""
        out = np.zeros(len(positions))
        for i, (c, m) in enumerate(zip(self.concepts, self.members)):
            if c.negated:
                out -= m[positions] >= 0.5
            else:
                out += self.credits[i][positions] if i < len(self.credits) else m[positions] > 0
        return out

    def strength(self, positions: np.ndarray) -> np.ndarray:
        """The specificity-weighted mean evidence over the wanted concepts (0 without any): how many kinds of facet
        (catalog genre, user tag, Wikidata genre, subject...) agree that an item meets a concept, by membership (a
        Wikidata "submarine film" also tagged "submarine" before one with only one of them), scaled so the best
        item has 1. A concept a catalog genre answers keeps its membership: the catalog's genre says it in full
        ("animated": Toy Story as much as The Aristocats, however many Wikidata kinds of animation that has)."""
        idx = self.wanted
        if not idx:
            return np.zeros(len(positions))
        w = np.array([self.weights[i] for i in idx]) + 1e-3
        src = self.evidence or self.members
        return np.stack([src[i][positions] for i in idx], axis=1) @ w / w.sum()

    @property
    def focus(self) -> float:
        """How specific the request is, for the facet source's fusion weight: 0 for a broad genre ("comedies": the
        tier holds plenty, and the facet source would only add popular comedies) up to 1 for a
        specific facet ("prison film", "documentary") or X's own facets, whose films the other sources miss."""
        if not self.wanted:
            return 1.0
        spec = max(self.weights[i] for i in self.wanted)
        return float(np.clip((spec - BROAD) / (FOCUSED - BROAD), 0.0, 1.0))

    @property
    def full(self) -> int:
        return len(self.wanted)


class FacetReader:
    """Reads request text into :class:`RequestFacets` over one :class:`FacetIndex`."""

    def __init__(self, index: FacetIndex, embed_queries: Callable[[Sequence[str]], np.ndarray] | None = None):
        self.index = index
        self.embed_queries = embed_queries
        self._cache: OrderedDict[tuple, tuple[list[Concept], list[str]]] = OrderedDict()
        self.reads: OrderedDict[tuple, RequestFacets] = OrderedDict()  # query_facets' recent readings

    # ------------------------------------------------------------------ concepts

    def concepts(self, text: str, people: Sequence[str] = ()) -> list[Concept]:
        return self._reading(text, people)[0]

    def unread(self, text: str, people: Sequence[str] = ()) -> list[str]:
        """What the request says a film is about that no facet answers ("a movie set in a hospital", "about con
        artists"): a content phrase after a topic cue (about, set in, involving...)."""
        return self._reading(text, people)[1]

    def _reading(self, text: str, people: Sequence[str]) -> tuple[list[Concept], list[str]]:
        key = (text, tuple(people))
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        got = self._read(text, people)
        self._cache[key] = got
        if len(self._cache) > CACHE:
            self._cache.popitem(last=False)
        return got

    def _vec(self, phrase: str) -> np.ndarray | None:
        if self.embed_queries is None or self.index.vectors.shape[1] <= 1:
            return None
        return self.embed_queries([phrase])[0]

    def _read(self, text: str, people: Sequence[str]) -> tuple[list[Concept], list[str]]:
        out: list[Concept] = []
        low = " " + " ".join(text.lower().replace("’", "'").split()) + " "
        for pattern, spelled in SPELLINGS:
            low = pattern.sub(spelled, low)
        for label, pattern in GAPS.items():
            m = pattern.search(low)
            if m:
                out.append(Concept(m.group(0), (), label, _negated(low[: m.start()])))
                low = low[: m.start()] + " | " + low[m.end() :]
        for mood, (phrases, *_) in MOODS.items():  # longest phrases first, each span used once
            j = self.index.by_label.get(("mood", mood))
            for phrase in sorted(phrases, key=len, reverse=True):
                m = re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", low)
                if j is not None and m:
                    negated = _negated(low[: m.start()])
                    low = low[: m.start()] + " | " + low[m.end() :]
                    out.append(Concept(phrase, (j,), mood, negated))
                    break
        tokens = low.split()
        said = [w for tok in tokens for w in (TOKEN.findall(tok) or ["|"])]  # as written, for the reply
        toks = [lemma(t) for t in said]
        used = [t == "|" for t in toks]
        lexical: list[tuple[str, list[int], bool, tuple[int, int]]] = []
        for n in (4, 3, 2, 1):
            for i in range(len(toks) - n + 1):
                span = toks[i : i + n]
                phrase = " ".join(span)
                named = n > 1 and phrase in self.index.keys  # "world war i": a facet's own name, stop word or not
                if any(used[i : i + n]) or all(_stop(t) for t in span) or (n > 1 and _stop(span[-1]) and not named):
                    continue
                cols = self._lexical(phrase)
                if cols and self._supported(cols):
                    for k in range(i, i + n):
                        used[k] = True
                    lexical.append((phrase, cols, _negated(" ".join(toks[:i])), (i, i + n)))
        runs, spans, start = [], [], None
        for i, (t, u) in enumerate(zip(toks + ["|"], used + [True])):
            if u or _stop(t) or t == "|":
                if start is not None:
                    runs.append(" ".join(toks[start:i]))
                    spans.append((start, i))
                start = None
            elif start is None:
                start = i
        runs, spans = runs[:MAX_PHRASES], spans[:MAX_PHRASES]
        if self.embed_queries is not None and runs and self.index.vectors.shape[1] > 1:  # one batch, cached
            self.embed_queries(runs)
        found = []
        for phrase, cols, negated, span in sorted(lexical, key=lambda x: x[3]):
            wider = tuple(dict.fromkeys(cols + self._near(cols, SYNONYM_MIN)))
            found.append((self._concept(phrase, wider, negated, named=cols), span))
        out += self._either(found)
        unread = []
        for phrase, span in zip(runs, spans):
            cols = self._embedded(phrase)
            if cols and self._supported(cols, embedded=True):
                out.append(self._concept(phrase, cols, False))
            elif _topic_cued(toks, span) and not _negated(" ".join(toks[: span[0]])):
                unread.append(" ".join(said[span[0] : span[1]]))
        for person in people:  # no cast in the catalog: only a user tag of that name answers
            cols = tuple(
                j for j in self.index.keys.get(" ".join(words(person)), []) if self.index.facets[j].kind == "tag"
            )
            if cols:
                out.append(self._concept(person, cols, False))
        return _merge(out), unread

    def _supported(self, cols: Sequence[int], embedded: bool = False) -> bool:
        """A phrase answered only by user tags counts when enough films carry them (one person's odd tag is no
        facet); a genre, a Wikidata fact or a mood named in so many words always counts. A phrase matched by
        embedding alone needs more films, whatever the facet ("coming up" is not the one film about "coming
        out", "mob" not the one about "mobbing")."""
        idx = self.index
        if any(idx.facets[j].kind in ("genre", "mood") for j in cols):
            return True
        if not embedded and any(idx.facets[j].kind != "tag" for j in cols):
            return True
        ptr = idx.matrix.indptr
        n = len({p for j in cols for p in idx.matrix.indices[ptr[j] : ptr[j + 1]].tolist()})
        return n >= (MIN_EMBEDDED_ITEMS if embedded else MIN_TAG_ITEMS)

    def _either(self, found: list[tuple[Concept, tuple[int, int]]]) -> list[Concept]:
        """Catalog genres named apart ("thrillers or action", "comedies and horror", "sci-fi to documentaries")
        are alternatives: one concept that either answers. Named together ("sci-fi horror") both are asked for."""
        out: list[Concept] = []
        last_genre: tuple[int, tuple[int, int]] | None = None  # (index in out, span)
        for c, span in found:
            genre = not c.negated and any(self.index.facets[j].kind == "genre" for j in c.facets)
            if genre and last_genre is not None and span[0] > last_genre[1][1]:
                i = last_genre[0]
                o = out[i]
                out[i] = Concept(
                    f"{o.phrase} or {c.phrase}", tuple(dict.fromkeys(o.facets + c.facets)), f"{o.label} or {c.label}"
                )
                last_genre = (i, span)
                continue
            out.append(c)
            if genre:
                last_genre = (len(out) - 1, span)
        return out

    def _lexical(self, phrase: str) -> list[int]:
        cols = list(self.index.keys.get(phrase, []))
        alias = ALIASES.get(phrase)
        if alias:
            cols += self.index.keys.get(" ".join(words(alias)), [])
        head, _, last = phrase.rpartition(" ")
        if cols and head and last in ("film", "movie"):  # "a horror film": the catalog's Horror as much as Wikidata's
            cols += [j for j in self._lexical(head) if self.index.facets[j].kind == "genre" and j not in cols]
        return cols

    def _near(self, cols: Sequence[int], floor: float) -> list[int]:
        """Facets whose label vector is a near synonym of one of ``cols``' labels (no query embedding needed)."""
        vectors = self.index.vectors
        if vectors.shape[1] <= 1 or not cols:
            return []
        sims = vectors @ vectors[list(cols)[:3]].T
        return np.flatnonzero((sims >= floor).any(axis=1)).tolist()

    def _embedded(self, phrase: str) -> tuple[int, ...]:
        """The most specific facet among those nearly as close to the phrase as the best (above ``MATCH_MIN``)."""
        vec = self._vec(phrase)
        if vec is None:
            return ()
        sims = self.index.vectors @ vec
        best = float(sims.max()) if len(sims) else 0.0
        if best < MATCH_MIN:
            return ()
        near = np.flatnonzero(sims >= max(MATCH_MIN, best - NEAR_BEST))
        pick = int(near[np.argmax(self.index.specificity[near] + sims[near])])
        same = self.index.keys.get(min(label_keys(self.index.facets[pick].label), key=len), [])
        return tuple(dict.fromkeys([pick, *same]))

    def _concept(self, phrase: str, cols: Sequence[int], negated: bool, named: Sequence[int] = ()) -> Concept:
        """A concept over ``cols``, labelled by the most specific of the facets the phrase ``named`` (else of all)."""
        idx = self.index
        label_col = min(named or cols, key=lambda j: (KIND_ORDER.get(idx.facets[j].kind, 9), -idx.specificity[j]))
        return Concept(phrase, tuple(cols), idx.facets[label_col].label, negated)

    # ------------------------------------------------------------------ a request

    def read(self, text: str | None, people: Sequence[str] = (), anchors: Sequence[int] = ()) -> RequestFacets:
        """The request's concepts with their memberships, and (``anchors``: liked positions) the affinity of
        every item to the anchors' own most specific facets."""
        idx = self.index
        concepts = self.concepts(text or "", people) if (text or people) else []
        members, credits, evidence = [], [], []
        for c in concepts:
            m, core = np.zeros(len(idx.catalog)), None
            by_kind: dict[str, np.ndarray] = {}  # the best membership per kind of facet: kinds agreeing is evidence
            for j in c.facets:
                col = idx.column(j)
                m = np.maximum(m, col)
                kind = idx.facets[j].kind
                by_kind[kind] = np.maximum(by_kind[kind], col) if kind in by_kind else col
                if kind == "genre":
                    core = col if core is None else np.maximum(core, col)
            members.append(m)
            e = sum(by_kind.values(), np.zeros(len(idx.catalog)))  # a catalog genre is its own authority
            evidence.append(m if core is not None else e / max(float(e.max()), 1e-9))
            credits.append((m > 0).astype(np.float64) if core is None else np.where(core > 0, 1.0, 0.5 * (m > 0)))
        n = max(len(idx.catalog), 2)  # a concept's specificity: that of all its items together
        weights = [float(np.clip(np.log(n / max(m.sum(), 1.0)) / np.log(n), 0, 1)) for m in members]
        out = RequestFacets(concepts, members, weights, credits, evidence=evidence)
        if text:
            out.unread = list(self.unread(text, people))
        if anchors:
            out.anchor, out.anchor_labels = self.affinity(anchors)
        return out

    def affinity(self, anchors: Sequence[int], top: int = 10) -> tuple[np.ndarray, list[str]]:
        """Per item, the best (over the anchors) specificity-weighted share of an anchor's ``top`` facets it has:
        Heat's crime film, heist film, neo-noir... weigh more than its drama film."""
        idx = self.index
        best = np.zeros(len(idx.catalog))
        labels: list[str] = []
        for a in anchors:
            own = idx.item_facets(int(a))
            ranked = sorted(own, key=lambda j: -idx.specificity[j] * own[j])
            ranked = [j for j in ranked if idx.facets[j].kind not in ANCHOR_SKIP and own[j] >= 0.5][:top]
            if not ranked:
                continue
            w = np.array([idx.specificity[j] * own[j] for j in ranked])
            cols = np.stack([idx.column(j) for j in ranked], axis=1)
            best = np.maximum(best, cols @ w / w.sum())
            labels += [idx.facets[j].label for j in ranked[:4]]
        return best, list(dict.fromkeys(labels))


def _stop(word: str) -> bool:
    """A word that names no facet: a stop word, or a year or decade ("90s", "1990s"; the reader has those)."""
    return word in STOP or any(ch.isdigit() for ch in word)


def _topic_cued(toks: Sequence[str], span: tuple[int, int]) -> bool:
    """Whether the words at ``span`` are said to be what a film is about: after "about" / "involving" / "set in" /
    "stranded on" (articles skipped). Not the word before "movie": that is as often how good it is ("an amazing movie")."""
    i = span[0] - 1
    while i >= 0 and toks[i] in ARTICLES:
        i -= 1
    before = toks[i] if i >= 0 else ""
    return before in TOPIC_BEFORE or (before in ("in", "on", "at") and i > 0 and toks[i - 1] in PLACED)


def _negated(before: str) -> bool:
    """Whether one of the four words before a phrase negates it ("not a kids film", "nothing too scary")."""
    return any(w in NEGATIONS for w in before.replace("|", " ").split()[-4:])


def _merge(concepts: list[Concept]) -> list[Concept]:
    """Phrases that share a facet ask for one thing ("sad ... make me cry"): one concept, their facets joined."""
    out: list[Concept] = []
    for c in concepts:
        same = next((i for i, o in enumerate(out) if set(o.facets) & set(c.facets) and o.negated == c.negated), None)
        if same is None:
            out.append(c)
        else:
            o = out[same]
            out[same] = Concept(o.phrase, tuple(dict.fromkeys(o.facets + c.facets)), o.label, o.negated)
    return out


def query_facets(reader: FacetReader, query: RetrievalQuery) -> RequestFacets:
    """The facets of a retrieval query: read from its text (the request and topics as the message reader left
    them, else the weightiest context turn: in a chat the latest) without the titles of the movies it names,
    and its people; with liked items and a critique ("like Heat but less violent"), the affinity to the liked
    items' own facets too."""
    catalog = reader.index.catalog
    p = query.preferences
    latest = max(reversed(p.context), key=lambda c: c.weight).text if p.context else ""  # the chat's: the last
    text = query.text or latest
    named = [*query.liked_ids, *query.disliked_ids, *p.avoid_ids, *p.named_ids]
    titles = [catalog.get(i).title for i in dict.fromkeys(named) if i in catalog]
    text = without_titles(text, titles) if titles else text
    tail = " ".join(p.topics)
    if tail and text.endswith(" " + tail) and len(text) > len(tail) + 1:
        own = text[: -len(tail) - 1]  # the request's own words, when they name something: the topics the query
        if reader.concepts(own, p.people):  # appends are the parser's names for the same words ("a movie with a
            text = own  # twist" + "mind-bending" is one wish, not two)
    anchors = tuple(catalog.position(i) for i in query.liked_ids if i in catalog) if p.critiques else ()
    wished = [g for g, w in p.genres.items() if w >= WISHED_GENRE]
    key = (text, tuple(p.people), anchors, tuple(wished))
    got = reader.reads.get(key)
    if got is None:
        got = reader.read(text, p.people, anchors)
        if not got.wanted and wished:  # "show me more" after "Action movies from the 2000s": the wish still holds
            got = reader.read(", ".join([text, *wished]) if text else ", ".join(wished), p.people, anchors)
        reader.reads[key] = got
        while len(reader.reads) > 64:
            reader.reads.popitem(last=False)
    else:
        reader.reads.move_to_end(key)
    return got
