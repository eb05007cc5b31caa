"""The one vocabulary of the message reading: stances, origins, constraint kinds, critiques and their
words, genres' words, topics, version cues, people's names.

Data, not logic: the reader (:mod:`recagent.agent.reading`) decides what a word means in its sentence;
the LLM reading, the dialogue state, the chat's replies and the understanding eval use the same names
from here. The critique attributes themselves are :data:`recagent.retrieval.base.CritiqueAttribute`
(the retrieval layer scores them and may not import the agent); the words that read and say them are
here. The critique vocabulary follows issue 9's labelling guidelines exactly (the understanding eval
scores against them).
"""

from __future__ import annotations

import re
from typing import Literal, get_args

from recagent.retrieval.base import CritiqueAttribute

# the user's stance on a title: the reader, the LLM reading, the dialogue state and the eval labels share it
Stance = Literal["liked", "disliked", "seen", "want", "asking", "neutral"]
STANCES: tuple[str, ...] = get_args(Stance)
# where a mention or a constraint came from ("saved": read back from a session saved before constraints existed)
Origin = Literal["parser", "llm", "button", "saved", "request"]
ConstraintKind = Literal["genre", "exclude_genre", "year_min", "year_max"]
ConstraintScope = Literal["request", "last_list"]

# a word right before a name several films share that says which one: "the new Ghostbusters", "the recent one
# Ghostbusters", "the remake of Ben-Hur" (the newest); "the original It", "the old Star Wars" (the oldest)
VERSION_CUE = re.compile(
    r"\b(?:the|a|that|this)\s+(?P<cue>new|newer|newest|recent|latest|remake|reboot|original|old|older|oldest)"
    r"(?:\s+(?:one|version|movie|film))?(?:\s+of)?(?:\s+the)?\s+$"
)
NEWER = {"new", "newer", "newest", "recent", "latest", "remake", "reboot"}

# words people use for the genres MovieLens-style catalogs have; only genres present in the catalog are used.
# Deliberately absent: "war" on its own (see AMBIGUOUS_GENRE_WORDS), "scary" (a critique when negated, a
# soft Horror wish otherwise: handled by the parser), "kids"/"family" (the family critique).
GENRE_WORDS: dict[str, list[str]] = {
    "Action": ["action", "action movie", "action movies", "action flick", "action flicks"],
    "Adventure": ["adventure", "adventures"],
    "Animation": ["animation", "animated", "cartoon", "cartoons", "anime"],
    "Children": ["children's", "children", "kids movie", "kids movies", "kid movies", "family movie", "family movies"],
    "Comedy": [
        "comedy",
        "comedies",
        "funny",
        "comedic",
        "rom-com",
        "romcom",
        "romcoms",
        "rom-coms",
        "rom com",
        "rom coms",
        "romantic comedy",
        "romantic comedies",
    ],
    "Crime": ["crime", "gangster", "gangsters", "mafia", "mob movie", "mob movies"],
    "Documentary": ["documentary", "documentaries", "docs"],
    "Drama": ["drama", "dramas"],
    "Fantasy": ["fantasy"],
    "Film-Noir": ["noir", "film-noir", "film noir", "films noir", "film noirs"],
    "Horror": ["horror", "horrors", "slasher", "slashers", "scary", "spooky"],
    "IMAX": ["imax"],
    "Musical": ["musical", "musicals"],
    "Mystery": ["mystery", "mysteries", "whodunit", "whodunits"],
    "Romance": [
        "romance",
        "romances",
        "romantic",
        "love story",
        "love stories",
        "rom-com",
        "romcom",
        "rom-coms",
        "romcoms",
        "rom com",
        "rom coms",
        "romantic comedy",
        "romantic comedies",
        "chick flick",
        "chick flicks",
    ],
    "Sci-Fi": ["sci-fi", "scifi", "sci fi", "science fiction", "science-fiction", "syfy"],
    "Thriller": ["thriller", "thrillers", "suspense", "suspenseful"],
    "War": ["war movie", "war movies", "war film", "war films", "war drama", "war dramas", "war flick"],
    "Western": ["western", "westerns", "cowboy movie", "cowboy movies"],
}
# a genre word that is also a common word only counts next to a word that makes it a genre
AMBIGUOUS_GENRE_WORDS = {"mystery", "docs", "horrors"}
GENRE_CONTEXT = re.compile(
    r"(movie|movies|film|films|flick|flicks|genre|ones|stuff|comedy|comedies|thriller|thrillers|drama|dramas|"
    r"fan|fans|something|anything|like|love|enjoy|prefer|into|want|good|great|some|more|less|no|not|only|just|"
    r"and|or|,|/|&|without|except|but|avoid)"
)

