"""Message understanding: the deterministic parser on the misreadings issue 9 found, and the LLM merge.

The parser runs with the bundled catalog's title spotter, as the chat does. Every message quoted
under "Why" in issue 9 is here with the reading a person expects.
"""

from __future__ import annotations

import pytest

from recagent.agent.backends.base import LLMError
from recagent.agent.reading.llm import LLMReading, llm_reading, merge, needs_llm
from recagent.agent.reading.parser import parse_message
from recagent.agent.reading.people import find_people
from recagent.evals.understanding import reading_of
from recagent.retrieval.loaders import load_dataset
from recagent.retrieval.titles import TitleResolver


@pytest.fixture(scope="module")
def catalog_tools():
    ds = load_dataset("bundled")
    resolver = TitleResolver(ds.catalog, ds.interactions.item_counts)
    return ds.catalog.genre_vocab, resolver.spot


def read(tools, message):
    vocab, spot = tools
    return parse_message(message, vocab, spot)


def hard(u):
    return {c.kind: c.value for c in u.hard} if len({c.kind for c in u.hard}) == len(u.hard) else u.hard


def stances(u):
    return {(m.title or m.text): m.stance for m in u.mentions}


def crits(u):
    return {(c.attribute, c.direction) for c in u.critiques}


# ---------------------------------------------------------------- passing words are not hard filters


def test_negation_scopes_over_a_coordinated_list(catalog_tools):
    u = read(catalog_tools, "I'm not a fan of horror or sci-fi")
    assert u.genres == {"Horror": -0.7, "Sci-Fi": -0.7}, "both disliked, softly (a taste, not a filter)"
    assert u.hard == [] and "Comedy" not in u.genres


def test_not_scary_is_nothing_against_horror(catalog_tools):
    u = read(catalog_tools, "I love horror but many horror movies today are not scary")
    assert u.genres.get("Horror", 0) > 0 and u.hard == []
    u = read(catalog_tools, "many horror movies today are not scary")
    assert u.genres.get("Horror", 0) >= 0 and not any(c.kind == "exclude_genre" for c in u.hard)


@pytest.mark.parametrize(
    "message",
    [
        "They are coming out with Matrix 4 in 2021",
        "I think there was a remake, from 2002 I believe",
        "I grew up in the 80s",
        "the original came out in 1984",
        "I really like 90s comedies",
    ],
)
def test_narrative_years_are_not_constraints(catalog_tools, message):
    u = read(catalog_tools, message)
    assert u.year_min is None and u.year_max is None, u.hard


def test_matrix_4_is_not_the_matrix(catalog_tools):
    assert read(catalog_tools, "They are coming out with Matrix 4 in 2021").mentions == []


def test_star_wars_is_not_the_war_genre(catalog_tools):
    u = read(catalog_tools, "star wars is awesome")
    assert "War" not in u.genres and u.hard == []
    assert [m.text for m in u.mentions] == ["star wars"] and u.mentions[0].stance == "liked"


def test_nothing_too_dark_is_a_critique_not_a_keyword(catalog_tools):
    u = read(catalog_tools, "nothing too dark")
    assert crits(u) == {("darkness", -1)} and u.hard == [] and u.genres == {}


def test_nothing_scary_is_a_critique_not_a_filter(catalog_tools):
    u = read(catalog_tools, "nothing scary please")
    assert crits(u) == {("scariness", -1)} and u.hard == [] and "Horror" not in u.genres


@pytest.mark.parametrize(
    "message, expected",
    [
        ("no horror please, only comedies", {"exclude_genre": "Horror", "genre": "Comedy"}),
        ("nothing before 2000", {"year_min": 2000}),
        ("anything after 2010", {"year_min": 2011}),
        ("movies made after 2010", {"year_min": 2011}),
        ("anything but horror", {"exclude_genre": "Horror"}),
        ("I don't want horror", {"exclude_genre": "Horror"}),
        ("it has to be a comedy", {"genre": "Comedy"}),
        ('movies before 2000 like "Toy Story"', {"year_max": 1999}),
        ("between 1990 and 1995 crime thrillers", {"year_min": 1990, "year_max": 1995}),
    ],
)
def test_explicit_scoped_statements_are_hard(catalog_tools, message, expected):
    assert hard(read(catalog_tools, message)) == expected


