"""Genres in a message: a hard constraint only from an explicit, scoped statement ("only comedies", "no
horror"); a taste, a passing word or a hedged wish is a soft weight in [-1, 1]."""

from __future__ import annotations

import re

from recagent.agent.reading.model import HardConstraint, Understanding
from recagent.agent.reading.patterns import (
    ADJECTIVE_GENRE_WORDS,
    CONDITIONAL_NEG,
    GENRE_JOIN,
    GENRE_NOUN_AFTER,
    HARD_NEG,
    HARD_POS,
    HEDGE,
    IF_NOT,
    PREDICATE_AFTER,
    QUALIFIER,
    SOFT_NEG,
    TASTE,
    WISH,
)
from recagent.agent.reading.text import (
    about_someone_else,
    clause_bounds,
    is_descriptive,
    is_wishful,
    sentence_bounds,
    spans_overlap,
)
from recagent.agent.vocabulary import AMBIGUOUS_GENRE_WORDS, GENRE_CONTEXT, GENRE_WORDS


def genre_hits(
    low: str, vocab: list[str], blocked: list[tuple[int, int]], original: str = ""
) -> list[tuple[str, int, int, str]]:
    """(genre, start, end, word) for each genre word outside titles and names; longest words first."""
    present = {g.lower(): g for g in vocab}
    words: list[tuple[str, str]] = []
    for genre, ws in GENRE_WORDS.items():
        if genre.lower() in present:
            words += [(w, present[genre.lower()]) for w in ws]
    for g in vocab:
        if g.lower() != "war":
            words.append((g.lower(), g))
    hits: list[tuple[str, int, int, str]] = []
    taken: list[tuple[int, int]] = list(blocked)
    for word, genre in sorted(set(words), key=lambda w: (-len(w[0]), w)):
        for m in re.finditer(rf"(?<![\w-]){re.escape(word)}(?![\w-])", low):
            span = (m.start(), m.end())
            if any(h[1:] == (*span, word) for h in hits):
                hits.append((genre, m.start(), m.end(), word))  # "rom-com": one word, two genres
                continue
            if spans_overlap(span, taken):
                continue
            if word in AMBIGUOUS_GENRE_WORDS and re.match(r"[A-Z]\w*\s+[A-Z]", original[m.start() :]):
                continue  # "Mystery Science Theater": a name, not the genre
            if word in AMBIGUOUS_GENRE_WORDS:
                around = low[max(0, m.start() - 15) : m.start()] + " " + low[m.end() : m.end() + 12]
                if not GENRE_CONTEXT.search(around):
                    continue
            hits.append((genre, m.start(), m.end(), word))
            taken.append(span)
    return sorted(hits, key=lambda h: h[1])


def read_genres(
    low: str,
    vocab: list[str],
    blocked: list[tuple[int, int]],
    u: Understanding,
    drop: list[tuple[int, int]],
    text: str = "",
) -> None:
    hits = genre_hits(low, vocab, blocked, text)
    groups: list[list[tuple[str, int, int, str]]] = []
    for h in hits:
        if groups and GENRE_JOIN.match(low[groups[-1][-1][2] : h[1]]):
            groups[-1].append(h)
        else:
            groups.append([h])
    for group in groups:
        start = group[0][1]
        c_start, _ = clause_bounds(low, start)
        s_start, _ = sentence_bounds(low, start)
        base = max(c_start, start - 60)
        before = low[base:start]
        sentence_before = low[s_start:start]
        scary = [h for h in group if h[3] in ("scary", "spooky")]
        after = low[group[-1][2] : group[-1][2] + 30]
        adjective = all(h[3] in ADJECTIVE_GENRE_WORDS for h in group)
        if adjective and PREDICATE_AFTER.match(after):
            continue  # "only funny on oneself in retrospect": a predicate about something, no genre wish
        if re.search(r"\b(?:too much|less|not much|not a lot of|not so much)\s+$", before):
            continue  # "not too much action": an amount (a critique), not the genre
        if any(h[3] in ("children", "kids movie", "kids movies", "kid movies") for h in group) and re.search(
            r"\b(?:with|for)\s+(?:my|the|our|his|her)\s+$", before
        ):
            continue  # "movies with my children": who watches (the family critique), not a genre word
        if QUALIFIER.search(before):
            continue  # "not really into the foreign horror", "my favorite asian horror": a sub-kind, not the genre
        if IF_NOT.search(before):
            continue  # "if not horror, any good comedies?": an alternative, nothing against horror
        # "preferably, something that is not animated", "nothing with romance if possible"
        hedged = bool(
            HEDGE.search(sentence_before) or HEDGE.search(low[group[-1][2] : clause_bounds(low, group[-1][2])[1]])
        )
        conditional = CONDITIONAL_NEG.search(before)  # "as long as it is not horror", "if it's not horror I'm open"
        neg = conditional or HARD_NEG.search(before) or SOFT_NEG.search(before)
        if neg and re.search(r"\b(?:not|nothing)\s+(?:too|so|very|overly|that)\s+\w+\s+$", before):
            neg = None  # "not too gory horror": the negation is about the adjective (a critique), not the genre
        if neg:
            hard = bool(conditional) or (bool(HARD_NEG.search(before)) and not SOFT_NEG.search(before))
            hard = hard and not hedged
            if hard and not conditional and is_descriptive(before):
                continue  # "horror movies today are not scary": a description, nothing against horror
            for genre, _, e, word in group:
                if word in ("scary", "spooky") and hard:
                    continue  # "nothing scary" is the critique (scariness, -1); "I don't like scary movies" a taste
                if hard:
                    u.hard.append(HardConstraint(kind="exclude_genre", value=genre, phrase=low[c_start:e].strip()))
                u.genres[genre] = -1.0 if hard else -0.7
            drop.append((base + neg.start(), group[-1][2]))
            continue
        if is_descriptive(before) and all(
            h[3] in ("funny", "scary", "spooky", "romantic", "suspenseful", "animated") for h in group
        ):
            continue  # "it was funny": about a movie, not a wish
        if HARD_POS.search(before) and not hedged and not (adjective and not GENRE_NOUN_AFTER.match(after)):
            for genre, _, e, _word in group:
                if genre not in (c.value for c in u.hard if c.kind == "genre"):
                    u.hard.append(HardConstraint(kind="genre", value=genre, phrase=low[c_start:e].strip()))
                u.genres[genre] = 1.0
            continue
        s_end = sentence_bounds(low, start)[1]
        weight = (
            1.0
            if WISH.search(sentence_before)
            else 0.7
            if TASTE.search(sentence_before)
            else 1.0
            if is_wishful(low[s_start:s_end])
            else 0.3
        )
        if re.match(
            r"\s*(?:movies?|films?)?\s*(?:are|is|would be)\s+(?:also\s+)?(?:okay|ok|fine|good|great)\s+(?:too|also|as well)\b",
            low[group[-1][2] :],
        ):
            weight = max(weight, 0.7)  # "romantic comedies are okay too": an opening, a liked genre
        if is_descriptive(before) and not WISH.search(before):
            weight = min(weight, 0.3)  # "that's an action/adventure movie": about a film, a hint at most
        if about_someone_else(sentence_before, low):
            weight = min(weight, 0.3)  # "She made some great comedies": about her films, a faint hint at most
        if scary and len(group) == 1:
            weight = max(weight, 0.5)  # "something scary": a wish for horror, if not a stated one
        for genre, *_ in group:
            if u.genres.get(genre, 0.0) >= 0:  # a genre spoken against elsewhere in the message stays against
                u.genres[genre] = max(u.genres.get(genre, 0.0), weight)