# (pattern, attribute, direction): the issue-9 critique vocabulary, the words that read a critique; first match
# per attribute wins
CRITIQUE_WORDS: list[tuple[str, CritiqueAttribute, int]] = [
    (
        r"less violen(t|ce)|not (too |so |very |that |overly )?violent|non-?violent|no (graphic )?violence|"
        r"without (much |a lot of |too much )?violence|less gory|not (too )?gory|gentler|less brutal|"
        r"not (too |so )?much (gore|violence|blood)|too (bloody|gory|violent)|less gore|no gore|is it (gory|violent|bloody)|"
        r"too much (violence|gore|blood|action)|not (too |so )?much action|less action",
        "violence",
        -1,
    ),
    (
        r"more (action|intense|violent|violence|brutal)|action-?packed|more intensity|gory (movies|films|ones|stuff)|"
        r"lots of (gore|blood)",
        "violence",
        1,
    ),
    (
        r"lighter|less dark|not (too |so |very |that |overly )?dark|nothing (too |so |very )?dark|feel-?good|uplifting|"
        r"light-?hearted|cheerful|happier|less depressing|not (too )?depressing|nothing (too )?depressing|"
        r"not (too |so )?(heavy|sad)",
        "darkness",
        -1,
    ),
    (r"darker|grittier|more dark|more gritty|more serious|bleaker", "darkness", 1),
    (r"funnier|more comedy|more comedic|more humou?r|more laughs|more jokes|lighter and funnier", "humor", 1),
    (r"less (funny|silly|goofy|comedy)|not (a |too )?(comedy|silly|goofy)|more serious", "humor", -1),
    (
        r"scarier|more scary|more frightening|creepier|more terrifying|more horror|really scary|truly scary",
        "scariness",
        1,
    ),
    (
        r"less scary|not (too |so |very |that |overly )?scary|nothing (too |so |very )?scary|not (too )?frightening|"
        r"nothing (too )?(frightening|terrifying|creepy)|not (too )?creepy",
        "scariness",
        -1,
    ),
    (
        r"for (the |my |our )?(kids|children|family|son|daughter|little ones|toddler|kiddos)|family[- ]friendly|"
        r"kid[- ]friendly|with (my|the|our) (kids|children|family|son|daughter|little ones)s?|"
        r"suitable for (kids|children)|family night|whole family|family (movies?|films?)|kids? (movies?|films?|comedy|comedies)|"
        r"children'?s (movies?|films?)",
        "family",
        1,
    ),
    (
        r"more recent|newer|recent|new (movies?|films?|ones?|releases?)|something new|latest|modern|contemporary|"
        r"came out (this|last) year|in theaters now",
        "recency",
        1,
    ),
    (
        r"older|classics|(something|some|a|any) classic( (movies?|films?|comedy|comedies|drama|horror))?|classic (movies|films|ones)|"
        r"old-?school|old school|vintage|old (\w+ )?(movies|films|ones|dramas|comedies|westerns|thrillers|stuff)|something old|"
        r"an old (movie|film|one)|golden age",
        "recency",
        -1,
    ),
    (
        r"less known|lesser[- ]known|hidden gems?|underrated|obscure|under the radar|not (so |very )?(popular|well[- ]known)|"
        r"(something|anything|ones?|movies?|films?)( that| which)? (i|we) (haven'?t|have not|never) heard of|indie",
        "popularity",
        -1,
    ),
    (r"popular|well[- ]known|blockbusters?|mainstream|crowd[- ]pleasers?|big hits?", "popularity", 1),
]
# the words that say a critique, in replies and in the rerank prompt
CRITIQUE_PHRASES: dict[tuple[CritiqueAttribute, int], str] = {
    ("violence", -1): "less violent", ("violence", 1): "more intense", ("darkness", -1): "lighter",
    ("darkness", 1): "darker", ("humor", 1): "funnier", ("humor", -1): "more serious", ("scariness", 1): "scarier",
    ("scariness", -1): "less scary", ("family", 1): "family friendly", ("family", -1): "for grown-ups",
    ("recency", 1): "more recent", ("recency", -1): "older", ("popularity", -1): "less known",
    ("popularity", 1): "well known",
}  # fmt: skip
# a descriptive clause ("most horror today is not scary") is not a wish; these words before a critique say so
DESCRIPTIVE_BEFORE = re.compile(
    r"(\b(are|is|its|it'?s|that'?s|was|were|isn'?t|aren'?t|wasn'?t|weren'?t|seem|seems|seemed|get|got|be|being)|\b(it|that|this|he|she|there|what|they|you|we)('s|'re))\s+(\w+\s+){0,2}$"
)

