"""Deterministic explanations, built from what a candidate meets of the request and where it came from. No LLM
needed."""

from __future__ import annotations

from recagent.retrieval.base import Candidate
from recagent.retrieval.titles import display_title


def _facts(candidate: Candidate) -> str:
    """ "Comedy, Romance; 1994": its first two genres and its year (a semicolon: "Romance (1994)" is a title)."""
    bits = [", ".join(candidate.genres[:2])] if candidate.genres else []
    if candidate.year:
        bits.append(str(candidate.year))
    return "; ".join(bits)


def _what(candidate: Candidate) -> str:
    facts = _facts(candidate)
    return f" ({facts})" if facts else ""


def _meets(candidate: Candidate) -> str:
    """How the pick meets what the request named, in the facets' own words ("a heist film", "tagged tearjerker"):
    retrieval marked them on the candidate, so the sentence claims nothing the catalog does not hold."""
    labels = list(dict.fromkeys(candidate.matched))[:3]
    if not labels:
        return ""
    said = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
    return f"Fits what you asked for: {said}. "


def explain(candidate: Candidate, request: str | None = None) -> str:
    return _meets(candidate) + _why(candidate, request)


def _why(candidate: Candidate, request: str | None) -> str:
    src = candidate.sources
    what = _what(candidate)
    anchor = display_title(candidate.anchor_title) if candidate.anchor_title else None
    if anchor and "vector" in src:
        return f"Similar to {anchor}, which you liked{what}."
    if ("vector" in src or "text" in src) and request and not candidate.matched:  # else the first sentence says it
        snippet = request if len(request) <= 50 else request[:47] + "..."
        return f"Matches what you asked for, “{snippet}”{what}."
    if "mf" in src and anchor:
        return f"People who liked {anchor} also liked this{what}."
    if "mf" in src:
        return f"Liked by people whose taste is like yours{what}."
    if "sequential" in src:
        return f"Often watched next by people who watched what you watched recently{what}."
    if "ease" in src:
        return f"Often watched alongside titles you have seen{what}."
    if "comentions" in src and anchor:
        return f"Often brought up with {anchor} in movie conversations{what}."
    if "shown" in src:
        return f"Often brought up with the titles suggested earlier in this conversation{what}."
    if "text" in src and not candidate.matched:
        return f"Close to what you said in this conversation{what}."
    if "popularity" in src or "dialogue_popularity" in src or "dialogues" in src or not candidate.matched:
        return f"One of the most popular titles in the catalog{what}."
    return _listed(candidate)  # found by the request's facets alone: the first sentence says why


def _listed(candidate: Candidate) -> str:
    """ "Listed as Comedy, Romance; 1994." """
    if not candidate.genres:
        return f"Released in {candidate.year}." if candidate.year else ""
    return f"Listed as {_facts(candidate)}."
