"""Understand one chat message: titles with the user's stance, soft and hard wishes, follow-up moves.

People first: a **hard** constraint (a filter) only comes from an explicit, scoped statement of what
the user wants now ("only comedies", "no horror", "nothing before 2000", "from the 90s" as a wish).
Genres said in passing, taste statements ("I love horror", "not a fan of sci-fi"), critiques ("less
violent", "nothing too dark"), topics ("a heist") and plain wishes ("I'm looking for a comedy") are
**soft**: they re-rank, they never filter. Narrative years ("I grew up in the 80s", "Matrix 4 comes
out in 2021", "from 2002 I believe") are nothing at all.

The parser is deterministic and never calls an LLM. It finds titles three ways: real quotes (an
apostrophe is never a quote), a ``spot`` callable over the catalog's titles (finds lowercase titles;
see :meth:`recagent.retrieval.titles.TitleResolver.spot`), and capitalised words after a cue ("like
Heat", "seen Jumanji"), which the caller resolves. People's names are recognised first and never read
as title or genre words. The LLM reading (:mod:`recagent.agent.llm_reading`) may add to this.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, Field

from recagent.agent import lexicon as lx
from recagent.retrieval.base import Critique
from recagent.retrieval.titles import TitleSpan

Stance = Literal["liked", "disliked", "seen", "want", "asking", "neutral"]
Origin = Literal["parser", "llm", "button"]
ConstraintKind = Literal["genre", "exclude_genre", "year_min", "year_max"]


Spotter = Callable[[str], list[TitleSpan]]
# a word right before a name several films share that says which one: "the new Ghostbusters", "the recent one
# Ghostbusters", "the remake of Ben-Hur" (the newest); "the original It", "the old Star Wars" (the oldest)
VERSION_CUE = re.compile(
    r"\b(?:the|a|that|this)\s+(?P<cue>new|newer|newest|recent|latest|remake|reboot|original|old|older|oldest)"
    r"(?:\s+(?:one|version|movie|film))?(?:\s+of)?(?:\s+the)?\s+$"
)
NEWER = {"new", "newer", "newest", "recent", "latest", "remake", "reboot"}


def _version_cue(low: str, start: int) -> re.Match | None:
    """The version cue right before a title that starts at ``start`` of the lowercased text, if any."""
    return VERSION_CUE.search(low[max(0, start - 30) : start])


class TitleMention(BaseModel):
    """A movie the message refers to by name, with the user's stance on it."""

    text: str = Field(description="the words as typed")
    stance: Stance
    origin: Origin = "parser"
    item_id: str | None = Field(None, description="set when the spotter resolved it; else the caller resolves text")
    title: str | None = None
    candidates: list[str] = Field(default_factory=list, description="the items an ambiguous name may be")
    explicit: bool = Field(True, description="quoted or capitalised: worth telling the user when it is not found")
    start: int = -1


class ListReference(BaseModel):
    """A reference to the last list shown: position 1-based, -1 the last, 0 "that one" (the focus)."""

    position: int
    stance: Stance
    more_like: bool = False


class HardConstraint(BaseModel):
    kind: ConstraintKind
    value: str | int
    phrase: str = Field("", description="the words it came from, for replies")
    origin: Origin = "parser"
    scope: Literal["request", "last_list"] = Field(
        "request", description="request: stated outright; last_list: relative to the list shown ('older ones')"
    )


class Understanding(BaseModel):
    """What one message says. Lists are additions to the dialogue state."""

    mentions: list[TitleMention] = Field(default_factory=list)
    references: list[ListReference] = Field(default_factory=list)
    hard: list[HardConstraint] = Field(default_factory=list)
    genres: dict[str, float] = Field(default_factory=dict, description="soft genre weights in [-1, 1]")
    critiques: list[Critique] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    people: list[str] = Field(default_factory=list)
    older: bool = Field(False, description="a follow-up: older than the list shown")
    newer: bool = Field(False, description="a follow-up: newer than the list shown")
    reset: bool = False
    repeat: bool = False
    asks: bool = Field(False, description="asks for something in words (the retrieval text follows it)")
    search_text: str | None = Field(
        None,
        description="the message without what the state carries otherwise (critiques, negated genres, years, names): "
        "the words for text retrieval, where 'less violent' or 'no horror' would pull the opposite",
    )

    # convenience views -------------------------------------------------------------------------
    def titles(self, stance: str) -> list[str]:
        return [m.text for m in self.mentions if m.stance == stance]

    @property
    def liked_titles(self) -> list[str]:
        return self.titles("liked")

    @property
    def disliked_titles(self) -> list[str]:
        return self.titles("disliked")

    @property
    def seen_titles(self) -> list[str]:
        return self.titles("seen")

    def hard_values(self, kind: str) -> list:
        return [c.value for c in self.hard if c.kind == kind]

    @property
    def year_min(self) -> int | None:
        v = self.hard_values("year_min")
        return max(v) if v else None

    @property
    def year_max(self) -> int | None:
        v = self.hard_values("year_max")
        return min(v) if v else None

    @property
    def more_like(self) -> list[int]:
        return [r.position for r in self.references if r.more_like]

    def as_labels(self) -> dict:
        """This reading in the understanding-eval label schema (mentions without ids: the caller resolves)."""
        return {
            "hard": {
                "genres": self.hard_values("genre"),
                "exclude_genres": self.hard_values("exclude_genre"),
                "year_min": self.year_min,
                "year_max": self.year_max,
            },
            "soft": {  # a genre that is a hard constraint is reported there only
                "liked_genres": [g for g, w in self.genres.items() if w >= 0.5 and g not in self.hard_values("genre")],
                "disliked_genres": [
                    g for g, w in self.genres.items() if w < 0 and g not in self.hard_values("exclude_genre")
                ],
            },
            "mentions": [{"title": m.title or m.text, "item_id": m.item_id, "stance": m.stance} for m in self.mentions],
            "critiques": [{"attribute": c.attribute, "direction": c.direction} for c in self.critiques],
            "topics": list(self.topics),
            "people": list(self.people),
        }


# ----------------------------------------------------------------------------------- patterns