def test_a_wish_for_a_decade_is_hard_and_a_plain_genre_wish_is_strong_soft(catalog_tools):
    u = read(catalog_tools, "something like Heat but less violent, from the 90s")
    assert hard(u) == {"year_min": 1990, "year_max": 1999}
    assert stances(u) == {"Heat (1995)": "liked"} and crits(u) == {("violence", -1)}
    u = read(catalog_tools, "a sci-fi movie from the 1980s without romance")
    assert hard(u) == {"exclude_genre": "Romance", "year_min": 1980, "year_max": 1989}
    assert u.genres["Sci-Fi"] == 1.0, "a plain wish: strong but soft"
    for message, genre in [("I'm looking for a comedy", "Comedy"), ("I want to watch a horror movie tonight", "Horror")]:
        u = read(catalog_tools, message)
        assert u.hard == [] and u.genres == {genre: 1.0}
    u = read(catalog_tools, "I like comedies")
    assert u.hard == [] and 0 < u.genres["Comedy"] < 1.0


def test_decades_said_together_make_one_range(catalog_tools):
    u = read(catalog_tools, "I was hoping for something from the 1970s or 1980s")
    assert (u.year_min, u.year_max) == (1970, 1989)


def test_conflicting_years_are_read_as_stated(catalog_tools):
    # the state update turns this into a clarifying question (tests/agent/test_dialogue_state.py)
    u = read(catalog_tools, "before 1980 and after 2000")
    assert hard(u) == {"year_max": 1979, "year_min": 2001}


# ---------------------------------------------------------------- critiques and topics


@pytest.mark.parametrize(
    "message, expected",
    [
        ("more like these but lighter and funnier", {("humor", 1), ("darkness", -1)}),
        ("less violent please", {("violence", -1)}),
        ("something darker", {("darkness", 1)}),
        ("scarier", {("scariness", 1)}),
        ("something to watch with my kids", {("family", 1)}),
        ("more recent ones", {("recency", 1)}),
        ("a hidden gem", {("popularity", -1)}),
        ("something feel-good", {("darkness", -1)}),
    ],
)
def test_critique_vocabulary(catalog_tools, message, expected):
    assert crits(read(catalog_tools, message)) == expected


def test_topics(catalog_tools):
    assert read(catalog_tools, "a heist movie set in space").topics == ["heist", "space"]
    assert read(catalog_tools, "something based on a true story").topics == ["true story"]


# ---------------------------------------------------------------- titles, stance, people


def test_apostrophes_are_not_quotes(catalog_tools):
    u = read(catalog_tools, "I'm into Schindler's List")
    assert stances(u) == {"Schindler's List (1993)": "liked"}
    u = read(catalog_tools, "It's going to be good! I'm excited")
    assert u.mentions == []


def test_lowercase_titles_are_found(catalog_tools):
    assert stances(read(catalog_tools, "i loved the matrix")) == {"Matrix, The (1999)": "liked"}
    assert stances(read(catalog_tools, "i hated titanic")) == {"Titanic (1997)": "disliked"}


def test_the_first_matrix_is_a_title_not_a_list_position(catalog_tools):
    u = read(catalog_tools, "I've seen the first Matrix")
    assert u.references == [] and stances(u) == {"Matrix, The (1999)": "seen"}


