"""Is an explanation true of the catalog? The check behind every explanation recagent returns.

An explanation may name items ("Similar to Heat (1995), which you liked"), genres and years.
``Grounding.check`` finds each of them in the text and reports what is not true:

* a **cited item** must be the candidate itself or one the user mentioned: one of ``liked_ids``,
  or one named in the request or the history text the prompt showed. An item the user never
  mentioned is flagged, whether or not it exists;
* a **year** (``1995``, or a decade, ``1990s``) must be the candidate's, a cited item's, or one
  the request or history states;
* a **genre** of the catalog's vocabulary must be one of the candidate's or a cited item's genres.

Text the explanation quotes from the request (“...”) is the user's own words and is not checked.
Items are found by their normalised titles: with their year ("Heat (1995)") any title counts;
without it, only titles of two words or more and at least 9 characters ("The Matrix", "Toy
Story"), since one-word titles ("Heat", "Her") are ordinary words too. The reranker runs the check
on every LLM-written explanation and replaces a failing one with the deterministic one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, Field

from recagent.agent.schema import ReplyCheck
from recagent.retrieval.titles import display_title, normalize, without_parens, without_trailing_year

_YEAR = re.compile(r"^((?:18|19|20)\d{2})(s?)$")
_QUOTED = re.compile(r"“([^”]*)”|\"([^\"]*)\"")
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
        self._titles: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        genres: set[str] = set()
        for it in items:
            iid = getattr(it, "item_id", None) or it.id  # a retrieval Candidate or a catalog Item
            self.items[iid] = (it.year, frozenset(it.genres))
            genres.update(it.genres)
            main = tuple(normalize(without_parens(it.title)).split())
            # the title as people read it, alternative titles included: "Ringu (Ring)", "The City of Lost Children (...)"
            bare = without_trailing_year(it.title)
            full = tuple(normalize(display_title(bare), move_article=False).split())  # as explanations write it
            as_listed = tuple(normalize(bare.replace(",", " ")).split())  # "Jetée, La" as the catalog writes it
            if main:
                self._title_of[iid] = main
            for key in dict.fromkeys(k for k in (main, full, as_listed) if k):
                self._titles.setdefault(key[0], []).append((key, iid))
        for rows in self._titles.values():
            rows.sort(key=lambda r: -len(r[0]))  # longest first: "toy story 2" before "toy story"
        self._genres: dict[tuple[str, ...], str] = {}
        for g in genres:
            words = normalize(g).split()
            if not words or g.startswith("("):
                continue
            self._genres[tuple(words)] = g
            last = words[-1]
            plural = last[:-1] + "ies" if last.endswith("y") else last + "s"
            self._genres[tuple(words[:-1] + [plural])] = g

    # ------------------------------------------------------------------ finding things in text

    def cited(self, text: str) -> list[str]:
        """Item ids named in ``text`` (every id sharing a named title, e.g. remakes)."""
        return [iid for _, _, ids in self._spans(words_of(text)) for iid in ids]

    def _spans(self, words: list[str]) -> list[tuple[int, int, list[str]]]:
        """(start, end, item ids) of every title named in ``words``, longest match first at each place."""
        out: list[tuple[int, int, list[str]]] = []
        i = 0
        while i < len(words):
            hit = None
            for title, iid in self._titles.get(words[i], ()):
                n = len(title)
                if tuple(words[i : i + n]) != title:
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
        return list(dict.fromkeys(iid for t, iid in self._titles.get(title[0], ()) if t == title))

    def genres(self, text: str | list[str]) -> set[str]:
        words = words_of(text) if isinstance(text, str) else text
        found = set()
        for key, genre in self._genres.items():
            n = len(key)
            if any(tuple(words[i : i + n]) == key for i in range(len(words) - n + 1)):
                found.add(genre)
        return found

    @staticmethod
    def years(text: str | list[str]) -> list[tuple[int, bool]]:
        """(year, is_decade) for each year or decade ("1990s") in ``text``."""
        words = words_of(text) if isinstance(text, str) else text
        return [(int(m.group(1)), bool(m.group(2))) for m in map(_YEAR.match, words) if m]

    # ------------------------------------------------------------------ the check

    def check(
        self,
        explanation: str,
        candidate_id: str,
        request: str = "",
        history: str = "",
        liked_ids: Sequence[str] = (),
    ) -> GroundingReport:
        said = f"{request} {history}"
        text = _QUOTED.sub(lambda m: " " if _quoted_from(m, said) else m.group(0), explanation)
        allowed = {candidate_id, *liked_ids, *self.cited(said)}
        problems: list[str] = []
        words = words_of(text)
        spans = self._spans(words)
        cited = [iid for _, _, ids in spans for iid in ids]
        inside = {j for a, b, _ in spans for j in range(a, b)}
        rest = [w for j, w in enumerate(words) if j not in inside]  # a title's own words are no claim
        for iid in cited:
            if iid not in allowed and not any(x in allowed for x in self._twins(iid)):
                problems.append(f"names item {iid}, which the user never mentioned")
        about = [candidate_id, *(i for i in cited if i in allowed)]
        known_years = {self.items[i][0] for i in about if i in self.items} - {None}
        stated = {y for y, _ in self.years(said)}
        for year, decade in self.years(rest):
            if decade:
                fine = any(year <= y < year + 10 for y in known_years) or year in stated
            else:
                fine = year in known_years or year in stated
            if not fine:
                problems.append(
                    f"names the {'decade' if decade else 'year'} {year}{'s' if decade else ''}, "
                    f"which is not the candidate's or a cited item's"
                )
        known_genres = set().union(*(self.items[i][1] for i in about if i in self.items))
        for genre in sorted(self.genres(rest) - known_genres):
            problems.append(f"calls it {genre}, which is not a genre of the candidate or a cited item")
        return GroundingReport(ok=not problems, problems=problems, cited=cited)

    def _twins(self, iid: str) -> list[str]:
        """Other ids with the same title (a bare "Ocean's Eleven" names both films: either may be the one meant)."""
        title = self._title_of.get(iid)
        return [x for x in self._same_title(title) if x != iid] if title else []


def words_of(text: str) -> list[str]:
    """Normalised words; a semicolon separates ("Comedy, Romance; 1999" does not name "Romance (1999)")."""
    out: list[str] = []
    for part in text.split(";"):
        out += [*normalize(part, move_article=False).split(), ";"]  # a sentence, not a catalog title
    return out[:-1]


def _quoted_from(m: re.Match, said: str) -> bool:
    quote = (m.group(1) if m.group(1) is not None else m.group(2) or "").strip()
    quote = quote.removesuffix("...").strip()
    return bool(quote) and quote.lower() in said.lower()


def keep_grounded(
    words: dict[str, str],
    grounding: Grounding,
    request: str,
    history: str,
    liked_ids: Sequence[str],
    checks: list[ReplyCheck],
) -> dict[str, str]:
    """The LLM-written explanations that pass the grounding check. A failing one is dropped (the
    deterministic one takes its place) and counted in the last reply's check, so the response and
    the eval reports show how many were replaced and why."""
    kept, bad = {}, []
    for iid, text in words.items():
        report = grounding.check(text, iid, request, history, liked_ids)
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