ORDINALS = {
    "first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
    "fifth": 5, "5th": 5, "sixth": 6, "6th": 6, "seventh": 7, "7th": 7, "eighth": 8, "8th": 8,
    "ninth": 9, "9th": 9, "tenth": 10, "10th": 10, "top": 1, "last": -1,
}  # fmt: skip
_ORD = "|".join(sorted(ORDINALS, key=len, reverse=True))
# "the second one", "number 4", "#2", "the last" at the end of a phrase; never "the first Matrix"
LIST_REF = re.compile(
    rf"\b(?:the\s+)?(?:(?P<ord>{_ORD})(?:\s+(?:one|pick|movie|film|suggestion|option|title|choice))?"
    rf"|(?:number|no\.|#)\s*(?P<num>\d{{1,2}}))(?=\s*(?:[,.;!?]|$|\s(?:on|in|from|you|sounds|looks|is|was|please|but|and|i)\b))"
)
MORE_LIKE = re.compile(r"\b(?:more\s+like|similar\s+to|something\s+like|like)\s*$")
ANAPHOR = re.compile(r"\b(that one|this one|that movie|this movie|that film|that|it|this one too)\b")
SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|(?<=\.\.\.)|(?<=…)|\n+")
CLAUSE_BREAK = re.compile(r"[,;:]|(?<!anything )(?<!nothing )(?<!all )\bbut\b|\b(?:though|although|however|whereas|except that|and i|and i'm|so)\b|[.!?…]")

# stance cues: nearest before the mention in its clause, or after it
_BEFORE_STANCE: list[tuple[str, str]] = [
    ("want", r"(want|wanna|would like|'d like|need|plan|hope|going|gonna|have) to (see|watch|check out)|should (see|watch)|"
             r"(will|'ll|gonna|going to) (check out|watch|look up|look for|see|try)|been meaning to (see|watch)|"
             r"on my (watch ?)?list|add(ed)? to my list|interested in (seeing|watching)"),
    ("disliked", r"hated|hate|disliked|dislike|didn'?t (like|enjoy|care for|love)|did not (like|enjoy|care for)|"
                 r"not a (big |huge )?fan of|can'?t stand|couldn'?t stand|wasn'?t (into|a fan of)|not into|"
                 r"never liked|don'?t (like|care for)|do not like|disappointed by|not crazy about|"
                 r"(don'?t|do not|didn'?t|did not|never) (like|enjoy|love) (movies?|films?|stuff|things|ones) like|boycotting"),
    ("asking", r"have you (ever )?(seen|watched|heard of)|did you (see|watch|like)|ever seen|heard of|"
               r"what (is|was|'s|about)|what'?s|how about|what about|do you (know|like)|are you familiar with|"
               r"tell me about|anything like|recommend"),
    ("liked", r"(like|love|enjoy) to (watch|see|rewatch)|(re-?watching|re-?watched|re-?watch)|"
              r"loved|love|liked|like|enjoyed|enjoy|adore|adored|fan of|into|favou?rites?( include| are| is)?|"
              r"favou?rite (movies?|films?|ones?)( include| are| is| was| were)?|favou?rite (\w+ ){1,2}(include|are|is|was|were)|"
              r"similar to|in the vein of|such as|as good as|reminds me of|a lot like|big on|obsessed with|"
              r"grew up (on|with|watching)|fond of|appreciated|recommended"),
    ("seen", r"seen|saw|watched|have seen|'ve seen|already seen|watched|caught"),
]
_AFTER_STANCE: list[tuple[str, str]] = [
    ("want", r"sounds? (good|great|interesting|awesome|fun|cool|amazing)|looks? (good|great|interesting)|(is )?a must[- ]see|"
             r"looks like it (will|would|'ll|could) be (\w+ )?(good|great|fun|funny|awesome|interesting)|"
             r"(sounds|looks) like a (really )?(good|great|fun|nice) (one|suggestion|pick|choice|movie|film|idea)|"
             r"i'?ll (check|look|watch)|will (check|look|watch)|want to (see|watch)|is on my list"),
    ("disliked", r"(was|is|were|are|seemed) (so |really |pretty |too |kind of |kinda )?"
                 r"(bad|terrible|awful|boring|horrible|meh|overrated|disappointing|dumb|stupid|slow|weird|not good|"
                 r"not great|not for me|too (long|slow|violent|scary|dark))|sucked|sucks|wasn'?t (good|great|for me)|"
                 r"(hated|didn'?t like|didn'?t enjoy|not a fan of) (it|that|them)"),
    ("liked", r"(was|is|were|are) ((so|really|pretty|very|just|absolutely|such|my|also|still|always|definitely|"
              r"truly|totally) ){0,2}(a |my |an |one of the )?"
              r"(great|amazing|awesome|good|fantastic|excellent|brilliant|fun|funny|hilarious|perfect|wonderful|"
              r"incredible|classic|masterpiece|favou?rite|one of my|the best|beautiful|cool|nice|gold|gem|epic|legendary|"
              r"hilarious|a must)|rocks|rocked|"
              r"(loved|liked|enjoyed|love|like|adore) (it|that|them|this)|(is|was) one of my|"
              r"(many|several|multiple|countless|so many|a (few|million|hundred|thousand|bunch of|lot of)) (of )?times|"
              r"(over and over|never get tired of)"),
]
BEFORE_STANCE = [(s, re.compile(rf"\b(?:{p})\s+(?:(?:the|a|an|movies?|films?|called|it|all|of|so|too|much|really|"
                                rf"original|first|new|old|whole|that|this|was|is|were|are)\s+){{0,3}}$")) for s, p in _BEFORE_STANCE]
AFTER_STANCE = [(s, re.compile(rf"^[\s,.!…]*(?:(?:i|it|that|and|but|which|too|also|really|just|though)\s+){{0,3}}(?:{p})\b"))
                for s, p in _AFTER_STANCE]
NOT_SEEN = re.compile(r"\b(haven'?t|have not|never|not|didn'?t|did not|hasn'?t|yet to)\s+(ever\s+)?(seen|see|watched|watch)\b")
WANT_ANY = re.compile(
    r"\b(want to|wanna|would like to|'d like to|will|i'll|plan to|going to|gonna|need to|should|have to)\s+(check|see|watch|"
    r"look|give|try|find|get)|\b(seen|watched) (it|that|this|that one|this one|\w+)? ?yet\b|\bmust[- ]see\b|\bi want to\b|\bbut i want\b|\bon my list\b|\bsounds? (good|great|interesting)\b|\blooks? (good|great)\b"
)

# follow-up moves on the last list
REJECT_FOCUS = re.compile(
    r"\b(not that one|not this one|seen (it|that|this)( one)?|i'?ve seen (it|that|this)|already (seen|watched)( it| that)?|"
    r"watched (it|that)( one)? already|saw (it|that) already|not (interested|for me)|no thanks|"
    r"don'?t like (it|that)( one)?|skip (it|that)( one)?)\b"
)
SEEN_WORDS = re.compile(r"\b(seen|saw|watched)\b")
RESET = re.compile(r"\b(start over|start again|reset|forget (everything|all that)|new search|from scratch)\b")
REPEAT = re.compile(r"\b(show (me )?(them|those|it|that list) again|repeat|same (list|ones) again|again please)\b")
FOLLOW_UP_YEARS = re.compile(
    r"^\s*(?:(?:something|anything|some|any|show me|give me|got|maybe|how about|what about|ok|okay|hmm|now|and|but)\s+)*"
    r"(?:(?:a bit|a little|much|even|slightly)\s+)?(?P<w>older|newer|more recent)"
    r"(?:\s+(?:ones?|movies?|films?|stuff|picks|please|instead|then|maybe))*\s*[.!?]*\s*$"
    r"|\b(?P<w2>older|newer|more recent)\s+than\s+(?:these|those|that|this|them)\b"
)