@pytest.mark.parametrize(
    "message, expected",
    [
        ("Did you see the recent one Ghostbusters ? If so was it good?", {"Ghostbusters (2016)": "asking"}),
        ("the remake of Ghostbusters was bad", {"Ghostbusters (2016)": "disliked"}),
        ("have you seen the new Beauty and the Beast?", {"Beauty and the Beast (2017)": "asking"}),
        ("I loved the original It", {"It (1990)": "liked"}),
        ("I really liked the original Star Wars", {"Star Wars: Episode IV - A New Hope (1977)": "liked"}),
        # no version asked for: the best-known film of the name, as before
        ("I liked Ghostbusters", {"Ghostbusters (a.k.a. Ghost Busters) (1984)": "liked"}),
        ("I love old movies like Ghostbusters", {"Ghostbusters (a.k.a. Ghost Busters) (1984)": "liked"}),
        ("I'm an old Heat fan", {"Heat (1995)": "liked"}),
        ("I've seen the first Matrix", {"Matrix, The (1999)": "seen"}),
    ],
)
def test_the_version_of_a_shared_name_the_user_asks_for(catalog_tools, message, expected):
    assert stances(read(catalog_tools, message)) == expected


def test_a_version_cue_makes_no_title_of_a_pronoun(catalog_tools):
    for message in ("I loved the original one", "I want the old one", "It was the new it thing", "the new one is good"):
        assert read(catalog_tools, message).mentions == [], message


def test_saw_then_liked_it_is_liked_and_unknown_titles_stay_text(catalog_tools):
    u = read(catalog_tools, "saw Marriage Story… liked it")
    assert [(m.text, m.stance, m.item_id) for m in u.mentions] == [("Marriage Story", "liked", None)]


def test_not_seen_yet_but_want_to_is_want(catalog_tools):
    u = read(catalog_tools, "I have not seen that one yet but I want to")
    assert [(r.position, r.stance) for r in u.references] == [(0, "want")]
    u = read(catalog_tools, "I haven't seen Inception yet but I want to")
    assert stances(u) == {"Inception (2010)": "want"}


@pytest.mark.parametrize(
    "message, expected",
    [
        ("I liked The Shining and Heat", {"Shining, The (1980)": "liked", "Heat (1995)": "liked"}),
        ("Have you seen Inception?", {"Inception (2010)": "asking"}),
        ("I've seen Jumanji", {"Jumanji (1995)": "seen"}),
        ("I hated Titanic", {"Titanic (1997)": "disliked"}),
        ("Another one I enjoyed was Moulin Rouge!", {"Moulin Rouge (2001)": "liked"}),
        ("thanks for the help", {}),
        ("Perfect! I will watch it soon.", {}),
        ("I like Drama", {}),
    ],
)
def test_stance_on_titles(catalog_tools, message, expected):
    assert stances(read(catalog_tools, message)) == expected


def test_people_are_never_title_words(catalog_tools):
    u = read(catalog_tools, "any jlo movies? i like movies with jennifer lopez")
    assert u.people == ["jlo", "jennifer lopez"] and u.mentions == []
    u = read(catalog_tools, "anything with scorsese ... what is it about?")
    assert u.people == ["scorsese"] and u.mentions == []
    assert [p for p, _, _ in find_people("I think Zombieland is funny with Emma Stone and Woody Harrelson.")] == [
        "emma stone",
        "woody harrelson",
    ]


# ---------------------------------------------------------------- follow-up moves


@pytest.mark.parametrize(
    "message, expected",
    [
        ("more like the second one", [(2, "liked", True)]),
        ("more like number 4", [(4, "liked", True)]),
        ("not that one, I've seen it", [(0, "seen", False)]),
        ("not the third one", [(3, "disliked", False)]),
        ("no thanks", [(0, "disliked", False)]),
    ],
)
def test_references_to_the_last_list(catalog_tools, message, expected):
    assert [(r.position, r.stance, r.more_like) for r in read(catalog_tools, message).references] == expected


def test_follow_up_years_and_reset(catalog_tools):
    u = read(catalog_tools, "something older")
    assert u.older and crits(u) == {("recency", -1)} and u.hard == []
    assert not read(catalog_tools, "my older brother loved Heat").older
    assert read(catalog_tools, "let's start over").reset


def test_the_parser_runs_without_a_catalog():
    u = parse_message('no horror, but I liked "The Shining"', ["Comedy", "Horror"])
    assert hard(u) == {"exclude_genre": "Horror"} and [(m.text, m.stance) for m in u.mentions] == [("The Shining", "liked")]