# topical wishes (no catalog field; they travel as words). Key: the topic as reported; value: a regex.
TOPIC_WORDS: dict[str, str] = {
    "heist": r"heists?|robbery|robberies|bank job",
    "space": r"set in space|in space|outer space|space (movies?|films?|travel|adventure|opera)|astronauts?",
    "true story": r"(based on|inspired by) (a )?true (story|events)|true stor(y|ies)|real events|biopics?",
    "time travel": r"time[- ]travel(l?ing)?",
    "zombies": r"zombies?",
    "vampires": r"vampires?",
    "aliens": r"aliens|extraterrestrials?|ufos?",
    "superheroes": r"super ?heroe?s?|marvel|dc comics?|comic book movies?",
    "robots": r"robots?|androids?|artificial intelligence|\bai\b",
    "sports": r"sports?( movies?| films?)?|football|baseball|basketball|boxing|soccer",
    "dinosaurs": r"dinosaurs?",
    "high school": r"high school|teen movies?|coming[- ]of[- ]age",
    "christmas": r"christmas|holiday movies?",
    "serial killer": r"serial killers?",
    "musicals": r"with (a lot of )?(songs|singing|music)",
    "dogs": r"\bdogs?\b|puppies",
    "road trip": r"road trips?",
    "mind-bending": r"mind[- ]?bending|twists?|twisty|plot twists?|makes? you think|thought[- ]provoking|cerebral",
    "spy": r"spy|spies|espionage|secret agents?",
    "disaster": r"disaster movies?|natural disasters?|end of the world|apocalyp\w*",
    "martial arts": r"martial arts|kung ?fu|karate",
    "war": r"world war( ii| 2| two| i| 1| one)?|vietnam war|wwii|ww2",
    "historical": r"historical|period (pieces?|dramas?|movies?|films?)",
    "psychological": r"psychological",
    "date movie": r"date (movies?|night|films?)",
}

# function and very frequent words: a title found in free text needs more than these
COMMON_WORDS = set(
    """a an the and or but if of in on at to for from by with about into over after before up down out off
    is are was were be been being am do does did done have has had having i me my we us our you your he him his
    she her it its they them their this that these those there here what which who whom whose when where why how
    all any both each few more most other some such no nor not only own same so than too very can will just
    should now one two three first second last new good great best bad big little long old right left back
    again once also still even ever never always really like love loved liked want see seen saw watch watched
    movie movies film films show time day night life man men woman women girl boy home way world thing things
    something anything nothing everything lot yes yeah ok okay sure thanks thank hi hello hey well maybe
    think know get got go going make made say said tell look looking let lets let's would could might must
    sound sounds fun funny cool nice kind sort type much many lol lmao omg haha hehe btw else""".split()
)

# people: the catalog has no cast or crew columns, so names are recognised to be kept out of titles and
# answered honestly. A name after "with", "starring", "by", "directed by" counts when one of its words is
# a known first name or surname below, or it is written with capitals.
PEOPLE_CUES = re.compile(
    r"\b(?:movies?|films?|anything|something|stuff|ones?|flicks?|comedies|thrillers|dramas|any(?:thing)?)\s+"
    r"(?:with|starring|featuring|by|from|directed by)\s+|\b(?:starring|featuring|directed by|actor|actress|director)\s+"
)
FIRST_NAMES = set(
    """adam al alan amy angelina anne anthony arnold ben bill brad bruce cameron charlie chris christopher clint
    daniel david denzel diane drew eddie emma ethan francis george gene harrison helen hugh jack jackie jake james
    jamie jane jason jennifer jeff leo jim jodie joe john johnny jonah jordan julia julianne kate keanu kevin kristen
    leonardo liam lupita mark martin matt matthew meg mel meryl michael michelle morgan natalie nicolas nicole
    owen paul peter quentin reese richard ridley robert robin russell ryan sam samuel sandra scarlett sean
    sigourney stanley steve steven sylvester tim tom tommy uma vin viola will woody danny dwayne jim jonah kristen
    kristin melissa seth jonah zac zach channing jamie octavia halle whoopi eddie chris gal henry hugh idris
    jeremy joaquin josh kevin kurt lena liam margot mila ralph rachel rebecca rose ryan sally sean shia tina
    vince wes adam amy anna bradley bryan cate charlize chadwick christian colin ewan gary gerard heath jared
    jessica jon kate kirsten lindsay mandy mariah melanie mickey miley nick noah olivia orlando patrick
    penelope queen rami robin rupert sacha salma selena simon sophia steve susan taylor theresa tilda
    timothee toni tyler val vanessa viggo wesley winona zoe""".split()
)
SURNAMES = set(
    """affleck allen aniston bale bullock carrey cage chan clooney cooper costner cruise damon dicaprio depp
    diesel downey eastwood ferrell fincher ford foster freeman gosling hanks hathaway hitchcock hoffman jackson
    johansson jolie kubrick lawrence lopez mcconaughey murphy murray neeson nicholson nolan pacino pitt portman
    reeves roberts rogen sandler schwarzenegger scorsese spielberg stallone stiller streep swayze tarantino
    washington willis williams wilson witherspoon zemeckis burton cameron coppola lucas scott anderson
    wes kaufman hughes apatow glover ferrell wiig mccarthy hart rock johnson vaughn hill franco gyllenhaal
    lopez kidman theron blanchett reynolds pratt evans hemsworth ruffalo cumberbatch hardy dunst gibson
    travolta carell galifianakis black wahlberg hudson grant swank moore diaz barrymore stone watson
    radcliffe grint tatum efron seyfried mcadams adams lively paltrow jovovich fox banks""".split()
)
NICKNAMES = {"jlo", "j lo", "j.lo", "the rock", "arnie", "marty"}
