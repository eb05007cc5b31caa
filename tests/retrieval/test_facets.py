"""Request facets: the facet index (hierarchy, specificity, every tag), reading a request into facets, and the
eligibility tiers in the hybrid retriever (real slice of ml-latest-small with its Wikidata facts, MiniLM)."""

from __future__ import annotations

import numpy as np
import pytest

from recagent.recommender import Recommender
from recagent.retrieval.attributes import ATTRIBUTES, ItemAttributes
from recagent.retrieval.base import Critique, Preferences, RetrievalQuery
from recagent.retrieval.catalog import Catalog, Item
from recagent.retrieval.facet_reading import Concept, FacetReader, RequestFacets
from recagent.retrieval.facets import FacetIndex, label_keys, lemma
from recagent.retrieval.hybrid import HybridRetriever
from recagent.retrieval.wikidata import WikidataFacts
from recagent.settings import FusionSettings, Settings
from tests.support.parts import retrieval_parts


def tiny_index() -> FacetIndex:
    items = [
        Item(id="1", title="Vault", text="Vault", genres=("Crime",), tags=("heist",)),
        Item(id="2", title="Cops", text="Cops", genres=("Crime",)),
        Item(id="3", title="Songs", text="Songs", genres=("Musical",)),
        Item(id="4", title="Other", text="Other", genres=("Crime",), tags=("tom hanks",)),
    ]
    catalog = Catalog(items)
    wd = WikidataFacts(
        genres={0: ["heist film"], 1: ["crime film"], 3: ["crime film"]}, parents={"heist film": ["crime film"]}
    )
    attrs = ItemAttributes({a: np.zeros(4) for a in ATTRIBUTES}, np.array([0.9, 0.5, 0.1, 0.2]))
    return FacetIndex.build(catalog, attrs, wd)


def test_words_are_lemmatised_and_labels_lose_their_generic_tail():
    assert [lemma(w) for w in ("dramas", "comedies", "heists", "movies", "class")] == [
        "drama", "comedy", "heist", "movie", "class"
    ]  # fmt: skip
    assert label_keys("heist film") == {"heist film", "heist"}
    assert "science fiction" in label_keys("science fiction film")


def test_a_child_genre_counts_for_its_parent_at_lower_weight_and_is_more_specific():
    idx = tiny_index()
    heist, crime = idx.by_label[("wikidata", "heist film")], idx.by_label[("wikidata", "crime film")]
    assert idx.column(heist).tolist() == [1.0, 0.0, 0.0, 0.0]
    assert idx.column(crime).tolist() == [0.5, 1.0, 0.0, 1.0]  # the heist film is a crime film too, at half
    assert idx.specificity[heist] > idx.specificity[crime]


def test_a_request_is_read_into_the_catalogs_own_facets_without_embeddings():
    reader = FacetReader(tiny_index())  # lexical only
    concepts = reader.concepts("any good heists?")
    assert [c.label for c in concepts] == ["heist film"]
    assert reader.concepts("something with songs, not crime")[-1].negated
    assert reader.concepts("recommend a good movie please") == []
    # a person (no cast in the catalog) is matched only to a user tag of that name
    assert [c.label for c in reader.concepts("movies", people=["tom hanks"])] == ["tom hanks"]


def test_tiers_put_every_on_request_item_first_and_keep_the_order_within_a_tier():
    idx = tiny_index()
    crime = idx.by_label[("genre", "Crime")]
    rf = RequestFacets([Concept("crime", (crime,), "Crime")], [idx.column(crime)], [0.3])
    assert HybridRetriever.tiered([2, 3, 0, 1], rf) == [3, 0, 1, 2]  # the musical, first by fusion, goes last


@pytest.fixture(scope="module")
def plain_rec(rec, settings) -> Recommender:
    """The same data and models with request facets off (today's ranking)."""
    off = Settings(catalog=settings.catalog, data_dir=settings.data_dir, fusion=FusionSettings(request_facets=False))
    parts = {k: v for k, v in retrieval_parts(rec).items() if k != "hybrid"}
    return Recommender.from_parts(off, **parts)


def test_the_slice_reads_fine_grained_wikidata_genres_from_plain_words(rec):
    labels = [c.label for c in rec.facet_reader.concepts("Any other prison dramas?")]
    assert "prison film" in labels and "Drama" in labels
    assert [c.label for c in rec.facet_reader.concepts("a sad movie that will make me cry")] == ["sad"]


def test_an_on_request_film_is_always_above_an_off_request_one(rec, plain_rec):
    for text in ("a crime movie", "a documentary", "a prison movie", "something scary"):
        q = RetrievalQuery(text=text, preferences=Preferences(context=[{"text": text}]))
        got = rec.hybrid.candidates(q, 30)
        flags = [c.on_request for c in got]
        assert flags[0] is True, text
        assert flags == sorted(flags, reverse=True), (text, flags)  # never an off-request one above
        before = plain_rec.hybrid.candidates(q, 30)
        assert sum(c.item_id in {g.item_id for g in got if g.on_request} for c in before) <= sum(flags)