def test_the_eval_adapter_uses_the_label_schema(catalog_tools):
    labels = reading_of(read(catalog_tools, "no horror, something like Heat but funnier")).model_dump()
    assert labels["hard"] == {"genres": [], "exclude_genres": ["Horror"], "year_min": None, "year_max": None}
    # a hard exclusion is reported as hard only (the labels never repeat it as a soft dislike)
    assert labels["soft"]["disliked_genres"] == [] and labels["critiques"] == [{"attribute": "humor", "direction": 1}]
    assert labels["mentions"] == [{"title": "Heat (1995)", "stance": "liked", "ml_id": "6", "redial_id": None}]


# ---------------------------------------------------------------- the LLM reading


def test_merge_keeps_only_titles_present_in_the_message(catalog_tools):
    msg = "I want something like Alien, but funny"
    parsed = read(catalog_tools, msg)
    reading = LLMReading(mentions=[{"title": "Alien", "stance": "liked"}, {"title": "Aliens vs Predator", "stance": "liked"}])
    merged = merge(parsed, reading, msg)
    assert [m.text for m in merged.mentions] == ["Alien"] and merged.genres == {"Comedy": 1.0}


def test_parser_wins_conflicts_and_a_failed_call_changes_nothing(catalog_tools):
    msg = "no horror, but I liked The Shining"
    parsed = read(catalog_tools, msg)
    merged = merge(parsed, LLMReading(mentions=[{"title": "The Shining", "stance": "disliked"}], hard_genres=["Horror"]), msg)
    assert stances(merged) == {"Shining, The (1980)": "liked"} and hard(merged) == {"exclude_genre": "Horror"}
    assert merge(parsed, None, msg) == parsed


def test_llm_mode_takes_the_llm_reading(catalog_tools):
    msg = "I want a comedy from the 90s with no horror"
    reading = LLMReading(hard_genres=["Comedy"], year_min=1990, year_max=1999, critiques=[{"attribute": "humor", "direction": 1}])
    merged = merge(read(catalog_tools, msg), reading, msg, mode="llm")
    assert hard(merged) == {"genre": "Comedy", "year_min": 1990, "year_max": 1999}
    assert all(c.origin == "llm" for c in merged.hard)


def test_every_llm_call_is_checked_failures_included(catalog_tools, fake_llm):
    vocab, _ = catalog_tools
    fake_llm.enqueue('{"mentions": [], "liked_genres": ["Comedy", "Nope"], "disliked_genres": [], "critiques": []}')
    ok = llm_reading(fake_llm, "x", vocab)
    assert ok.check.valid and ok.check.stage == "understanding" and ok.reading.liked_genres == ["Comedy"]
    bad = llm_reading(fake_llm.enqueue("not json"), "x", vocab)
    assert bad.reading is None and not bad.check.valid and "JSONDecodeError" in bad.check.error
    down = llm_reading(fake_llm.enqueue(LLMError("backend down")), "x", vocab)
    assert down.reading is None and not down.check.valid and "backend down" in down.check.error
    assert fake_llm.calls == 3, "one call per reading: a bad reply is a failed check, not a retry"


def test_llm_is_skipped_for_follow_ups_and_short_messages(catalog_tools):
    assert not needs_llm(read(catalog_tools, "more like the second one"), "more like the second one")
    assert not needs_llm(read(catalog_tools, "only comedies"), "only comedies")
    msg = "I'd love a sweeping romantic epic like Titanic"
    assert needs_llm(read(catalog_tools, msg), msg)


def test_negated_adjectives_are_critiques_not_genre_exclusions(catalog_tools):
    u = read(catalog_tools, "great! I like thrillers, suspense, not too gory horror, and mystery.")
    assert u.hard == [] and u.genres["Horror"] > 0 and crits(u) == {("violence", -1)}


@pytest.mark.parametrize("message", ["yes, even the bad 2000's ones", "2000's movies are okay too"])
def test_inclusive_decades_are_not_restrictions(catalog_tools, message):
    assert read(catalog_tools, message).hard == []