# years
DECADE = re.compile(
    r"\b(?:the\s+)?(?:(?P<early>early|mid|late)\s*-?\s*)?(?:(?P<century>19|20)(?P<d1>\d)0|'?(?P<d2>\d)0)'?s\b"
)
BETWEEN = re.compile(r"\b(?:between|from)\s+(?P<a>(?:19|20)\d{2})\s*(?:and|to|until|till|-|–)\s*(?P<b>(?:19|20)\d{2})\b")
BEFORE = re.compile(
    r"\b(?P<neg>nothing|no (?:movies?|films?)|not)?\s*(?:made |released |from )?"
    r"(?:before|older than|earlier than|prior to|pre-?)\s*(?P<y>(?:19|20)\d{2})\b"
)
AFTER = re.compile(
    r"\b(?P<neg>nothing|no (?:movies?|films?)|not)?\s*(?:made |released |from )?"
    r"(?P<op>after|newer than|later than|since|post-?)\s*(?P<y>(?:19|20)\d{2})\b"
)
IN_YEAR = re.compile(
    r"\b(?:movies?|films?|something|anything|ones?|stuff|comedies|dramas|thrillers)\s+"
    r"(?:from|of|released in|made in|(?:that|which)\s+(?:came|come|have come)\s+out\s+in)\s+(?P<y>(?:19|20)\d{2})\b"
)
NARRATIVE = re.compile(
    r"\b(grew up|growing up|came out|comes out|coming out|come out|came|was made|were made|was released|"
    r"were released|remake|remade|original|the first one|i believe|i think|i guess|probably|back in|when i was|"
    r"as a kid|years ago|born|saw it|watched it|first saw|making|sequel|prequel|is from|was from|it'?s from|"
    r"it is from|in theaters|release|released|reboot|version|i remember|remember|set in|setting|settings|takes place|"
    r"taking place|took place|era)\b"
)
# a sentence about someone else ("He has some classics from the 90's"): no wish of the user's
THIRD_PERSON = re.compile(
    r"^\W*(?:(?:and|but|so|well|also|oh|yeah|yes|plus)\W+)*(?:he|she|they|his|her|their|he'?s|she'?s|they'?re)\b"
    r"|\b(?:he|she|they)\s+(?:has|had|have|did|does|do|made|makes|make|was|were|is|are|'s|'re|starred|directed|"
    r"played|acted|did)\b"
)
FIRST_PERSON_WISH = re.compile(
    r"\b(i|i'm|i'd|we|me|us)\b.*\b(want|looking|like to|love to|need|prefer|hoping|in the mood|wish)\b|"
    r"\b(can you|could you|do you have|got any|any (?:good )?(?:suggestions?|ideas?|recommendations?)|recommend|suggest|"
    r"ideas for|something for (?:him|her|them))\b"
)
# a time word that the user opens up in the same message ("A more modern comedy is good too though!")
TIME_RELAXED = re.compile(
    r"\b(?:more modern|modern|newer|more recent|recent|older|any (?:decade|era|year)s?|other decades?)\b"
    r"[^.!?]{0,40}\b(?:too|also|as well|is fine|are fine|works|is ok|is okay|would be (?:good|fine|ok|okay))\b"
    r"|\b(?:any|whatever)\s+(?:decade|era|year)s?\b|\b(?:doesn'?t|does not|don'?t) (?:have|need) to be\b"
)
# tolerance, not a wish: "I will also watch new films", "a more modern comedy is good too"
TOLERANCE = re.compile(
    r"\b(?:will also watch|would also watch|also watch|(?:is|are|would be) (?:also )?(?:okay|ok|fine|good) (?:too|also|as well)|"
    r"don'?t mind|wouldn'?t mind|open to)\b"
)
# a qualifier that makes a genre word a sub-kind the labels do not read as the genre ("foreign horror", "asian horror")
QUALIFIER = re.compile(
    r"\b(?:foreign|asian|korean|japanese|chinese|french|italian|spanish|german|indian|bollywood|british|european)\s+$"
)
WISH = re.compile(
    r"\b(looking for|look for|looking to|seeking|seek|hunting for|want|wanna|in the mood|mood for|recommend|recommendation|recommendations|"
    r"suggest|suggestion|suggestions|give me|show me|find me|need|would like|i'?d like|how about|what about|"
    r"feel like|any good|something|anything|some|any|searching|hoping|prefer|preferably|ideally|please|only|just|interested in|"
    r"do you know|know of|know any|"
    r"maybe|watch a|watch some|to watch|to see|would love|'d love|ideas|options|can you|could you|got any|have any|"
    r"is there|are there)\b"
)
TASTE = re.compile(
    r"\b(like|likes|liking|love|loves|loving|enjoy|enjoys|enjoying|fan of|into|favou?rite|adore|big on|prefer|usually|mostly|always|"
    r"watch a lot of|i'?m a|kind of person|type of person|grew up)\b"
)