def test_too_few_matching_films_are_filled_with_the_nearest_and_the_reply_says_so(rec):
    col = rec.facet_reader.read("a survival movie").members[0]
    n = int((col > 0).sum())
    assert 0 < n < 10  # the slice has a handful
    got = rec.candidates(query="a survival movie", k=10)
    assert [c.on_request for c in got.candidates] == [True] * n + [False] * (10 - n)
    assert any(f"Only {n} film" in note and "the rest are the nearest" in note for note in got.notes), got.notes


def test_like_x_but_y_stays_in_xs_neighbourhood(rec):
    got = rec.candidates(likes=["Heat"], query="something like Heat but less violent", k=10).candidates
    top = got[:5]
    assert sum(bool({"Crime", "Thriller"} & set(c.genres)) for c in top) >= 3, [c.title for c in top]
    assert not any({"Children", "Animation"} & set(c.genres) for c in top), [c.title for c in top]
    violence = rec.preference_scorer.attributes["violence"]
    heat = rec.catalog.position(rec.resolve_titles(["Heat"])[0].item_id)
    assert all(violence[rec.catalog.position(c.item_id)] < violence[heat] for c in top)


def test_a_request_that_names_nothing_ranks_exactly_as_before(rec, plain_rec):
    user = rec.dataset.interactions.users[3]
    liked = rec.catalog.ids[:2]
    queries = [
        RetrievalQuery(user_id=user),
        RetrievalQuery(liked_ids=liked),
        RetrievalQuery(user_id=user, liked_ids=liked[:1]),
        RetrievalQuery(liked_ids=liked, preferences=Preferences(context=[{"text": "any good movies lately?"}])),
        RetrievalQuery(preferences=Preferences(critiques=[Critique(attribute="violence", direction=-1)])),
    ]
    for q in queries:
        a = [(c.item_id, c.score) for c in rec.hybrid.candidates(q, 20)]
        b = [(c.item_id, c.score) for c in plain_rec.hybrid.candidates(q, 20)]
        assert a == b
        assert all(c.on_request is None for c in rec.hybrid.candidates(q, 20))


def test_a_table_catalogs_description_words_are_facets(tmp_path):
    from recagent.retrieval.loaders import load_table

    path = tmp_path / "films.csv"
    path.write_text(
        "id,title,description\n"
        "a,Sea Dogs,Pirates raid a harbour town.\n"
        "b,Black Flag,A pirate crew hunts treasure.\n"
        "c,Quiet Days,A teacher retires to a harbour town.\n"
        "d,Office,Two clerks fall in love.\n",
        encoding="utf-8",
    )
    catalog = load_table(path).catalog
    attrs = ItemAttributes({a: np.zeros(len(catalog)) for a in ATTRIBUTES}, np.zeros(len(catalog)))
    reader = FacetReader(FacetIndex.build(catalog, attrs))
    rf = reader.read("a movie about pirates")
    assert [c.label for c in rf.concepts] == ["pirate"]
    assert rf.tiers(np.arange(4)).tolist() == [1, 1, 0, 0]


def test_a_phrase_matched_by_embedding_alone_needs_enough_films():
    """'robbery' names no facet; by embedding it is nearest 'heist film', which one film of four has: too few
    for a guess ('coming up' is not the one film about 'coming out'); a catalog genre reached the same way
    still counts."""
    idx = tiny_index()
    labels = [f.label for f in idx.facets]
    heist, musical = labels.index("heist film"), labels.index("Musical")
    vectors = np.eye(len(labels))
    idx._vectors = lambda: vectors
    wants = {"robbery": heist, "singing": musical}
    reader = FacetReader(idx, lambda phrases: np.stack([vectors[wants.get(p, heist)] * (p in wants) for p in phrases]))
    assert reader.concepts("a robbery") == []
    assert [c.label for c in reader.concepts("a singing")] == ["Musical"]
    assert [c.label for c in reader.concepts("a heist")] == ["heist film"]  # named in so many words: counts


