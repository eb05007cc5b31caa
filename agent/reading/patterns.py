"""The reader's patterns: the compiled cues it reads a message with (list references, stance cues,
follow-up moves, years, genre cues, critiques and topics, quoted and cued titles).

Regular expressions over the lowercased message (:func:`recagent.agent.reading.text.fold_text`), except
the title cues, which need the capitals. The words they are built from that other modules share live
in :mod:`recagent.agent.vocabulary`.
"""

from __future__ import annotations

import re

from recagent.agent.vocabulary import CRITIQUE_WORDS, TOPIC_WORDS

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
CLAUSE_BREAK = re.compile(
    r"[,;:]|(?<!anything )(?<!nothing )(?<!all )\bbut\b|\b(?:though|although|however|whereas|except that|and i|and i'm|so)\b|[.!?…]"
)

# stance cues: nearest before the mention in its clause, or after it
_BEFORE_STANCE: list[tuple[str, str]] = [
    (
        "want",
        r"(want|wanna|would like|'d like|need|plan|hope|going|gonna|have) to (see|watch|check out)|should (see|watch)|"
        r"(will|'ll|gonna|going to) (check out|watch|look up|look for|see|try)|been meaning to (see|watch)|"
        r"on my (watch ?)?list|add(ed)? to my list|interested in (seeing|watching)",
    ),
    (
        "disliked",
        r"hated|hate|disliked|dislike|didn'?t (like|enjoy|care for|love)|did not (like|enjoy|care for)|"
        r"not a (big |huge )?fan of|can'?t stand|couldn'?t stand|wasn'?t (into|a fan of)|not into|"
        r"never liked|don'?t (like|care for)|do not like|disappointed by|not crazy about|"
        r"(don'?t|do not|didn'?t|did not|never) (like|enjoy|love) (movies?|films?|stuff|things|ones) like|boycotting",
    ),
    (
        "asking",
        r"have you (ever )?(seen|watched|heard of)|did you (see|watch|like)|ever seen|heard of|"
        r"what (is|was|'s|about)|what'?s|how about|what about|do you (know|like)|are you familiar with|"
        r"tell me about|anything like|recommend",
    ),
    (
        "liked",
        r"(like|love|enjoy) to (watch|see|rewatch)|(re-?watching|re-?watched|re-?watch)|"
        r"loved|love|liked|like|enjoyed|enjoy|adore|adored|fan of|into|favou?rites?( include| are| is)?|"
        r"favou?rite (movies?|films?|ones?)( include| are| is| was| were)?|favou?rite (\w+ ){1,2}(include|are|is|was|were)|"
        r"similar to|in the vein of|such as|as good as|reminds me of|a lot like|big on|obsessed with|"
        r"grew up (on|with|watching)|fond of|appreciated|recommended",
    ),
    ("seen", r"seen|saw|watched|have seen|'ve seen|already seen|watched|caught"),
]
_AFTER_STANCE: list[tuple[str, str]] = [
    (
        "want",
        r"sounds? (good|great|interesting|awesome|fun|cool|amazing)|looks? (good|great|interesting)|(is )?a must[- ]see|"
        r"looks like it (will|would|'ll|could) be (\w+ )?(good|great|fun|funny|awesome|interesting)|"
        r"(sounds|looks) like a (really )?(good|great|fun|nice) (one|suggestion|pick|choice|movie|film|idea)|"
        r"i'?ll (check|look|watch)|will (check|look|watch)|want to (see|watch)|is on my list",
    ),
    (
        "disliked",
        r"(was|is|were|are|seemed) (so |really |pretty |too |kind of |kinda )?"
        r"(bad|terrible|awful|boring|horrible|meh|overrated|disappointing|dumb|stupid|slow|weird|not good|"
        r"not great|not for me|too (long|slow|violent|scary|dark))|sucked|sucks|wasn'?t (good|great|for me)|"
        r"(hated|didn'?t like|didn'?t enjoy|not a fan of) (it|that|them)",
    ),
    (
        "liked",
        r"(was|is|were|are) ((so|really|pretty|very|just|absolutely|such|my|also|still|always|definitely|"
        r"truly|totally) ){0,2}(a |my |an |one of the )?"
        r"(great|amazing|awesome|good|fantastic|excellent|brilliant|fun|funny|hilarious|perfect|wonderful|"
        r"incredible|classic|masterpiece|favou?rite|one of my|the best|beautiful|cool|nice|gold|gem|epic|legendary|"
        r"hilarious|a must)|rocks|rocked|"
        r"(loved|liked|enjoyed|love|like|adore) (it|that|them|this)|(is|was) one of my|"
        r"(many|several|multiple|countless|so many|a (few|million|hundred|thousand|bunch of|lot of)) (of )?times|"
        r"(over and over|never get tired of)",
    ),
]
BEFORE_STANCE = [
    (
        s,
        re.compile(
            rf"\b(?:{p})\s+(?:(?:the|a|an|movies?|films?|called|it|all|of|so|too|much|really|"
            rf"original|first|new|old|whole|that|this|was|is|were|are)\s+){{0,3}}$"
        ),
    )
    for s, p in _BEFORE_STANCE
]
AFTER_STANCE = [
    (s, re.compile(rf"^[\s,.!…]*(?:(?:i|it|that|and|but|which|too|also|really|just|though)\s+){{0,3}}(?:{p})\b"))
    for s, p in _AFTER_STANCE
]
NOT_SEEN = re.compile(
    r"\b(haven'?t|have not|never|not|didn'?t|did not|hasn'?t|yet to)\s+(ever\s+)?(seen|see|watched|watch)\b"
)
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
BETWEEN = re.compile(
    r"\b(?:between|from)\s+(?P<a>(?:19|20)\d{2})\s*(?:and|to|until|till|-|–)\s*(?P<b>(?:19|20)\d{2})\b"
)
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
# a bare noun phrase is a request in a chat even with no wish verb: "a prison movie", "a movie set in a hospital",
# "older war films"; a sentence with a subject is not ("I saw a prison movie", "it's a great film")
FILM_NOUN = r"(?:movies?|films?|flicks?|documentar(?:y|ies)|cartoons?)"
NOUN_REQUEST = re.compile(
    rf"^(?!(?:that|this|those|these)\b)(?:(?:a|an|some|more|other|another)\s+)?(?:[\w'-]+\s+){{0,5}}{FILM_NOUN}\b"
    r"(?!\s+(?:is|was|are|were)\b)"
)
SUBJECT_WORDS = re.compile(
    r"\b(?:i|i'm|im|ive|i've|i'd|we|he|she|they|it|its|it's|you|your|my|saw|watched|seen|heard|is|was|are|were|"
    r"that's|thats|favou?rite|such|ever)\b|\w's\b"
)
# a fragment that goes on from the standing request: "about music" after "a good documentary", "set in Paris",
# "with a happy ending", "and based on a true story"
CONTINUES = re.compile(
    r"^(?:(?:and|but|also|preferably|ideally|maybe|perhaps)\s+)?(?:about|with|involving|featuring|starring|"
    r"set (?:in|on|at|during)|taking place|that takes place|based on|inspired by)\b"
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
GENRE_JOIN = re.compile(
    r"^(?:\s*(?:,|/|&|\+|\band\b|\bor\b|\bnor\b|\bor even\b|\bmovies?\b|\bfilms?\b|\beither\b|\bstuff\b))*\s*$"
)

CRITIQUES = [(re.compile(rf"\b(?:{p})\b"), a, d) for p, a, d in CRITIQUE_WORDS]
TOPICS = [(topic, re.compile(rf"\b(?:{p})\b")) for topic, p in TOPIC_WORDS.items()]

# quotes: double and curly quotes; a straight or curly single quote only where it cannot be an apostrophe
QUOTED = re.compile(r"[\"“”]([^\"“”\n]{2,80})[\"“”]|(?<![\w])['‘]([^'‘’\n]{2,80}?)['’](?![\w])")
CUE_TITLE = re.compile(
    r"\b(?:like|similar to|loved|love|enjoyed|enjoy|liked|fan of|in the vein of|such as|as good as|seen|saw|watched|"
    r"hated|disliked|didn'?t like|did not like|not a fan of|heard of|about|favou?rite (?:movie |film )?is|"
    r"want to see|want to watch|check out|reminds me of|recommend)\s+"
    r"(?P<t>(?:[A-Z0-9][\w'’:&-]*!?)(?:\s+(?:(?:of|the|a|an|and|in|on|to|for|with|from|at|vs\.?|&|[A-Z0-9][\w'’:&-]*!?))){0,7})"
)
TITLE_TAIL = re.compile(r"(?:\s+(?:of|the|a|an|and|in|on|to|for|with|from|at|vs\.?|&))+$")
STOP_TITLES = {
    "disney",
    "disney!",
    "pixar",
    "marvel",
    "dreamworks",
    "netflix",
    "ghibli",
    "hbo",
    "it",
    "that",
    "this",
    "one",
    "them",
    "those",
    "i",
    "me",
    "you",
    "something",
    "anything",
    "movies",
    "films",
    "a lot",
    "the movie",
    "the film",
    "yes",
    "no",
    "ok",
    "okay",
}

# a subject of its own: a sentence with one is no bare request fragment
SUBJECT = re.compile(r"\b(i|i'm|i've|i'd|we|they|he|she|it|it's|my|our|was|were|is|are|you|your|he's|she's|they're)\b")