# genre cues, anchored at the end of the text before a genre (or a coordinated list of genres)
_FILL = (
    r"(?:(?:a|an|any|the|more|really|real|too|much|big|huge|of|that|those|these|many|super|very|kind of|type of|"
    r"sort of|movies?|films?|stuff|genre|either|so|good|great|some|scary|cheesy|old|new|gory|dumb|stupid|silly|typical|"
    r"indie|independent|classic|modern|recent|cheap|low budget|b)\s+){0,3}"
)
HARD_NEG = re.compile(
    rf"\b(?:no more|no|not|nothing|without|anything but|anything except|anything other than|except|except for|besides|"
    rf"other than|apart from|avoid|avoiding|skip|"
    rf"don'?t want|do not want|not in the mood for|none of|no more of|rather not|won'?t watch|not looking for|"
    rf"don'?t show me|nothing with|not another)\s+{_FILL}$"
)
SOFT_NEG = re.compile(
    rf"\b(?:not (?:a |an |the )?(?:big |huge |real |great |much of a |really )?fans? of|(?:don|doesn)'?t (?:really |usually |much )?"
    rf"(?:like|enjoy|care (?:much |too much )?for|do|love|watch)|(?:do|does) not (?:like|enjoy|care (?:much )?for)|hate|hates|hated|dislike|dislikes|can'?t stand|"
    rf"not (?:(?:really|very|too|that|all that|big|huge|so|much) )*into|not (?:really |too |very )?big on|"
    rf"never (?:liked|enjoyed|cared for|been into)|(?:didn'?t|did not|never) (?:really )?(?:like|enjoy|care for|love)|"
    rf"not crazy about|not a huge|tired of|sick of|had enough of|not much for|not really|aren'?t my thing|not my thing|"
    rf"not (?:really |very |that |too )?interested in|not for|not (?:a )?(?:big |huge )?(?:horror |movie )?person for)\s+{_FILL}$"
)
CONDITIONAL_NEG = re.compile(
    rf"\b(?:as long as|so long as|provided|if|unless)\s+it\s*(?:'s|'re|is|are|isn'?t|aren'?t)\s*(?:not\s+)?{_FILL}$"
)
# "if not horror, any good comedies?": an alternative, not an exclusion (nothing is said against horror)
IF_NOT = re.compile(rf"\b(?:if|or|and if|but if)\s+not\s+{_FILL}$")
# hedges make a stated constraint a preference: "preferably something that is not animated", "ideally from the 90s"
# ("maybe" is no hedge: "An 80's comedy maybe?" is how people ask for one; nor are polite forms: "no horror would be great")
HEDGE = re.compile(
    r"\b(preferably|preferable|ideally|if possible|if you can|i'?d prefer|i would prefer|"
    r"i'?d rather|i would rather|bonus if|not necessarily|doesn'?t have to|does not have to|not a must)\b"
)
# an adjective genre word is a genre only next to a noun it describes ("only funny movies"), not as a predicate
ADJECTIVE_GENRE_WORDS = {"funny", "scary", "spooky", "romantic", "suspenseful", "animated", "comedic"}
GENRE_NOUN_AFTER = re.compile(
    r"^\s*(?:and\s+\w+\s+|or\s+\w+\s+|,\s*\w+\s+)?(?:movies?|films?|flicks?|ones?|stuff|shows?|comedy|comedies|"
    r"thrillers?|dramas?|horror|animations?|cartoons?|romance|romances|kind|type|sort)\b"
)
PREDICATE_AFTER = re.compile(r"^\s*(?:on|to|at|about|because|when|in retrospect|in hindsight|looking back)\b")
HARD_POS = re.compile(
    rf"\b(?:only|just|strictly|purely|exclusively|nothing but|has to be|must be|needs to be|got to be|gotta be|"
    rf"it should be|should be|only want|stick to|stick with|keep it to|limit it to)\s+{_FILL}$"
)
GENRE_JOIN = re.compile(r"^(?:\s*(?:,|/|&|\+|\band\b|\bor\b|\bnor\b|\bor even\b|\bmovies?\b|\bfilms?\b|\beither\b|\bstuff\b))*\s*$")

CRITIQUES = [(re.compile(rf"\b(?:{p})\b"), a, d) for p, a, d in lx.CRITIQUES]
TOPICS = [(topic, re.compile(rf"\b(?:{p})\b")) for topic, p in lx.TOPICS.items()]

# quotes: double and curly quotes; a straight or curly single quote only where it cannot be an apostrophe
QUOTED = re.compile(r"[\"“”]([^\"“”\n]{2,80})[\"“”]|(?<![\w])['‘]([^'‘’\n]{2,80}?)['’](?![\w])")
CUE_TITLE = re.compile(
    r"\b(?:like|similar to|loved|love|enjoyed|enjoy|liked|fan of|in the vein of|such as|as good as|seen|saw|watched|"
    r"hated|disliked|didn'?t like|did not like|not a fan of|heard of|about|favou?rite (?:movie |film )?is|"
    r"want to see|want to watch|check out|reminds me of|recommend)\s+"
    r"(?P<t>(?:[A-Z0-9][\w'’:&-]*!?)(?:\s+(?:(?:of|the|a|an|and|in|on|to|for|with|from|at|vs\.?|&|[A-Z0-9][\w'’:&-]*!?))){0,7})"
)
TITLE_TAIL = re.compile(r"(?:\s+(?:of|the|a|an|and|in|on|to|for|with|from|at|vs\.?|&))+$")
STOP_TITLES = {"disney", "disney!", "pixar", "marvel", "dreamworks", "netflix", "ghibli", "hbo", "it", "that", "this", "one", "them", "those", "i", "me", "you", "something", "anything", "movies",
               "films", "a lot", "the movie", "the film", "yes", "no", "ok", "okay"}


# ----------------------------------------------------------------------------------- helpers


def _norm(text: str) -> str:
    """Lowercase with every apostrophe a plain ', the same length as the message (offsets hold)."""
    return text.lower().replace("’", "'").replace("‘", "'")