@pytest.mark.parametrize(
    "message, expected",
    [
        ("Can you recommend me some movies that came out in 2016?", {"year_min": 2016, "year_max": 2016}),
        ("If it's not horror I'm open.", {"exclude_genre": "Horror"}),
        ("I might check it out as long as it is not horror", {"exclude_genre": "Horror"}),
        ("I'm in the mood for a funny 90's type movie", {}),
        ("I would love to see a good 80's flick!", {"year_min": 1980, "year_max": 1989}),
    ],
)
def test_wishes_conditions_and_styles(catalog_tools, message, expected):
    assert hard(read(catalog_tools, message)) == expected


# ---------------------------------------------------------------- no hard filter from a passing mention
# (the five utterances the understanding eval found the parser inventing a filter for, and their kin)


def soft_labels(u):
    s = reading_of(u).soft
    return set(s.liked_genres), set(s.disliked_genres)


@pytest.mark.parametrize(
    "message",
    [
        "Yes, only funny on oneself in retrospect.",  # "only" scoped to a predicate, not a genre wish
        "it is only funny to me because I was there",
    ],
)
def test_only_before_a_predicate_adjective_is_no_genre(catalog_tools, message):
    u = read(catalog_tools, message)
    assert u.hard == [] and u.genres == {}


def test_only_scopes_to_the_genre_it_is_said_of(catalog_tools):
    assert hard(read(catalog_tools, "only funny movies please")) == {"genre": "Comedy"}
    assert hard(read(catalog_tools, "just comedies")) == {"genre": "Comedy"}
    u = read(catalog_tools, "I want something only funny")  # an adjective with no noun: a wish, not a filter
    assert u.hard == [] and u.genres == {"Comedy": 1.0}


@pytest.mark.parametrize(
    "message, disliked",
    [
        ("Preferably, something that is not animated", "Animation"),
        ("ideally no horror", "Horror"),
        ("nothing with romance if possible", "Romance"),
    ],
)
def test_hedged_exclusions_are_soft(catalog_tools, message, disliked):
    u = read(catalog_tools, message)
    assert u.hard == [], u.hard
    assert soft_labels(u) == (set(), {disliked})


def test_unhedged_exclusions_stay_hard(catalog_tools):
    assert hard(read(catalog_tools, "something that is not animated")) == {"exclude_genre": "Animation"}
    assert hard(read(catalog_tools, "no horror please")) == {"exclude_genre": "Horror"}


@pytest.mark.parametrize(
    "message, liked",
    [
        ("If not horror you know any good comedies?", {"Comedy"}),  # an alternative, nothing against horror
        ("if not a thriller, maybe a drama", {"Drama"}),
    ],
)
def test_if_not_is_an_alternative_not_an_exclusion(catalog_tools, message, liked):
    u = read(catalog_tools, message)
    assert u.hard == [] and soft_labels(u) == (liked, set())


def test_conditions_on_it_stay_hard(catalog_tools):
    """'as long as it is not horror' is a condition the user sets: hard, and reported only as hard."""
    for message in ["I might check it out as long as it is not horror.", "If it's not horror I'm open."]:
        u = read(catalog_tools, message)
        assert hard(u) == {"exclude_genre": "Horror"} and soft_labels(u) == (set(), set())


@pytest.mark.parametrize(
    "message",
    [
        "He has some classics from the 90's",  # about an actor's films
        "She made some great comedies in the 90s",
        "they did a lot of horror in the 80s",
    ],
)
def test_decades_about_someone_else_are_not_filters(catalog_tools, message):
    u = read(catalog_tools, message)
    assert u.year_min is None and u.year_max is None, u.hard
    assert u.critiques == [] and all(w < 0.5 for w in u.genres.values()), "at most a faint hint"


def test_a_decade_the_user_opens_up_in_the_same_message_is_no_filter(catalog_tools):
    u = read(
        catalog_tools,
        "Yes! Could you suggest any good funny 80s movies? I really love National Lampoon's Vacation and "
        "Fast Times at Ridgemont High ! A more modern comedy is good too though!",
    )
    assert u.hard == [] and u.genres == {"Comedy": 1.0}
    assert u.critiques == [], "'a more modern comedy is good too' opens the window, it asks for nothing newer"
    assert set(stances(u).values()) == {"liked"} and len(u.mentions) == 2


