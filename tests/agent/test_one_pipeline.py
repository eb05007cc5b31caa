"""One request pipeline: a one-shot ``recommend(query=...)`` and the first turn of a chat read a message
the same way, so they ask retrieval the same question (the same hard filters, the same soft preferences,
the same anchors), whatever the message says. Checked on 100 varied messages, on the slice, by recording
every query the hybrid retriever is asked."""

from __future__ import annotations

import pytest

from recagent.agent.rerank import Reranker
from recagent.recommender import Recommender
from tests.support.parts import retrieval_parts

MESSAGES = [
    # genres: hard ("only"), excluded, soft, passing
    "only comedies please", "Only 90s comedies", "no horror", "please no horror movies", "anything but romance",
    "I love horror", "I'm not a fan of horror", "a drama, but not too sad", "something with action and adventure",
    "an animated movie for the kids", "documentaries only", "exclude documentaries", "no musicals and no westerns",
    "a thriller", "sci-fi!", "a crime movie from the 90s", "a war film", "a children's movie", "mystery or thriller",
    "the 90s had great action movies",
    # years: bounds, decades, ranges, narrative years
    "from the 90s", "something from 1995", "before 1990 please", "nothing before 1995", "after 1994",
    "movies from the eighties", "released between 1990 and 1995", "something older", "something newer",
    "I grew up in the 80s", "in 1996 I saw a great film", "a 70s classic", "nothing older than 1993",
    "only movies released before 1995 please", "from 1992 to 1994", "a movie from the last few years",
    "before 1980 or so, I like old movies",
    # titles and stances
    "something like Heat", "I loved Toy Story and Jumanji", "I hated Casino", "have you seen Heat?",
    "I've seen Toy Story already", "like GoldenEye but funnier", "not Jumanji, I didn't like it",
    "I liked Heat but it was too violent", "my wife loves Sabrina", "Toy Story", "\"Heat\" is my favourite",
    "anything similar to Braveheart?", "Apollo 13 was amazing", "I want to see Twelve Monkeys",
    "something like Heat but less violent, from the 90s", "I loved The Usual Suspects, more like that",
    "like Se7en but lighter", "Babe was too childish for me", "Casino and Heat are my favourites",
    # critiques and moods
    "something lighter", "darker please", "less violent", "funnier", "more serious please", "scarier",
    "less scary, I get nightmares", "family friendly", "for grown-ups", "more recent", "well known movies",
    "a hidden gem nobody knows", "a feel-good movie", "something intense", "a sad movie that will make me cry",
    "something relaxing for a sunday", "uplifting please", "a movie that makes me think",
    # topics and people
    "a heist movie", "a movie about space", "something about a true story", "a film about a shark",
    "movies with Tom Hanks", "directed by Martin Scorsese", "a movie about prison", "a road trip movie",
    "something about time travel", "a courtroom drama", "a movie about a journalist",
    # follow-ups and list references on a fresh conversation
    "the second one", "more like that one", "not that one", "show me more", "something else", "again please",
    "start over", "any of those but older",
    # typos, lowercase, run-on chat style, questions
    "somethin funy from the 90s", "i want a comdy", "hi!! can u recomend me a movie its for a date night",
    "what do you think of heat", "i liked toy story lol what else", "no horror no thriller just something chill",
    "what should I watch tonight?", "any good westerns", "hello", "thanks!", "ok",
    "I usually watch action but today I want a romance, not too old",
]


@pytest.fixture(scope="module")
def spied(rec, tmp_path_factory):
    """``rec``'s loaded parts, with the hybrid retriever behind a recorder and the retrieval-order reranker."""
    asked = []

    class Recorder:
        def candidates(self, query, k):
            asked.append(query)
            return rec.hybrid.candidates(query, k)

    sessions = tmp_path_factory.mktemp("one-pipeline") / "sessions.sqlite"
    parts = retrieval_parts(rec) | {"hybrid": Recorder(), "reranker": Reranker(None, rec.settings.rerank)}
    r = Recommender.from_parts(rec.settings.model_copy(update={"sessions_url": str(sessions)}), rec.dataset, **parts)
    return r, asked


def test_the_messages_are_varied_enough():
    assert len(MESSAGES) >= 100 and len(set(MESSAGES)) == len(MESSAGES)


def test_recommend_and_a_first_chat_turn_ask_retrieval_the_same_question(spied):
    r, asked = spied
    compared = 0
    for i, message in enumerate(MESSAGES):
        r.recommend(query=message, k=5, rerank=False)
        one_shot = asked[-1]  # the last question asked (after any relaxation)
        r.chat(f"first-turn-{i}", message, k=5)
        chat = asked[-1]
        assert one_shot.filters == chat.filters, message
        assert one_shot.preferences == chat.preferences, message
        assert (one_shot.text, one_shot.liked_ids, one_shot.disliked_ids) == (chat.text, chat.liked_ids, chat.disliked_ids), message
        compared += 1
    assert compared == len(MESSAGES)
    said = [q for q in asked if not q.filters.is_empty or q.preferences.critiques or q.preferences.genres]
    assert len(said) >= 100, "most messages state a filter or a soft wish: the comparison is not of empty queries"


def test_a_self_contradicting_one_shot_request_is_an_error_and_the_chat_asks(spied):
    from recagent.retrieval.filters import InvalidFilterError

    r, _ = spied
    with pytest.raises(InvalidFilterError, match="no item can be both"):
        r.recommend(query="before 1980 and after 2000", rerank=False)
    reply = r.chat("contradiction", "before 1980 and after 2000", k=5)
    assert "Which did you mean?" in reply.message and reply.recommendations