def _spans_overlap(a: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(a[0] < e and s < a[1] for s, e in spans)


def _clause_bounds(low: str, pos: int) -> tuple[int, int]:
    """The clause around ``pos``: from the previous clause break to the next one."""
    start, end = 0, len(low)
    for m in CLAUSE_BREAK.finditer(low):
        if m.end() <= pos:
            start = m.end()
        elif m.start() >= pos:
            end = m.start()
            break
    return start, end


def _sentence_of(low: str, pos: int) -> str:
    s, e = _sentence_bounds(low, pos)
    return low[s:e]


def _sentence_bounds(low: str, pos: int) -> tuple[int, int]:
    start, end = 0, len(low)
    for m in re.finditer(r"[.!?…]+|\n", low):
        if m.end() <= pos:
            start = m.end()
        elif m.start() >= pos:
            end = m.end()
            break
    return start, end


def find_people(text: str) -> list[tuple[str, int, int]]:
    """People's names in the message: (name, start, end). Known nicknames; a known first name followed by a
    surname or a capitalised word; a known surname or a capitalised name after "with", "starring", "by"."""
    low = _norm(text)
    found: list[tuple[str, int, int]] = []
    for nick in lx.NICKNAMES:
        for m in re.finditer(rf"(?<![\w]){re.escape(nick)}(?![\w])", low):
            found.append((nick, m.start(), m.end()))
    tokens = [(m.group(0), m.start(), m.end()) for m in re.finditer(r"[a-z](?:[a-z'-]*[a-z])?", low)]
    for i, (tok, s, e) in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if tok in lx.FIRST_NAMES and nxt and low[e : nxt[1]].strip() == "":
            cap = text[nxt[1]].isupper() and text[s].isupper()
            if nxt[0] in lx.SURNAMES or (cap and nxt[0] not in lx.COMMON_WORDS):
                found.append((f"{tok} {nxt[0]}", s, nxt[2]))
                continue
        if tok in lx.SURNAMES and not _spans_overlap((s, e), [(a, b) for _, a, b in found]):
            before = low[max(0, s - 30) : s]
            after = low[e : e + 12]
            if re.search(r"\b(with|starring|featuring|by|directed by|from)\s+$", before) or re.match(
                r"\s*('s\s+)?(movies?|films?|flicks?|stuff)\b", after
            ):
                found.append((tok, s, e))
    for m in lx.PEOPLE_CUES.finditer(low):
        rest = text[m.end() :]
        cap = re.match(r"((?:[A-Z][a-z'.-]+)(?:\s+[A-Z][a-z'.-]+){0,2})", rest)
        if cap and cap.group(1).lower() not in lx.COMMON_WORDS:
            s = m.end()
            if not _spans_overlap((s, s + len(cap.group(1))), [(a, b) for _, a, b in found]):
                found.append((cap.group(1).lower(), s, s + len(cap.group(1))))
    found.sort(key=lambda f: f[1])
    out: list[tuple[str, int, int]] = []
    for f in found:
        if not _spans_overlap((f[1], f[2]), [(a, b) for _, a, b in out]):
            out.append(f)
    return out


def _genre_hits(
    low: str, vocab: list[str], blocked: list[tuple[int, int]], original: str = ""
) -> list[tuple[str, int, int, str]]:
    """(genre, start, end, word) for each genre word outside titles and names; longest words first."""
    present = {g.lower(): g for g in vocab}
    words: list[tuple[str, str]] = []
    for genre, ws in lx.GENRE_WORDS.items():
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
            if _spans_overlap(span, taken):
                continue
            if word in lx.AMBIGUOUS_GENRE_WORDS and re.match(r"[A-Z]\w*\s+[A-Z]", original[m.start() :]):
                continue  # "Mystery Science Theater": a name, not the genre
            if word in lx.AMBIGUOUS_GENRE_WORDS:
                around = low[max(0, m.start() - 15) : m.start()] + " " + low[m.end() : m.end() + 12]
                if not lx.GENRE_CONTEXT.search(around):
                    continue
            hits.append((genre, m.start(), m.end(), word))
            taken.append(span)
    return sorted(hits, key=lambda h: h[1])


SUBJECT = re.compile(r"\b(i|i'm|i've|i'd|we|they|he|she|it|it's|my|our|was|were|is|are|you|your|he's|she's|they're)\b")


def _wishful(sentence: str) -> bool:
    """A wish: a wish word ("looking for", "something", "please"), or a bare request fragment with no
    subject of its own ("a sci-fi movie from the 1980s without romance", "funny animated films for kids")."""
    return bool(WISH.search(sentence)) or not SUBJECT.search(sentence)


def _adjacent(low: str, a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Two spans with at most spaces or an apostrophe between them ("80's classics", "older 80's comedies")."""
    gap = low[a[1] : b[0]] if a[1] <= b[0] else low[b[1] : a[0]] if b[1] <= a[0] else ""
    return bool(re.fullmatch(r"[\s'-]*", gap))


def _about_someone_else(sentence_before: str, message: str = "") -> bool:
    """The sentence so far is about another person ("He has some classics from the 90's") and ``message`` (that
    sentence when not given) asks for nothing ("He likes adventure ... Any ideas?" asks for him)."""
    return bool(THIRD_PERSON.search(sentence_before)) and not FIRST_PERSON_WISH.search(message or sentence_before)


def _descriptive(before: str) -> bool:
    """'most horror today is not scary': a description, not a wish ('something that's not too dark' is a wish)."""
    if not lx.DESCRIPTIVE_BEFORE.search(before):
        return False
    return not re.search(r"\b(something|anything|one|ones|movie|movies|film|films)\s+(that|which)\s*('s|'re|is|are)?\s+(\w+\s+){0,2}$", before)


# ----------------------------------------------------------------------------------- the parser


def parse_message(message: str, genre_vocab: list[str], spot: Spotter | None = None) -> Understanding:
    """The deterministic reading of a message. Never calls an LLM."""
    text = message.strip()
    low = _norm(text)
    u = Understanding()

    people = find_people(text)
    u.people = list(dict.fromkeys(name for name, _, _ in people))
    blocked: list[tuple[int, int]] = [(s, e) for _, s, e in people]

    _read_titles(text, low, spot, blocked, u, genre_vocab)
    title_spans = [(m.start, m.start + len(m.text)) for m in u.mentions if m.start >= 0]
    _read_references(low, u, title_spans)
    drop: list[tuple[int, int]] = list(blocked)
    _read_genres(low, genre_vocab, blocked + title_spans, u, drop, text)
    year_spans = _read_years(low, u, drop)
    _read_critiques_and_topics(low, blocked + title_spans, u, drop, year_spans)
    u.search_text = _without(text, drop)

    u.reset = bool(RESET.search(low))
    u.repeat = bool(REPEAT.search(low))
    u.asks = bool(
        u.hard or u.genres or u.critiques or u.topics or u.people or any(m.stance == "liked" for m in u.mentions)
        or (WISH.search(low) and not u.references)
    )
    return u


def _stance(low: str, start: int, end: int) -> Stance:
    """The user's stance on the title at [start, end): cues before it in its clause, then after it, then an
    anaphor in the next sentence ("saw Marriage Story... liked it")."""
    s_start, s_end = _sentence_bounds(low, start)
    sentence = low[s_start:s_end]
    c_start, c_end = _clause_bounds(low, start)
    before = low[c_start:start].rstrip(" \"“”'‘") + " "
    after = low[end:c_end].lstrip("\"“”'’")
    rest_of_sentence = low[end:s_end].lstrip("\"“”'’")
    not_seen = NOT_SEEN.search(low[s_start:start]) or NOT_SEEN.search(rest_of_sentence[:40])
    if not_seen:
        return "want" if WANT_ANY.search(sentence + low[s_end : s_end + 60]) else "neutral"
    found: Stance | None = None
    if re.match(r"\s*(?:fan|fanatic|person)\b", after) and re.search(r"\b(?:a|an)\s+(?:\w+\s+)?$", before):
        # "Not a Star Wars fan", "I'm a huge Star Wars fan"
        return "disliked" if re.search(r"\b(?:not|never been|wasn'?t|isn'?t)\s+(?:really\s+)?(?:a|an)\s+(?:\w+\s+)?$", before) else "liked"
    for stance, pat in BEFORE_STANCE:
        if pat.search(before):
            found = stance  # type: ignore[assignment]
            break
    if found is None or found in ("seen", "asking"):
        for stance, pat in AFTER_STANCE:
            if pat.search(after) or pat.search(rest_of_sentence):
                return stance  # type: ignore[return-value]
    if found in (None, "seen"):
        nxt = low[s_end : s_end + 80]
        for stance, pat in AFTER_STANCE:
            if pat.search(nxt) and ANAPHOR.search(nxt[:40]):
                return stance  # type: ignore[return-value]
    if found == "asking" and "?" not in low[start : s_end + 1] and not re.search(r"\b(have you|did you|ever|heard)\b", before):
        found = "neutral" if not re.search(r"\b(what|how) about\b", before) else "asking"
    if found is None and "?" in low[end:s_end] and re.search(r"\b(have you|did you|ever|heard of|know)\b", sentence):
        return "asking"
    return found or "neutral"


def _read_titles(
    text: str, low: str, spot: Spotter | None, blocked: list[tuple[int, int]], u: Understanding, vocab: list[str]
) -> None:
    taken = list(blocked)
    genre_words = {w for ws in lx.GENRE_WORDS.values() for w in ws} | {g.lower() for g in vocab}

    def add(start: int, end: int, explicit: bool, span: TitleSpan | None = None, versioned: bool = False) -> None:
        raw = text[start:end].strip(" \"'“”‘’")
        if len(raw) < 2 or (raw.lower() in STOP_TITLES and not versioned) or _spans_overlap((start, end), taken):
            return
        taken.append((start, end))
        stance = _stance(low, start, end)
        mention = TitleMention(text=raw, stance=stance, explicit=explicit, start=start)
        if span is not None:
            mention.candidates = list(span.item_ids)
            cue = _version_cue(low, start)
            pick = None if cue is None or span.years[:1] == [None] else span.version(newest=cue["cue"] in NEWER)
            if pick is not None:  # "the new Ghostbusters", "the original It": the version asked for
                mention.item_id, mention.title = span.item_ids[pick], span.titles[pick]
            elif not span.ambiguous:
                mention.item_id, mention.title = span.item_ids[0], span.title
        u.mentions.append(mention)

    for m in QUOTED.finditer(text):
        g = 1 if m.group(1) is not None else 2
        s, e = m.start(g), m.end(g)
        inner = [sp for sp in (spot(text[s:e]) if spot else []) if sp.start == 0 and sp.end >= e - s - 1]
        add(s, e, True, inner[0] if inner else None)
    if spot is not None:
        for sp in spot(text):
            words = re.findall(r"[a-z0-9]+", low[sp.start : sp.end])
            capital = text[sp.start].isupper()
            if re.match(r"\s+(\d{1,2}|ii|iii|iv|v|vi)\b", low[sp.end : sp.end + 5]):
                continue  # "Matrix 4": a sequel the catalog does not have, not The Matrix
            versioned = capital and _version_cue(low, sp.start) is not None
            if all(w in lx.COMMON_WORDS for w in words) and not versioned:
                continue  # "I do", "the one": common words are never a title outside quotes ("the new It" is one)
            if low[sp.start : sp.end] in genre_words:
                continue  # "I like Drama", "Romance movies": the genre, not the film called so
            if len(words) == 1 and words[0] in lx.COMMON_WORDS and not versioned:
                continue
            s_start, s_end = _sentence_bounds(low, sp.start)
            if len(words) == 1 and re.sub(r"[^a-z0-9 ]", "", low[s_start:s_end]).strip() == words[0]:
                continue  # "Perfect! I will watch it soon": an exclamation, not the film called so
            # a single word, or a title in lowercase ("thanks for the help"), is a title only when the user says
            # something about it ("loved Heat", "have you seen Inception?", "star wars is awesome"), or it is
            # listed with a title before it ("I liked The Shining and Heat")
            listed = bool(u.mentions) and re.fullmatch(
                r"\s*(,|and|or|&|, and|as well as)\s*", low[u.mentions[-1].start + len(u.mentions[-1].text) : sp.start]
            )
            if (len(words) == 1 or not capital) and not listed and _stance(low, sp.start, sp.end) == "neutral":
                continue
            tail = low[sp.end : sp.end + 12]
            if not capital and re.match(r"\s+(?:movies|films|flicks|stuff)\b", tail) and (
                any(w in genre_words for w in (" ".join(words[-1:]) + tail.split()[0], words[-1] + " " + tail.split()[0]))
                or any(p.search(low[sp.start : sp.end + len(tail)]) for p, _, _ in CRITIQUES)
            ):
                continue  # "the war movies", "old school movies": a kind of film, not the film called so
            if len(words) == 1 and not capital and re.search(
                r"\b(the|a|an|my|your|his|her|our|their|this|that|those|these)\s+$", low[max(0, sp.start - 8) : sp.start]
            ):
                continue  # "I love the memories": a noun, not the film "Memories"
            if len(words) == 1 and not capital and not listed and not any(
                p.search(low[max(0, sp.start - 40) : sp.start]) for st, p in BEFORE_STANCE if st != "asking"
            ):
                continue  # a lowercase word is a title only right after a cue ("i loved titanic")
            add(sp.start, sp.end, capital, sp, versioned)
    for m in CUE_TITLE.finditer(text):
        t = TITLE_TAIL.sub("", m["t"]).rstrip(".")
        s = m.start("t")
        if t.lower().split()[0] in lx.COMMON_WORDS and len(t.split()) == 1:
            continue
        if re.fullmatch(r"(19|20)\d{2}|\d+|'?\d0'?s", t) or t.lower() in genre_words:
            continue
        add(s, s + len(t), True)
    u.mentions.sort(key=lambda m: m.start)
    # "I liked The Shining and Heat": a coordinated title shares the stance of the one before it
    for prev, cur in zip(u.mentions, u.mentions[1:]):
        between = low[prev.start + len(prev.text) : cur.start]
        if cur.stance == "neutral" and re.fullmatch(r"[\s\"“”'’]*(,|and|or|&|as well as|plus|, and)?[\s\"“”'‘]*", between):
            cur.stance = prev.stance


def _read_references(low: str, u: Understanding, title_spans: list[tuple[int, int]]) -> None:
    for m in LIST_REF.finditer(low):
        if _spans_overlap((m.start(), m.end()), title_spans):
            continue
        if m["ord"] == "last" and not re.search(r"\bthe\s+last\b", m.group(0)):
            continue
        if m["ord"] in ("top", "first", "last") and not re.search(r"\b(one|pick|movie|film|suggestion|option)\b", m.group(0)):
            if not re.search(r"\b(more like|not|seen|watched|skip|no|like|than)\s+(the\s+)?$", low[: m.start()] + " "):
                continue
        pos = ORDINALS[m["ord"]] if m["ord"] else int(m["num"])
        before = low[max(0, m.start() - 25) : m.start()]
        more = bool(MORE_LIKE.search(before))
        stance = "liked" if more else _ref_stance(low, m.start(), m.end())
        u.references.append(ListReference(position=pos, stance=stance, more_like=more))
    if u.references or u.mentions:
        return
    if NOT_SEEN.search(low):
        u.references.append(ListReference(position=0, stance="want" if WANT_ANY.search(low) else "neutral"))
        return
    if REJECT_FOCUS.search(low):
        u.references.append(ListReference(position=0, stance="seen" if SEEN_WORDS.search(low) else "disliked"))
        return
    if ANAPHOR.search(low) and (m := ANAPHOR.search(low)):
        stance = _ref_stance(low, m.start(), m.end())
        if stance != "neutral":
            u.references.append(ListReference(position=0, stance=stance))


def _ref_stance(low: str, start: int, end: int) -> Stance:
    s_start, s_end = _sentence_bounds(low, start)
    sentence = low[s_start:s_end]
    if NOT_SEEN.search(low):
        return "want" if WANT_ANY.search(low) else "neutral"
    if re.search(r"\b(not|skip|no)\s+(the\s+)?$", low[max(0, start - 12) : start]) or REJECT_FOCUS.search(sentence):
        return "seen" if SEEN_WORDS.search(sentence) else "disliked"
    st = _stance(low, start, end)
    if st != "neutral":
        return st
    return "asking" if "?" in sentence else "neutral"


def _without(text: str, spans: list[tuple[int, int]]) -> str | None:
    keep = list(text)
    for s, e in spans:
        keep[s:e] = [" "] * (e - s)
    out = re.sub(r"\s+", " ", re.sub(r"(\s*[,;:]\s*)+", ", ", "".join(keep))).strip(" ,;:")
    out = re.sub(r"\b(but|and|or|with|from)\s*([,.!?]|$)", r"\2", out).strip(" ,;:")
    return out if len(re.findall(r"\w+", out)) >= 1 else None


def _read_genres(
    low: str,
    vocab: list[str],
    blocked: list[tuple[int, int]],
    u: Understanding,
    drop: list[tuple[int, int]],
    text: str = "",
) -> None:
    hits = _genre_hits(low, vocab, blocked, text)
    groups: list[list[tuple[str, int, int, str]]] = []
    for h in hits:
        if groups and GENRE_JOIN.match(low[groups[-1][-1][2] : h[1]]):
            groups[-1].append(h)
        else:
            groups.append([h])
    for group in groups:
        start = group[0][1]
        c_start, _ = _clause_bounds(low, start)
        s_start, _ = _sentence_bounds(low, start)
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
        hedged = bool(HEDGE.search(sentence_before) or HEDGE.search(low[group[-1][2] : _clause_bounds(low, group[-1][2])[1]]))
        conditional = CONDITIONAL_NEG.search(before)  # "as long as it is not horror", "if it's not horror I'm open"
        neg = conditional or HARD_NEG.search(before) or SOFT_NEG.search(before)
        if neg and re.search(r"\b(?:not|nothing)\s+(?:too|so|very|overly|that)\s+\w+\s+$", before):
            neg = None  # "not too gory horror": the negation is about the adjective (a critique), not the genre
        if neg:
            hard = bool(conditional) or (bool(HARD_NEG.search(before)) and not SOFT_NEG.search(before))
            hard = hard and not hedged
            if hard and not conditional and _descriptive(before):
                continue  # "horror movies today are not scary": a description, nothing against horror
            for genre, s, e, word in group:
                if word in ("scary", "spooky") and hard:
                    continue  # "nothing scary" is the critique (scariness, -1); "I don't like scary movies" a taste
                if hard:
                    u.hard.append(HardConstraint(kind="exclude_genre", value=genre, phrase=low[c_start:e].strip()))
                u.genres[genre] = -1.0 if hard else -0.7
            drop.append((base + neg.start(), group[-1][2]))
            continue
        if _descriptive(before) and all(h[3] in ("funny", "scary", "spooky", "romantic", "suspenseful", "animated") for h in group):
            continue  # "it was funny": about a movie, not a wish
        if HARD_POS.search(before) and not hedged and not (adjective and not GENRE_NOUN_AFTER.match(after)):
            for genre, s, e, word in group:
                if genre not in (c.value for c in u.hard if c.kind == "genre"):
                    u.hard.append(HardConstraint(kind="genre", value=genre, phrase=low[c_start:e].strip()))
                u.genres[genre] = 1.0
            continue
        s_end = _sentence_bounds(low, start)[1]
        weight = (
            1.0 if WISH.search(sentence_before)
            else 0.7 if TASTE.search(sentence_before)
            else 1.0 if _wishful(low[s_start:s_end])
            else 0.3
        )
        if re.match(r"\s*(?:movies?|films?)?\s*(?:are|is|would be)\s+(?:also\s+)?(?:okay|ok|fine|good|great)\s+(?:too|also|as well)\b",
                    low[group[-1][2] :]):
            weight = max(weight, 0.7)  # "romantic comedies are okay too": an opening, a liked genre
        if _descriptive(before) and not WISH.search(before):
            weight = min(weight, 0.3)  # "that's an action/adventure movie": about a film, a hint at most
        if _about_someone_else(sentence_before, low):
            weight = min(weight, 0.3)  # "She made some great comedies": about her films, a faint hint at most
        if scary and len(group) == 1:
            weight = max(weight, 0.5)  # "something scary": a wish for horror, if not a stated one
        for genre, *_ in group:
            if u.genres.get(genre, 0.0) >= 0:  # a genre spoken against elsewhere in the message stays against
                u.genres[genre] = max(u.genres.get(genre, 0.0), weight)


def _read_years(low: str, u: Understanding, drop: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Hard year constraints into ``u``; returns the spans they were read from."""
    def wish(pos: int) -> bool:
        s, e = _sentence_bounds(low, pos)
        sentence = low[s:e]
        return _wishful(sentence)

    relaxed = bool(TIME_RELAXED.search(low))  # "... 80s movies? A more modern comedy is good too though!"

    def soft(pos: int) -> bool:
        """A year said with a hedge, about someone else, or opened up elsewhere in the message is no filter."""
        s, _ = _sentence_bounds(low, pos)
        before = low[s:pos]
        if HEDGE.search(before) or relaxed:
            return True
        return _about_someone_else(before)

    def narrative(pos: int) -> bool:
        s, e = _sentence_bounds(low, pos)
        return bool(NARRATIVE.search(low[s:e])) or soft(pos)

    spans: list[tuple[int, int]] = []

    def add(kind: str, value: int, m: re.Match) -> None:
        u.hard.append(HardConstraint(kind=kind, value=value, phrase=m.group(0).strip()))
        drop.append(m.span())
        spans.append(m.span())

    used: list[tuple[int, int]] = []
    for m in BETWEEN.finditer(low):
        if not narrative(m.start()):
            a, b = sorted((int(m["a"]), int(m["b"])))
            add("year_min", a, m)
            add("year_max", b, m)
        used.append(m.span())
    for m in BEFORE.finditer(low):
        if _spans_overlap(m.span(), used) or narrative(m.start()):
            continue
        y = int(m["y"])
        if m["neg"]:
            add("year_min", y, m)
        else:
            add("year_max", y - 1, m)
        used.append(m.span())
    for m in AFTER.finditer(low):
        if _spans_overlap(m.span(), used) or narrative(m.start()):
            continue
        y = int(m["y"])
        if m["neg"]:
            add("year_max", y, m)
        else:
            add("year_min", y if m["op"].startswith("since") else y + 1, m)
        used.append(m.span())
    decades: list[tuple[int, int, re.Match]] = []
    for m in DECADE.finditer(low):
        if _spans_overlap(m.span(), used) or narrative(m.start()) or not wish(m.start()):
            continue
        c_start, c_end = _clause_bounds(low, m.start())
        lead = low[c_start : m.start()]
        if TASTE.search(lead) and not WISH.search(lead):
            continue  # "I really like 90s comedies": a taste, not what they want now
        if re.search(r"\b(even|too|also|as well)\b", low[c_start:c_end]):
            continue  # "even the bad 2000's ones", "2000's movies are okay too": inclusive, not a restriction
        if m["century"]:
            start = int(m["century"]) * 100 + int(m["d1"]) * 10
        else:
            d = int(m["d2"])
            start = (1900 if d >= 3 else 2000) + d * 10
        lo, hi = start, start + 9
        if m["early"] == "early":
            hi = start + 4
        elif m["early"] == "late":
            lo = start + 5
        elif m["early"] == "mid":
            lo, hi = start + 3, start + 7
        tail = low[m.end() : m.end() + 30]
        if re.match(r"\s*-?(?:type|style|kind|vibe|feel|esque|like)\b", tail):
            continue  # "a funny 90's type movie": a style, not a release window
        if re.match(r"\s*(?:(?:up )?(?:till|until|to|through) (?:now|today|the present|present)|(?:and|or) "
                    r"(?:later|after|newer|up|on|beyond|since)|onwards?|on\b|and up|\+)", tail):
            hi = None  # "from the 90s up till now": open-ended
        elif re.match(r"\s*(?:or|and) (?:earlier|before|older)", tail):
            lo = None
        decades.append((lo, hi, m))
        used.append(m.span())
    if decades:  # "the 1970s or 1980s": one range over all of them
        spans.extend(d[2].span() for d in decades)
        if all(d[0] is not None for d in decades):
            add("year_min", min(d[0] for d in decades), decades[0][2])
        if all(d[1] is not None for d in decades):
            add("year_max", max(d[1] for d in decades), decades[-1][2])
    for m in IN_YEAR.finditer(low):
        s_start, s_end = _sentence_bounds(low, m.start())
        rest = low[s_start : m.start()] + " " + low[m.end() : s_end]  # "movies that came out in 2016" is the wish itself
        if _spans_overlap(m.span(), used) or NARRATIVE.search(rest) or not wish(m.start()):
            continue
        add("year_min", int(m["y"]), m)
        add("year_max", int(m["y"]), m)
    if m := FOLLOW_UP_YEARS.search(low):
        word = m["w"] or m["w2"]
        if word == "older":
            u.older = True
        else:
            u.newer = True
    return spans


def _read_critiques_and_topics(
    low: str,
    blocked: list[tuple[int, int]],
    u: Understanding,
    drop: list[tuple[int, int]],
    year_spans: list[tuple[int, int]] = (),
) -> None:
    seen_attrs: set[str] = set()
    for pat, attr, direction in CRITIQUES:
        for m in pat.finditer(low):
            if _spans_overlap(m.span(), blocked) or attr in seen_attrs:
                continue
            if _descriptive(low[max(0, m.start() - 40) : m.start()]) and not re.match(r"(less|more|not|nothing)\b", m.group(0)):
                continue
            if _descriptive(low[max(0, m.start() - 40) : m.start()]) and m.group(0).startswith("not"):
                continue
            lead = low[max(0, m.start() - 25) : m.start()]
            if _about_someone_else(low[_sentence_bounds(low, m.start())[0] : m.start()]):
                continue  # "He has some classics": about the actor's films, not a wish
            if attr == "recency" and any(_adjacent(low, m.span(), span) for span in year_spans):
                continue  # "older 80's comedies", "80's classics": part of the decade asked for, already a filter
            c_start, c_end = _clause_bounds(low, m.start())
            if attr == "recency" and TOLERANCE.search(low[c_start:c_end]):
                continue  # "a more modern comedy is good too", "I will also watch new films": an opening, not a wish
            plural = bool(re.search(r"(classics|movies|films|ones)$", m.group(0))) or bool(
                re.match(r"\s+(?:\w+\s+)?(?:movies|films|ones|stuff)\b", low[m.end() : m.end() + 20])
            )
            # "the classics", "the classic ones", "his older movies": a kind of film; "the new ones", "that recent
            # movie": specific films
            kind_of_film = plural and ("classic" in m.group(0) or bool(re.search(r"\b(his|her|their)\s+$", lead)))
            if attr == "recency" and not kind_of_film and re.search(
                r"\b(the|that|this|those|these|most|his|her|their)\s+$", lead
            ):
                continue
            if re.search(r"\b(?:not|no|without|anything but) (necessarily |really |exactly |more )?$", lead) and not m.group(
                0
            ).startswith(("not", "no", "less")):
                continue  # "not necessarily for kids", "no kids movies": not a wish in that direction
            if attr == "recency" and "classic" in m.group(0) and not (WISH.search(_sentence_of(low, m.start())) or plural):
                continue  # "Another classic!": praise for a film, not a wish for old ones
            u.critiques.append(Critique(attribute=attr, direction=direction))
            seen_attrs.add(attr)
            drop.append(m.span())
            break
    if "lighter and funnier" in low and "darkness" not in seen_attrs:
        u.critiques.append(Critique(attribute="darkness", direction=-1))
    for topic, pat in TOPICS:
        m = pat.search(low)
        if m and not _spans_overlap(m.span(), blocked):
            u.topics.append(topic)