def test_an_item_with_more_of_a_concepts_facets_is_the_stronger_match():
    """'heist' answers both the Wikidata genre and the user tag: Vault has both, Safe only the genre, so Vault is
    the stronger match though both are in the genre in full."""
    items = [
        Item(id="1", title="Vault", text="Vault", genres=("Crime",), tags=("heist",)),
        Item(id="2", title="Safe", text="Safe", genres=("Crime",)),
        Item(id="3", title="Songs", text="Songs", genres=("Musical",)),
    ]
    wd = WikidataFacts(genres={0: ["heist film"], 1: ["heist film"]})
    attrs = ItemAttributes({a: np.zeros(3) for a in ATTRIBUTES}, np.array([0.1, 0.9, 0.5]))
    idx = FacetIndex.build(Catalog(items), attrs, wd)
    rf = FacetReader(idx).read("a heist movie")
    (concept,) = rf.concepts
    assert {idx.facets[j].kind for j in concept.facets} >= {"wikidata", "tag"}
    strength = rf.strength(np.arange(3))
    assert strength[0] == pytest.approx(1.0) and strength[0] > strength[1] > strength[2] == 0
    assert rf.tiers(np.arange(3)).tolist() == [1, 1, 0]  # both fit the request; the strength orders them


def test_world_wars_written_with_numbers_and_names_read_as_the_war():
    items = [Item(id="1", title="Beach", text="Beach", genres=("War",)), Item(id="2", title="Mud", text="Mud")]
    wd = WikidataFacts(subjects={0: ["World War II"], 1: ["World War I"]})
    attrs = ItemAttributes({a: np.zeros(2) for a in ATTRIBUTES}, np.array([0.5, 0.5]))
    reader = FacetReader(FacetIndex.build(Catalog(items), attrs, wd))
    for text in ("a film about world war 2", "a WW2 movie", "set in the second world war", "WWII films"):
        assert [c.label for c in reader.concepts(text)] == ["World War II"], text
    for text in ("a WWI movie", "something about the great war", "world war one"):
        assert [c.label for c in reader.concepts(text)] == ["World War I"], text
    assert reader.concepts("a movie about the end of the world") == []  # 'world' alone names nothing


def test_what_a_request_says_films_are_about_that_no_facet_answers_is_kept_as_unread():
    """A content phrase after 'about' / 'set in' that no facet answers is unread (the words
    said then order the list); chat words, negated phrases and phrases a facet answers are not."""
    reader = FacetReader(tiny_index())  # lexical only: 'hospital' names no facet here
    assert reader.unread("a movie set in a hospital") == ["hospital"]
    assert reader.unread("stranded on an island") == ["island"] == reader.unread("people trapped on an island")
    assert reader.unread("I'm stuck at home") == []  # where the person is, not the story
    assert reader.unread("an amazing movie") == [] and reader.unread("tell me about them") == []
    assert reader.unread("movies about con artists") == ["con artists"]  # as said, for the reply
    assert reader.unread("a heist movie") == [] and [c.label for c in reader.concepts("a heist movie")] == ["heist film"]
    assert reader.unread("a movie to watch with my girlfriend") == []
    assert reader.unread("a film that is not about war") == []
    assert FacetReader(tiny_index()).read("a movie set in a hospital").unread == ["hospital"]


def test_film_or_movie_after_a_genre_word_reads_the_catalogs_genre(rec):
    """'a horror film' is Wikidata's 'horror film' and the catalog's Horror alike, as 'a horror movie' is; 'a romantic
    movie' is Romance, 'an animated film' Animation, 'a science fiction film' Sci-Fi."""
    reader, idx = rec.facet_reader, rec.facet_reader.index

    def genres(text):
        return [sorted({idx.facets[j].label for j in c.facets if idx.facets[j].kind == "genre"})
                for c in reader.concepts(text)]  # fmt: skip

    for word, genre in [("horror", "Horror"), ("comedy", "Comedy"), ("war", "War"), ("crime", "Crime")]:
        assert genres(f"a {word} film") == [[genre]] == genres(f"a {word} movie"), word
    assert genres("a romantic movie") == [["Romance"]]
    assert genres("an animated film") == [["Animation"]]
    assert genres("a science fiction film") == [["Sci-Fi"]]


def test_a_topic_the_query_appends_is_not_read_as_a_second_wish(rec):
    """build_query appends the parser's topics to the request ('a movie with a twist' + 'mind-bending'); when the
    request's own words name something, the facets come from them, so a twist ending and 'thought-provoking' are not
    two concepts a film must both meet; when they name nothing ('movies about robbery'), the topic ('heist') is read."""
    from recagent.retrieval.base import Preferences, RetrievalQuery
    from recagent.retrieval.facet_reading import query_facets

    reader = rec.facet_reader

    def labels(text, topics):
        return [c.label for c in query_facets(reader, RetrievalQuery(text=text, preferences=Preferences(topics=topics))).concepts]

    assert [c.label for c in reader.read("a movie with a twist mind-bending").concepts] == ["thought-provoking", "twist ending"]
    assert labels("a movie with a twist mind-bending", ["mind-bending"]) == ["twist ending"]
    assert labels("movies about robbery heist", ["heist"]) == ["heist film"]
