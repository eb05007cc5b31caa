"""Is an explanation true of the catalog? The check behind every explanation recagent returns.

An explanation may name items ("Similar to Heat (1995), which you liked"), genres and years.
``Grounding.check`` finds each of them in the text and reports what is not true:

* a **cited item** must be the candidate itself or one the user mentioned: one of ``liked_ids``,
  or one named in the request or the history text the prompt showed. An item the user never
  mentioned is flagged, whether or not it exists;
* a **year** (``1995``, or a decade, ``1990s``) must be the candidate's, a cited item's, or one
  the request or history states;
* a **genre** of the catalog's vocabulary must be one of the candidate's or a cited item's genres.

* nothing in it may be meant for the machine: an item id, a label, JSON, a chat-template token
  (:mod:`recagent.agent.internal_tokens`).

Text the explanation quotes from the request (“...”) is the user's own words and is not checked.
Items are found by their normalised titles: with their year ("Heat (1995)") any title counts;
without it, only titles of two words or more and at least 9 characters ("The Matrix", "Toy
Story"), since one-word titles ("Heat", "Her") are ordinary words too, unless quoted (“Heat”).
The shorter ways people name a film count when written as a title, in capitals: a part of it
("The Last Jedi" for "Star Wars: The Last Jedi", "Star Wars"), the title without its article
("Dark Knight"), an alternative title. Genres are found by the catalog's names and the words
people use for them ("animated", "romantic", "science fiction"), decades also as "the 80s" or
"the eighties". The reranker runs the check on every LLM-written explanation and replaces a
failing one with the deterministic one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

from pydantic import BaseModel, Field

from recagent.agent.internal_tokens import internal_tokens
from recagent.agent.schema import ReplyCheck
from recagent.retrieval.titles import PARENTHESISED, display_title, normalize, without_parens, without_trailing_year

_YEAR = re.compile(r"^((?:18|19|20)\d{2})(s?)$")
_SHORT_DECADE = re.compile(r"^([0-9]0)s$")  # "80s", "'80s": the 1980s (or the 2000s, for "00s" to "20s")
_DECADE_WORDS = {"twenties": 20, "thirties": 30, "forties": 40, "fifties": 50, "sixties": 60, "seventies": 70,
                 "eighties": 80, "nineties": 90}  # fmt: skip
_QUOTED = re.compile(r"“([^”]*)”|\"([^\"]*)\"|‘([^’]*)’")
_PARTS = re.compile(r"\s*:\s+|\s+-\s+")  # "Star Wars: Episode IV - A New Hope"
_ARTICLES = ("the", "a", "an")
_MINOR = {"the", "a", "an", "of", "and", "in", "on", "to", "for", "with", "at", "by", "from", "or", "vs", "s"}
# words people use for a genre, by the catalog's genre name (used only for the genres the catalog has)
GENRE_WORDS = {
    "Sci-Fi": ["science fiction", "scifi"],
    "Animation": ["animated", "cartoon", "cartoons", "anime"],
    "Romance": ["romantic", "rom com", "romcom", "romcoms", "love story"],
    "Comedy": ["comedic", "rom com", "romcom", "romcoms"],
    "Horror": ["scary", "slasher"],
    "Film-Noir": ["noir"],
    "Documentary": ["documentaries"],
}
_CLAUSES = re.compile(r";(?=\s|$)")  # "Comedy, Romance; 1999", not the one in "Steins;Gate"
MIN_BARE_TITLE = 9


class GroundingReport(BaseModel):
    ok: bool
    problems: list[str] = Field(default_factory=list)
    cited: list[str] = Field(default_factory=list, description="item ids the explanation names")


class Grounding:
    """A title and genre index over catalog items (anything with id, title, year and genres)."""

    def __init__(self, items: Iterable):
        self.items: dict[str, tuple[int | None, frozenset[str]]] = {}
        self._title_of: dict[str, tuple[str, ...]] = {}
        self._written: dict[str, tuple[str, ...]] = {}  # how the catalog and explanations spell each title
        self._titles: dict[str, list[tuple[tuple[str, ...], str, bool]]] = {}  # first word: (key, id, cased)
        genres: set[str] = set()
        for it in items:
            iid = getattr(it, "item_id", None) or it.id  # a retrieval Candidate or a catalog Item
            self.items[iid] = (it.year, frozenset(it.genres))
            genres.update(it.genres)
            main = tuple(normalize(without_parens(it.title)).split())
            # the title as people read it, alternative titles included: "Ringu (Ring)", "The City of Lost Children (...)"
            bare = without_trailing_year(it.title)
            self._written[iid] = tuple(dict.fromkeys((it.title, display_title(it.title), bare, display_title(bare))))
            full = tuple(normalize(display_title(bare), move_article=False).split())  # as explanations write it
            as_listed = tuple(normalize(bare.replace(",", " ")).split())  # "Jetée, La" as the catalog writes it
            if main:
                self._title_of[iid] = main
            keys = dict.fromkeys(k for k in (main, full, as_listed) if k)
            for key in keys:
                self._titles.setdefault(key[0], []).append((key, iid, False))
            for key in dict.fromkeys(k for k in _short_names(it.title) if k and k not in keys):
                self._titles.setdefault(key[0], []).append((key, iid, True))
        for rows in self._titles.values():
            rows.sort(key=lambda r: (-len(r[0]), r[2]))  # longest first: "toy story 2" before "toy story"
        self._genres: dict[tuple[str, ...], set[str]] = {}
        for g in genres:
            words = normalize(g).split()
            if not words or g.startswith("("):
                continue
            last = words[-1]
            plural = last[:-1] + "ies" if last.endswith("y") else last + "s"
            names = [words, words[:-1] + [plural], *(w.split() for w in GENRE_WORDS.get(g, ()))]
            for name in names:
                self._genres.setdefault(tuple(name), set()).add(g)

    # ------------------------------------------------------------------ finding things in text

    def cited(self, text: str) -> list[str]:
        """Item ids named in ``text`` (every id sharing a named title, e.g. remakes)."""
        return [iid for _, _, ids in self._spans(words_of(text)) for iid in ids]

    def _spans(self, words: list[str], cased: list[str] | None = None) -> list[tuple[int, int, list[str]]]:
        """(start, end, item ids) of every title named in ``words``, longest match first at each place.
        ``cased``: the same words with their capitals; a short name of a title ("The Last Jedi") then
        counts only when written as a title. Without it (the user's own words) it always counts."""
        out: list[tuple[int, int, list[str]]] = []
        i = 0
        while i < len(words):
            hit = None
            for title, iid, short in self._titles.get(words[i], ()):
                n = len(title)
                if tuple(words[i : i + n]) != title:
                    continue
                if short and cased is not None and not _title_case(cased[i : i + n]):
                    continue
                year = self.items[iid][0]
                if year is not None and i + n < len(words) and words[i + n] == str(year):
                    hit = (i, i + n + 1, [iid])  # the year picks one of the films with this title
                    break
                if hit is None and n >= 2 and len(" ".join(title)) >= MIN_BARE_TITLE:
                    hit = (i, i + n, self._same_title(title))
            if hit:
                out.append(hit)
                i = hit[1]
            else:
                i += 1
        return out

    def _same_title(self, title: tuple[str, ...]) -> list[str]:
        return list(dict.fromkeys(iid for t, iid, _ in self._titles.get(title[0], ()) if t == title))

    def genres(self, text: str | list[str]) -> set[str]:
        words = words_of(text) if isinstance(text, str) else text
        found = set()
        for key, genre in self._genres.items():
            n = len(key)
            if any(tuple(words[i : i + n]) == key for i in range(len(words) - n + 1)):
                found |= genre
        return found

    @staticmethod
    def years(text: str | list[str]) -> list[tuple[int, bool]]:
        """(year, is_decade) for each year or decade ("1990s", "the 80s", "the eighties") in ``text``; a
        two-digit decade is read in the 1900s ("20s": 1920s)."""
        return [(y, decade) for y, decade, _ in _year_claims(words_of(text) if isinstance(text, str) else text)]

    # ------------------------------------------------------------------ the check

    def check(
        self,
        explanation: str,
        candidate_id: str,
        request: str = "",
        history: str = "",
        liked_ids: Sequence[str] = (),
        matched: Sequence[str] = (),
    ) -> GroundingReport:
        """Whether ``explanation`` claims only what the catalog holds about ``candidate_id`` and what the user
        said. ``matched``: the facet labels retrieval found the candidate meets ("scary", "heist film"); saying
        one of them is no genre claim (a thriller tagged creepy may be called scary)."""
        said = f"{request} {history}"
        text = _QUOTED.sub(lambda m: " " if _quoted_from(m, said) else m.group(0), explanation)
        allowed = {candidate_id, *liked_ids, *self.cited(said)}
        words = words_of(text)
        spans = self._spans(words, _cased_words(text, len(words)))
        spans += self._quoted_titles(text, {i for _, _, ids in spans for i in ids})
        cited = [iid for _, _, ids in spans for iid in ids]
        inside = {j for a, b, _ in spans for j in range(a, b)}
        rest = [w for j, w in enumerate(words) if j not in inside]  # a title's own words are no claim
        prose = self._without_titles(text, cited)  # "Love Potion #9", "Cry_Wolf", "The Candidate" are no leak
        problems = [f"contains {t}, which is internal" for t in internal_tokens(prose, self.items)]
        for _, _, ids in spans:  # the words may mean any of ``ids`` (remakes, a series): one allowed is enough
            if not any(i in allowed or any(x in allowed for x in self._twins(i)) for i in ids):
                problems.append(f"names item {ids[0]}, which the user never mentioned")
        about = [candidate_id, *(i for i in cited if i in allowed)]
        known_years = {self.items[i][0] for i in about if i in self.items} - {None}
        stated = {y for y, _ in self.years(said)}
        for year, decade, short in _year_claims(rest):
            if decade:
                starts = (year, year + 100) if short and year < 1930 else (year,)  # "the 20s" may be the 2020s
                fine = any(y0 <= y < y0 + 10 for y in known_years for y0 in starts) or year in stated
            else:
                fine = year in known_years or year in stated
            if not fine:
                problems.append(
                    f"names the {'decade' if decade else 'year'} {year}{'s' if decade else ''}, "
                    f"which is not the candidate's or a cited item's"
                )
        known_genres = set().union(*(self.items[i][1] for i in about if i in self.items))
        for genre in sorted(self.genres(_without_phrases(rest, matched)) - known_genres):
            problems.append(f"calls it {genre}, which is not a genre of the candidate or a cited item")
        return GroundingReport(ok=not problems, problems=problems, cited=cited)

    def _without_titles(self, text: str, cited: list[str]) -> str:
        """``text`` without the titles it names, as written, longest first."""
        spelled = sorted({t for iid in cited for t in self._written.get(iid, ())}, key=len, reverse=True)
        for title in spelled:
            text = re.sub(re.escape(title), " ", text, flags=re.I)
        return text

    def _quoted_titles(self, text: str, found: set[str]) -> list[tuple[int, int, list[str]]]:
        """Titles written in quotes, one-word ones too (“Heat”): a quote that is exactly a title names it.
        As spans of no words (the year check has already seen the words)."""
        out = []
        for m in _QUOTED.finditer(text):
            key = tuple(words_of(without_trailing_year(next(g for g in m.groups() if g is not None))))
            ids = self._same_title(key) if key else []
            if ids and not found.intersection(ids):
                out.append((0, 0, ids))
        return out

    def _twins(self, iid: str) -> list[str]:
        """Other ids with the same title (a bare "Ocean's Eleven" names both films: either may be the one meant)."""
        title = self._title_of.get(iid)
        return [x for x in self._same_title(title) if x != iid] if title else []


def _without_phrases(words: list[str], phrases: Sequence[str]) -> list[str]:
    """``words`` with every occurrence of each phrase's words cut out (a cut leaves a ";", so no new phrase is
    made of the words either side)."""
    for phrase in phrases:
        key = words_of(phrase)
        n, out, i = len(key), [], 0
        if not n:
            continue
        while i < len(words):
            if words[i : i + n] == key:
                out.append(";")
                i += n
            else:
                out.append(words[i])
                i += 1
        words = out
    return words


def words_of(text: str) -> list[str]:
    """Normalised words; a semicolon separates ("Comedy, Romance; 1999" does not name "Romance (1999)")."""
    out: list[str] = []
    for part in _CLAUSES.split(text):
        out += [*normalize(part, move_article=False).split(), ";"]  # a sentence, not a catalog title
    return out[:-1]


def _cased_words(text: str, n: int) -> list[str] | None:
    """``words_of(text)`` with the capitals kept (the same steps as ``normalize`` but ``lower``); None
    if they do not line up, when every short name then counts."""
    out: list[str] = []
    for part in _CLAUSES.split(text):
        t = unicodedata.normalize("NFKD", part).encode("ascii", "ignore").decode()
        t = re.sub(r"[^A-Za-z0-9,'&:\- ]+", " ", t)
        t = re.sub(r"\s+", " ", t).strip(" ,:-")
        out += [*re.sub(r"[,':\-&]+", " ", t).split(), ";"]
    return out[:-1] if len(out) - 1 == n else None


def _year_claims(words: list[str]) -> list[tuple[int, bool, bool]]:
    """(year, is_decade, written in two digits or words) for each year or decade in ``words``."""
    out = []
    for w in words:
        if m := _YEAR.match(w):
            out.append((int(m.group(1)), bool(m.group(2)), False))
        elif m := _SHORT_DECADE.match(w):
            out.append((1900 + int(m.group(1)), True, True))
        elif w in _DECADE_WORDS:
            out.append((1900 + _DECADE_WORDS[w], True, True))
    return out


def _title_case(words: list[str]) -> bool:
    """Written as a title: every word but the small ones ("of", "the") starts with a capital or a digit."""
    return all(w[0].isupper() or w[0].isdigit() for j, w in enumerate(words) if j == 0 or w.lower() not in _MINOR)


def _short_names(title: str) -> list[tuple[str, ...]]:
    """The shorter names of a catalog title, as normalised words: its parts ("Star Wars", "The Last
    Jedi"), each and the whole without a leading article, and its alternative titles."""
    main = without_parens(title).strip()
    bare = display_title(main)
    names = [p for p in _PARTS.split(bare) if p] if _PARTS.search(bare) else []
    names += [a for a in PARENTHESISED.findall(title) if not re.fullmatch(r"\s*\d{4}\s*", a)]
    out = []
    for name in [bare, *names]:
        words = normalize(re.sub(r"^(a\.k\.a\.|aka)\s*", "", name, flags=re.I), move_article=False).split()
        out.append(tuple(words))
        if words and words[0] in _ARTICLES:
            out.append(tuple(words[1:]))
    return [w for w in out if w]


def _quoted_from(m: re.Match, said: str) -> bool:
    quote = next((g for g in m.groups() if g is not None), "").strip()
    quote = quote.removesuffix("...").strip()
    return bool(quote) and quote.lower() in said.lower()


def keep_grounded(
    words: dict[str, str],
    grounding: Grounding,
    request: str,
    history: str,
    liked_ids: Sequence[str],
    checks: list[ReplyCheck],
    matched: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, str]:
    """The LLM-written explanations that pass the grounding check. A failing one is dropped (the
    deterministic one takes its place) and counted in the last reply's check, so the response and
    the eval reports show how many were replaced and why."""
    kept, bad = {}, []
    for iid, text in words.items():
        report = grounding.check(text, iid, request, history, liked_ids, (matched or {}).get(iid, ()))
        if report.ok:
            kept[iid] = text
        else:
            bad.append(f"{iid}: {report.problems[0]}")
    if bad:
        update = {"ungrounded": len(bad), "error": "; ".join(bad)[:500]}
        if checks:
            checks[-1] = checks[-1].model_copy(update=update)
        else:
            checks.append(ReplyCheck(valid=True).model_copy(update=update))
    return kept
