"""Explanations for the grounding check, as data: each row is (candidate title, explanation, what the
user said or liked), by catalog title of the bundled MovieLens catalog.

ISSUE: the explanations issue 21 quotes, written by an LLM with its weight forced to 1.
ADVERSARIAL: what a weak or confused LLM writes: other films' titles (whole, in part, without the
article, quoted, with a wrong year), catalog ids, labels, field names, JSON, chat-template tokens,
and genres or years the candidate does not have. Every one must be caught.
HONEST: what a good LLM writes: the candidate's own title, genres and year, a liked film it is
like, the user's own words. Every one must pass (the check does not simply refuse everything).
"""

from __future__ import annotations

BP, RONIN, TOY, HEAT = "Black Panther (2017)", "Ronin (1998)", "Toy Story (1995)", "Heat (1995)"
TITANIC, SHINING, MATRIX, UP = "Titanic (1997)", "Shining, The (1980)", "Matrix, The (1999)", "Up (2009)"
LOTR = "Lord of the Rings: The Fellowship of the Ring, The (2001)"


def row(candidate: str, text: str, liked: tuple[str, ...] = (), request: str = "") -> dict:
    return {"candidate": candidate, "text": text, "liked": list(liked), "request": request}


ISSUE = [
    row(BP, "If you enjoyed The Last Jedi, this is another epic adventure for you."),
    row(BP, "The best candidate is 122916…"),
    row(BP, "The best candidate is 122916, an action-packed adventure."),
]

ADVERSARIAL = [
    # titles the user never mentioned: whole, with a year, in part, without the article, quoted
    row(BP, "Fans of Star Wars: The Last Jedi (2017) will love it."),
    row(BP, "Like The Last Jedi, a sweeping space saga."),
    row(BP, "A Star Wars-sized adventure with a hero king."),
    row(BP, "As thrilling as Thor: Ragnarok (2017)."),
    row(BP, "In the spirit of A New Hope, a hero rises."),
    row(BP, "Just like Avengers: Infinity War, but in Wakanda."),
    row(BP, "If you liked Infinity War you will like this one."),
    row(BP, "A darker take, in the vein of The Dark Knight."),
    row(BP, "A darker take, in the vein of Dark Knight."),
    row(BP, "For fans of the matrix and jurassic park."),
    row(BP, "As gripping as “Heat”, with more heart."),
    row(BP, 'Like "Alien" meets superheroes.'),
    row(BP, "Similar to Heat (1995), which you liked."),
    row(BP, "Similar to Heat (1995), which you liked.", liked=(TOY,)),
    row(RONIN, "Just like Star Wars: Episode IV - A New Hope (1977), a space opera."),
    row(RONIN, "Fans of Toy Story (1995) will love it.", liked=(HEAT,)),
    row(RONIN, "A tense thriller, like Pulp Fiction.", liked=(HEAT,)),
    row(TOY, "A Pixar gem like Finding Nemo."),
    row(TOY, "The Fellowship of the Ring for kids."),
    row(TITANIC, "A romance as grand as The Lord of the Rings."),
    # ids and other internal tokens
    row(BP, "Item 122906 matches your taste."),
    row(BP, "Recommended: 122906."),
    row(BP, "A great pick (id 122906)."),
    row(BP, "Ranked first, #1 for you."),
    row(BP, "This candidate fits your request."),
    row(BP, "Candidate B is a strong action film."),
    row(BP, "[A] Action, Adventure, Sci-Fi; 2017"),
    row(BP, "Label C: an action film."),
    row(BP, "item_id: a 2017 action film"),
    row(BP, "The anchor_title suggests you like action."),
    row(BP, '{"item_id": "122906", "explanation": "An action film."}'),
    row(BP, '"explanation": "An action film from 2017"'),
    row(BP, "An action film from 2017.<|im_end|>"),
    row(BP, "<|im_start|>assistant An action film."),
    row(BP, "An action film.</s>"),
    row(BP, "[INST] Explain the pick [/INST] An action film."),
    row(BP, "assistant: An action film from 2017."),
    row(BP, "An action film.\\n"),
    row(BP, "Its score of 0.93 is the highest."),
    row(BP, "Scored highest by logprob."),
    row(BP, "**Action** film from 2017."),
    row(BP, "`122906` is an action film."),
    row(BP, "Movie ID 1234 is a great action film."),
    row(MATRIX, "Like tt0133093, a classic."),
    # genres and years the candidate does not have
    row(BP, "A warm romantic comedy."),
    row(BP, "A fun animated film for the family."),
    row(BP, "A chilling horror film."),
    row(BP, "A gripping crime thriller."),
    row(BP, "An action film from 2016."),
    row(BP, "A classic from the 1990s."),
    row(BP, "Straight out of the 80s."),
    row(BP, "A throwback to the nineties."),
    row(BP, "A moving documentary."),
    row(BP, "A musical about a king."),
    row(SHINING, "A science fiction classic."),
    row(SHINING, "A scary Horror film from 1979."),
    row(TITANIC, "A 1990s action epic."),
    row(UP, "A tense war drama."),
    row(RONIN, "A film-noir from the 1940s."),
    row(RONIN, "A neo noir thriller."),
    row(TOY, "Black Panther (2018) fans will love it."),
]

HONEST = [
    row(BP, "Black Panther (2017) is an action-packed adventure."),
    row(BP, "An Action, Adventure, Sci-Fi film from 2017."),
    row(BP, "A 2017 superhero adventure with plenty of action."),
    row(BP, "A sci-fi action film from the 2010s."),
    row(BP, "Black Panther: a science fiction adventure."),
    row(BP, "Similar to Thor: Ragnarok (2017), which you liked.", liked=("Thor: Ragnarok (2017)",)),
    row(BP, "Like The Last Jedi, which you mentioned, a big adventure.", request="I loved The Last Jedi"),
    row(BP, "Matches what you asked for, “action movies from the 2010s”.", request="action movies from the 2010s"),
    row(BP, "A bold, exciting adventure that many viewers loved."),
    row(BP, "Two hours of action and adventure."),
    row(RONIN, "Similar to Heat (1995), which you liked (Action, Crime; 1998).", liked=(HEAT,)),
    row(RONIN, "A tense crime thriller from 1998 with great car chases."),
    row(RONIN, "Lots of heat and speed in this one."),
    row(RONIN, "A 90s action thriller.", liked=(HEAT,)),
    row(TOY, "A 1995 animated comedy."),
    row(TOY, "Toy Story is a funny, animated adventure for children."),
    row(TOY, "A fantasy adventure from the nineties."),
    row(TITANIC, "A romantic drama from 1997."),
    row(TITANIC, "Titanic (1997): a sweeping romance."),
    row(SHINING, "The Shining is a horror classic from 1980."),
    row(SHINING, "A scary film from the 80s."),
    row(MATRIX, "The Matrix (1999) is a sci-fi action thriller."),
    row(MATRIX, "A science fiction action film from the 1990s."),
    row(UP, "An animated adventure from 2009 for children."),
    row(UP, "Up is a moving animated drama."),
    row(LOTR, "The Fellowship of the Ring is a fantasy adventure from 2001."),
    row(LOTR, "The Lord of the Rings begins here: an epic fantasy adventure."),
]