@pytest.mark.parametrize(
    "message, expected",
    [
        ("any good funny 80s movies?", {"year_min": 1980, "year_max": 1989}),
        ("An 80's comedy maybe?", {"year_min": 1980, "year_max": 1989}),  # "maybe" is how people ask, no hedge
        ("I would love to watch a 90's comedy.", {"year_min": 1990, "year_max": 1999}),
        ("He likes comedies, can you recommend some from the 90s?", {"year_min": 1990, "year_max": 1999}),
    ],
)
def test_decade_wishes_stay_hard(catalog_tools, message, expected):
    assert hard(read(catalog_tools, message)) == expected


def test_ideally_a_decade_is_no_filter(catalog_tools):
    u = read(catalog_tools, "ideally something from the 90s")
    assert u.year_min is None and u.year_max is None


def test_a_decade_asked_for_carries_its_classics(catalog_tools):
    """'80's classics' / 'older 80's comedies' are the decade asked for, not an extra 'older' critique."""
    for message in ["Im looking for some good 80's classics", "I am looking for recommendations for older 80's Comedies"]:
        u = read(catalog_tools, message)
        assert hard(u) == {"year_min": 1980, "year_max": 1989} and u.critiques == []
    u = read(catalog_tools, "Maybe a movie that is a bit more recent, from the 90s up till now")
    assert hard(u) == {"year_min": 1990} and crits(u) == {("recency", 1)}


# ---------------------------------------------------------------- soft genres and critiques the eval found


@pytest.mark.parametrize(
    "message, liked, disliked",
    [
        ("Not really into the foreign horror.", set(), set()),  # a sub-kind, not horror as a whole
        ("My favorite asian horror is The Wailing", set(), set()),
        ("thats an action/adventure movie I am actually interested in comedies", {"Comedy"}, set()),
        ("He likes adventure but I don't want too much violence. Any ideas?", {"Adventure"}, set()),  # asks for him
        ("I understand. I just do not like scary movies that much.", set(), {"Horror"}),
        ("MY DAUGHTER DOESNT CARE MUCH FOR ANIMATED FILMS.", set(), {"Animation"}),
        ("I'm interested in seeing a romantic comedy", {"Comedy", "Romance"}, set()),
        ("I want a romcom", {"Comedy", "Romance"}, set()),
        ("or romantic comedies are okay too", {"Comedy", "Romance"}, set()),
        ("cause sometimes i want to watch a chick flick", {"Romance"}, set()),
        ("I am actually interested in comedies like The Hangover", {"Comedy"}, set()),
        ("I'm really enjoying documentaries.", {"Documentary"}, set()),
        ("Do you know of a good kids movie for my daughter?", {"Children"}, set()),
        ("like watching movies with my children.", set(), set()),  # who watches: the family critique
        ("Great stuff for Mystery Science Theater.", set(), set()),  # a name, not the genre
        ("Not too much action", set(), set()),  # an amount: the violence critique
        ("But no kids movies! lol", set(), set()),  # hard only
    ],
)
def test_soft_genres(catalog_tools, message, liked, disliked):
    assert soft_labels(read(catalog_tools, message)) == (liked, disliked)


@pytest.mark.parametrize(
    "message, expected",
    [
        ("I love the classics", {("recency", -1)}),
        ("I do like the classic ones though.", {("recency", -1)}),
        ("I do like old classic movies,", {("recency", -1)}),
        ("I like his older movies like The Longest Yard and Click .", {("recency", -1)}),
        ("Another classic!", set()),  # praise for one film
        ("its okay I love older movies too, I'm a 90's baby", {("recency", -1)}),
        ("I like classics, but I will also watch new films.", {("recency", -1)}),  # tolerance, not a wish
        ("I'll check out both of the new ones. Thank you so much!", set()),  # specific films
        ("the new one is great", set()),
        ("Not too much action", {("violence", -1)}),
        ("He likes adventure but I don't want too much violence. Any ideas?", {("violence", -1)}),
        ("But no kids movies! lol", set()),  # against kids' films: no wish for family ones
        ("like watching movies with my children.", {("family", 1)}),
    ],
)
def test_more_critiques(catalog_tools, message, expected):
    assert crits(read(catalog_tools, message)) == expected


# ---------------------------------------------------------------- stances the eval found


@pytest.mark.parametrize(
    "message, expected",
    [
        ("Not a Star Wars fan", {"Star Wars": "disliked"}),
        ("I'm a huge Star Wars fan", {"Star Wars": "liked"}),
        ("I like to watch Jurassic World", {"Jurassic World (2015)": "liked"}),
        ("I found myself rewatching Moana just to listen to the songs lol", {"Moana (2016)": "liked"}),
        ("The Fugitive was also really good", {"Fugitive, The (1993)": "liked"}),
        ("Rough Night looks like it will be really good also!", {"Rough Night (2017)": "want"}),
        ("I have not seen Arrival yet", {"Arrival (2016)": "want"}),
        ("I don't like movies like Scary Movie . Don't like nasty jokes", {"Scary Movie (2000)": "disliked"}),
        ("I would like to watch Heat", {"Heat (1995)": "want"}),
        ("I really enjoyed the movies The Notebook", {"Notebook, The (2004)": "liked"}),
        ("My favorite asian horror is The Wailing", {"The Wailing (2016)": "liked"}),
        ("I've seen Singin' in the Rain many of times.", {"Singin' in the Rain (1952)": "liked"}),
        ("I have seen Dear John and never get tired of it", {"Dear John (2010)": "liked"}),
        ("I have seen Heat", {"Heat (1995)": "seen"}),
    ],
)
def test_more_stances(catalog_tools, message, expected):
    assert stances(read(catalog_tools, message)) == expected


def test_anything_else_is_not_a_title(catalog_tools):
    assert read(catalog_tools, "Can you recommend anything else?").mentions == []


# ---------------------------------------------------------------- found on unlabelled ReDial train utterances


@pytest.mark.parametrize(
    "message, disliked",
    [
        ("I'm not big into thrillers, but Gravity sounds like a good suggestion", "Thriller"),
        ("Hmm that was a funny movie. I'm not all that into animated movies", "Animation"),
        ("I did not like the war movies that are not in english", "War"),
    ],
)
def test_negated_tastes_are_dislikes_never_likes(catalog_tools, message, disliked):
    u = read(catalog_tools, message)
    assert u.hard == [] and soft_labels(u) == (set(), {disliked})


def test_a_genre_phrase_is_not_a_title(catalog_tools):
    assert read(catalog_tools, "I did not like the war movies that are not in english").mentions == []
    assert read(catalog_tools, "No. I am not a fan of old school movies.").mentions == []
    assert stances(read(catalog_tools, "I'm not big into thrillers, but Gravity sounds like a good suggestion")) == {
        "Gravity (2013)": "want"
    }


def test_stick_to_is_a_restriction(catalog_tools):
    u = read(catalog_tools, "Not sure, can you stick to action comedies?")
    assert [(c.kind, c.value) for c in u.hard] == [("genre", "Action"), ("genre", "Comedy")]


def test_polite_forms_are_no_hedge(catalog_tools):
    assert hard(read(catalog_tools, "no horror would be great")) == {"exclude_genre": "Horror"}
    assert hard(read(catalog_tools, "something from the 90s would be nice")) == {"year_min": 1990, "year_max": 1999}


@pytest.mark.parametrize(
    "message, topics",
    [
        ("Looking for a historical drama to watch. Something like Lincoln.", ["historical"]),
        ("I like thriller movies, preferable psychological.", ["psychological"]),
        ("Well, a good date movie matters more.", ["date movie"]),
    ],
)
def test_more_topics(catalog_tools, message, topics):
    assert read(catalog_tools, message).topics == topics
