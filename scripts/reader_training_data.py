"""Generated training messages for the learned reader (``scripts/train_reader.py``): templates x the catalog's
genres and titles x paraphrase operators, each message with its gold reading in the understanding label schema
(``hard``: genres, exclude_genres, year_min, year_max; ``soft``: liked_genres, disliked_genres).

Written from issue 19's list of phrasing families and the labelling guidelines
(evals/data/understanding/README.md), never from a held-out set. Families: hard year bounds in many
phrasings (before / after / until / since / onwards / pre- / post- / older / newer / between / from X to Y /
decades in words and digits / the last N years, with this year from the clock), genre "only" and exclusions,
combinations ("only 90s comedies"; "a thriller, but it must be from the 70s": years hard, genre soft),
negatives (narrative years, passing remarks, questions, tastes, hedges, someone else's habits, genre words
that are amounts or describe another film), follow-ups after a list, and operators: typos, lowercase, no
punctuation, run-on sentences, a titles sentence before, a negative sentence mixed in. Seeded: the same seed
gives the same messages.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

GENRE_FORMS: dict[str, tuple[list[str], list[str]]] = {  # genre -> (singular "a ... " forms, plural/mass forms)
    "Action": (["action movie", "action film", "action flick"], ["action movies", "action films", "action"]),
    "Adventure": (["adventure movie", "adventure film"], ["adventure movies", "adventures", "adventure"]),
    "Animation": (["animated movie", "animated film", "cartoon"], ["animated movies", "animation", "cartoons", "anime"]),
    "Children": (["kids movie", "family movie"], ["kids movies", "children's movies", "family movies"]),
    "Comedy": (["comedy", "funny movie", "comedic film"], ["comedies", "funny movies", "comedy"]),
    "Crime": (["crime movie", "gangster movie", "crime film"], ["crime movies", "gangster films", "crime", "mafia movies"]),
    "Documentary": (["documentary", "doc"], ["documentaries", "documentary films", "docs"]),
    "Drama": (["drama"], ["dramas", "drama", "drama films"]),
    "Fantasy": (["fantasy movie", "fantasy film"], ["fantasy movies", "fantasy"]),
    "Film-Noir": (["film noir", "noir"], ["film noirs", "noir films", "film noir"]),
    "Horror": (["horror movie", "horror film", "slasher", "scary movie"], ["horror movies", "horror", "slashers", "horror films"]),
    "Musical": (["musical"], ["musicals"]),
    "Mystery": (["mystery movie", "whodunit", "mystery film"], ["mystery movies", "mysteries", "whodunits"]),
    "Romance": (["romance", "romantic movie", "love story"], ["romance movies", "romances", "romantic films", "love stories"]),
    "Sci-Fi": (["sci-fi movie", "science fiction film", "scifi movie"], ["sci-fi", "science fiction", "sci fi movies", "scifi"]),
    "Thriller": (["thriller", "suspense movie"], ["thrillers", "suspense movies", "thriller movies"]),
    "War": (["war movie", "war film"], ["war movies", "war films"]),
    "Western": (["western"], ["westerns", "cowboy movies", "western movies"]),
}  # fmt: skip

DECADE_WORDS = {1950: "fifties", 1960: "sixties", 1970: "seventies", 1980: "eighties", 1990: "nineties"}
PROTECTED = re.compile(
    r"^(only|just|no|not|nothing|before|after|since|until|till|from|between|older|newer|earlier|later|than|pre|post|"
    r"exclude|without|except|but|don't|dont|avoid|skip|must|has|have|need|like|love|hate|want|none|never|last|past|"
    r"years|decade|onwards|on|or|and|the|any|please|it|be|to|a|an|in|of|released|made|came|out|up|now|earlier|prior)$"
)


@dataclass
class Gen:
    text: str
    genres: list[str] = field(default_factory=list)
    exclude_genres: list[str] = field(default_factory=list)
    year_min: int | None = None
    year_max: int | None = None
    liked: list[str] = field(default_factory=list)
    disliked: list[str] = field(default_factory=list)
    family: str = ""

    def merge(self, other: Gen, joiner: str) -> Gen:
        """Two messages as one (the second's years win where both set one: they never both do here)."""
        return Gen(
            text=self.text + joiner + other.text,
            genres=self.genres + other.genres,
            exclude_genres=self.exclude_genres + other.exclude_genres,
            year_min=self.year_min if other.year_min is None else other.year_min,
            year_max=self.year_max if other.year_max is None else other.year_max,
            liked=self.liked + other.liked,
            disliked=self.disliked + other.disliked,
            family=f"{self.family}+{other.family}",
        )

    def as_label(self) -> dict:
        def uniq(xs):
            return list(dict.fromkeys(xs))

        return {
            "text": self.text,
            "family": self.family,
            "hard": {
                "genres": uniq(self.genres),
                "exclude_genres": uniq(self.exclude_genres),
                "year_min": self.year_min,
                "year_max": self.year_max,
            },
            "soft": {"liked_genres": uniq(self.liked), "disliked_genres": uniq(self.disliked)},
        }


class Phrasings:
    def __init__(self, seed: int, genres: list[str], titles: list[str], today: int):
        self.r = random.Random(seed)
        self.genres = [g for g in genres if g in GENRE_FORMS]
        self.titles = titles
        self.today = today

    # ------------------------------------------------------------------ pieces
    def pick(self, xs):
        return self.r.choice(xs)

    def genre(self, exclude: tuple[str, ...] = ()) -> str:
        return self.pick([g for g in self.genres if g not in exclude])

    def one(self, g: str) -> str:
        return self.pick(GENRE_FORMS[g][0])

    def many(self, g: str) -> str:
        return self.pick(GENRE_FORMS[g][1])

    def year(self, lo: int = 1950, hi: int | None = None) -> int:
        return self.r.randint(lo, hi or self.today - 1)

    def decade(self) -> tuple[str, int]:
        start = self.pick([1950, 1960, 1970, 1980, 1980, 1990, 1990, 2000, 2010])
        forms = [f"{start}s", f"{str(start)[2:]}s", f"'{str(start)[2:]}s", f"{str(start)[2:]}'s"]
        if start in DECADE_WORDS:
            forms.append(DECADE_WORDS[start])
        if start == 2000:
            forms = ["2000s", "2000's", "two thousands"]
        if start == 2010:
            forms = ["2010s", "2010's"]
        return self.pick(forms), start

    def title(self) -> str:
        return self.pick(self.titles)

    # ------------------------------------------------------------------ year phrases: (phrase, lo, hi)
    def year_phrase(self) -> tuple[str, int | None, int | None, bool]:
        """A year window said as a wish; the bool: the phrase reads after a noun ("movies ___")."""
        y = self.year(1960)
        kind = self.pick(
            ["before", "before", "until", "after", "after", "since", "since", "notbefore", "notafter", "between",
             "bounded", "decade", "decade", "decade", "twodecades", "decadeopen", "decadebefore", "decadeafter", "notbeforedecade", "lastn", "single"]
        )  # fmt: skip
        if kind == "before":
            p = self.pick(["before {y}", "released before {y}", "made before {y}", "older than {y}", "earlier than {y}",
                           "prior to {y}", "pre-{y}", "from before {y}", "that came out before {y}", "released prior to {y}"])  # fmt: skip
            return p.format(y=y), None, y - 1, True
        if kind == "until":
            p = self.pick(["until {y}", "up to {y}", "till {y}", "from {y} or earlier", "released up until {y}",
                           "no later than {y}", "made through {y}"])  # fmt: skip
            return p.format(y=y), None, y, True
        if kind == "after":
            p = self.pick(["after {y}", "released after {y}", "newer than {y}", "later than {y}", "post-{y}",
                           "more recent than {y}", "made after {y}", "that came out after {y}", "from after {y}"])  # fmt: skip
            return p.format(y=y), y + 1, None, True
        if kind == "since":
            p = self.pick(["since {y}", "from {y} on", "from {y} onwards", "from {y} onward", "from {y} or later",
                           "released since {y}", "from {y} and later", "starting from {y}", "{y} onwards", "from {y} up to now"])  # fmt: skip
            return p.format(y=y), y, None, True
        if kind == "notbefore":
            p = self.pick(["nothing before {y}", "nothing older than {y}", "nothing released before {y}",
                           "no movies before {y}", "nothing made before {y}", "nothing from before {y}"])  # fmt: skip
            return p.format(y=y), y, None, False
        if kind == "notafter":
            p = self.pick(["nothing after {y}", "nothing newer than {y}", "nothing released after {y}",
                           "no movies after {y}", "nothing made after {y}", "nothing more recent than {y}"])  # fmt: skip
            return p.format(y=y), None, y, False
        if kind == "bounded":  # two bounds in one window: "after 1990 and before 2000"
            a = self.year(1960, self.today - 3)
            b = self.r.randint(a + 2, min(a + 25, self.today))
            p = self.pick(["after {a} and before {b}", "released after {a} but before {b}", "newer than {a} but older than {b}",
                           "from {a} on but before {b}", "before {b} and after {a}", "not before {a} and not after {b}"])  # fmt: skip
            lo = a if p.startswith(("from", "not")) else a + 1
            hi = b if p.startswith("not") else b - 1
            if self.r.random() < 0.15:  # a message that contradicts itself: both read, the state asks
                p, lo, hi = f"before {a} and after {b}", b + 1, a - 1
            return p.format(a=a, b=b), lo, hi, True
        if kind == "between":
            a = self.year(1960, self.today - 3)
            b = self.r.randint(a + 1, min(a + 20, self.today))
            p = self.pick(["between {a} and {b}", "from {a} to {b}", "released between {a} and {b}", "{a}-{b}",
                           "made between {a} and {b}", "from {a} until {b}", "{a} to {b}"])  # fmt: skip
            return p.format(a=a, b=b), a, b, True
        d, start = self.decade()
        if kind == "decade":
            mod = self.pick(["", "", "", "early ", "late ", "mid "])
            lo, hi = start, start + 9
            if mod == "early ":
                hi = start + 4
            elif mod == "late ":
                lo = start + 5
            elif mod == "mid ":
                lo, hi = start + 3, start + 7
            if mod and d in DECADE_WORDS.values():
                mod = ""
                lo, hi = start, start + 9
            p = self.pick(["from the {m}{d}", "from the {m}{d}", "of the {m}{d}", "in the {m}{d}", "made in the {m}{d}",
                           "released in the {m}{d}", "that came out in the {m}{d}"])  # fmt: skip
            return p.format(m=mod, d=d), lo, hi, True
        if kind == "twodecades":
            d2, start2 = self.decade()
            if start2 == start:
                return f"from the {d}", start, start + 9, True
            a, b = sorted([(start, d), (start2, d2)])
            p = self.pick(
                ["from the {a} or {b}", "from the {a} or the {b}", "from the {a} and {b}", "of the {a} or {b}"]
            )
            return p.format(a=a[1], b=b[1]), a[0], b[0] + 9, True
        if kind == "decadeopen":
            p = self.pick(["from the {d} on", "from the {d} onwards", "from the {d} up till now", "from the {d} or later",
                           "from the {d} and later"])  # fmt: skip
            return p.format(d=d), start, None, True
        if kind == "decadebefore":
            p = self.pick(["from before the {d}", "older than the {d}", "made before the {d}", "pre-{d}"])
            return p.format(d=d), None, start - 1, True
        if kind == "decadeafter":
            p = self.pick(["from after the {d}", "made after the {d}", "newer than the {d}", "post-{d}"])
            return p.format(d=d), start + 10, None, True
        if kind == "notbeforedecade":
            p = self.pick(["nothing from before the {d}", "nothing before the {d}", "nothing older than the {d}"])
            return p.format(d=d), start, None, False
        if kind == "lastn":
            n = self.pick([2, 3, 5, 5, 10, 10, 15, 20])
            word = {2: "two", 3: "three", 5: "five", 10: "ten"}.get(n, str(n))
            unit = self.pick([f"{n} years", f"{word} years", f"{n} years"])
            p = self.pick(["from the last {u}", "from the past {u}", "released in the last {u}", "made in the past {u}",
                           "that came out in the last {u}"])  # fmt: skip
            return p.format(u=unit), self.today - n, None, True
        y = self.year(1970)
        p = self.pick(["from {y}", "released in {y}", "that came out in {y}", "made in {y}"])
        return p.format(y=y), y, y, True

    # ------------------------------------------------------------------ families
    def hard_year(self) -> Gen:
        p, lo, hi, after_noun = self.year_phrase()
        g = self.genre() if self.r.random() < 0.5 else None
        noun = self.many(g) if g else self.pick(["movies", "films", "something", "stuff", "ones", "a movie"])
        if after_noun:
            t = self.pick([
                "Only {n} {p} please.", "only {n} {p}", "Show me {n} {p}.", "I want {n} {p}.", "Can you recommend {n} {p}?",
                "{N} {p} only.", "I'm looking for {n} {p}.", "Any {n} {p}?", "{N} {p} please", "Just {n} {p}, thanks.",
                "Give me {n} {p}", "Could you suggest {n} {p}?", "I need {n} {p}", "Please only show {n} {p}.",
                "I'd like {n} {p}.", "Recommend me {n} {p}!", "it has to be {n} {p}", "They must be {n} {p}.",
                "Ok now {n} {p}", "Only ones {p} please.", "What about ones {p}?", "Can you make it {n} {p}?",
                "And only {n} {p} this time.", "{N} {p} would be great", "{N} {p} only please", "{N} {p}, nothing else.",
                "Do you have any {n} {p}?", "only {n} {p}, thanks", "{N} {p} only!",
                "{P}.", "{P}", "{N} {p}.", "{n} {p}?", "{N} {p}",
            ])  # fmt: skip
        else:
            t = self.pick(["{P} please.", "Any {n}, but {p}.", "{P}.", "Show me {n}, {p}", "I want {n} but {p} please",
                           "{P} - I mean it.", "Recommend {n}. {P}!"])  # fmt: skip
        if "{n}" not in t.lower():
            g = None
            noun = "movies"
        text = t.format(n=noun, N=noun[:1].upper() + noun[1:], p=p, P=p[:1].upper() + p[1:])
        only_genre = re.match(r"(only|just|please only|it has to|they must)", t.lower())
        only_genre = only_genre or re.match(r"\{N\} \{p\}(,)? (only|nothing else)", t)
        gen = Gen(text, year_min=lo, year_max=hi, family="hard_year")
        if g:
            if only_genre:
                gen.genres.append(g)
            else:
                gen.liked.append(g)
        return gen

    def decade_combo(self) -> Gen:
        d, start = self.decade()
        g = self.genre()
        t = self.pick(["Only {d} {G}", "only {d} {G} please", "Just {d} {G}.", "{d} {G} only", "Nothing but {d} {G}"])
        gen = Gen(t.format(d=d, G=self.many(g)), genres=[g], year_min=start, year_max=start + 9, family="decade_combo")
        if self.r.random() < 0.5:  # "I would love to watch a 90's comedy": decade hard, genre soft
            t = self.pick(["I would love to watch a {d} {g}.", "I'm looking for a {d} {g}", "Any good {d} {G}?",
                           "Can you suggest a {g} from the {d}?", "I want to see a {g} from the {d} tonight"])  # fmt: skip
            gen = Gen(t.format(d=d, g=self.one(g), G=self.many(g)), liked=[g], year_min=start, year_max=start + 9,
                      family="decade_wish")  # fmt: skip
        return gen

    def must_be_years(self) -> Gen:
        p, lo, hi, _ = self.year_phrase()
        g = self.genre()
        t = self.pick(["A {g}, but it must be {p}.", "I want a {g}, it has to be {p}", "{G1} please, but it needs to be {p}",
                       "Something like a {g}. Must be {p}.", "looking for a {g} but it has to be {p}"])  # fmt: skip
        one = self.one(g)
        return Gen(t.format(g=one, G1=one[:1].upper() + one[1:], p=p), liked=[g], year_min=lo, year_max=hi,
                   family="must_be_years")  # fmt: skip

    def genre_only(self) -> Gen:
        g = self.genre()
        gs = [g]
        many = self.many(g)
        if self.r.random() < 0.2:
            g2 = self.genre((g,))
            gs.append(g2)
            many = f"{many} or {self.many(g2)}"
        t = self.pick(["Only {m} please.", "only {m}", "Just {m}.", "It has to be a {o}.", "Nothing but {m}.",
                       "Strictly {m}.", "{M} only.", "Stick to {m}.", "I only want {m}", "It must be a {o}",
                       "only {m} this time", "Only {m}, nothing else.", "Can you stick to {m}?", "Show me only {m}",
                       "just {m} please", "it needs to be a {o}", "Keep it to {m}."])  # fmt: skip
        if "{o}" in t and len(gs) > 1:
            t = "Only {m}."
        return Gen(t.format(m=many, M=many[:1].upper() + many[1:], o=self.one(g)), genres=gs, family="genre_only")

    def genre_exclude(self) -> Gen:
        g = self.genre()
        gs = [g]
        many = self.many(g)
        if self.r.random() < 0.25:
            g2 = self.genre((g,))
            gs.append(g2)
            many = f"{many} {self.pick(['or', 'and', 'nor', ','])} {self.many(g2)}".replace(" ,", ",")
        t = self.pick([
            "No {m} please.", "no {m}", "Please don't suggest any {m}.", "Exclude {m}.", "exclude {m}", "Anything but {m}.",
            "Something without {m}.", "I don't want {m}.", "Avoid {m}.", "Skip the {m}.", "Nothing with {m}.",
            "Anything except {m}.", "No more {m}!", "Don't show me {m}.", "I don't want to see any {m}.",
            "Please, no {m}.", "Leave out {m}.", "Leave out the {m} please", "Keep {m} out of it.",
            "{M} are off the table.", "I'm not in the mood for {m}.", "Any genre except {m}.",
            "I'm good with anything except {m}", "As long as it's not {m}.", "Not {m}, please.",
            "dont recommend {m}", "Filter out {m}.", "Remove {m} from the list.", "No {m} at all.",
            "I'm open to anything, just no {m}.", "Anything other than {m}.", "Everything but {m}.",
        ])  # fmt: skip
        return Gen(t.format(m=many, M=many[:1].upper() + many[1:]), exclude_genres=gs, family="genre_exclude")

    def genre_like(self) -> Gen:
        g = self.genre()
        t = self.pick(["I'm looking for a {o}.", "I want to watch a {o} tonight", "Maybe a {o}?", "I like {m}.",
                       "I love {m}!", "I'm in the mood for a {o}.", "Any good {m}?", "Recommend me a {o}.",
                       "I really enjoy {m}", "Can you suggest a good {o}?", "I'm a big fan of {m}.",
                       "Something like a {o} would be nice", "My favorite genre is {m}.", "We want a {o} for tonight.",
                       "I'd like to see a {o}", "got any {m}?", "I could go for a {o}."])  # fmt: skip
        return Gen(t.format(o=self.one(g), m=self.many(g)), liked=[g], family="genre_like")

    def genre_dislike(self) -> Gen:
        g = self.genre()
        if self.r.random() < 0.25:  # negation scopes over the whole coordinated list
            g2 = self.genre((g,))
            t = self.pick(["I don't like {a} or {b}.", "I'm not a fan of {a} and {b}", "not really into {a} or {b}"])
            return Gen(t.format(a=self.many(g), b=self.many(g2)), disliked=[g, g2], family="genre_dislike")
        t = self.pick(["I don't like {m}.", "I'm not a fan of {m}.", "I'm not really into {m}.", "I hate {m}.",
                       "{M} aren't my thing.", "I can't stand {m}.", "Preferably not {m}.", "Ideally no {m}.",
                       "I don't really care for {m}", "Not a big fan of {m} tbh", "I never liked {m}.",
                       "Preferably something that is not a {o}.", "I'm not big on {m}.", "I dislike {m}",
                       "My wife doesn't care much for {m}."])  # fmt: skip
        return Gen(t.format(m=self.many(g), M=self.many(g).capitalize(), o=self.one(g)), disliked=[g],
                   family="genre_dislike")  # fmt: skip

    def negative(self) -> Gen:
        """No hard constraint and no soft genre for the genre words it has (narrative, passing, amounts)."""
        g = self.genre()
        d, start = self.decade()
        y = self.year(1960)
        t = self.pick([
            "I grew up in the {d}.", "I was born in {y}.", "It came out in {y}, I think.", "The {d} had great {m}.",
            "My favorite movie is from {y}.", "I saw it in theaters in {y}.", "Back in {y} I watched a lot of movies.",
            "{T} came out in {y}, right?", "I remember watching cartoons in the {d}.", "Movies from the {d} were the best.",
            "What was the best movie of {y}?", "Did you watch a lot of movies in the {d}?", "I like {d} movies, any kind.",
            "Preferably from the {d}, but anything works.", "It doesn't have to be from the {d}.",
            "The sequel in {y} was bad.", "{y} was a great year for movies.", "I'm a {d} kid.", "I'm a {d} baby lol",
            "My brother only watches {m}.", "That's more of an {o} than anything.", "{T} is basically a {o}.",
            "Not too much action please.", "I only watched his movies after {y}.", "The remake from {y} was better.",
            "Have you seen {T}? It's from {y}.", "I think it was released in {y}.", "Ideally something from the {d}.",
            "My dad loves {d} {m}.", "He mostly watches {m} from the {d}.", "Is {T} from the {d}?",
            "I watched {T} in {y} with my family.", "{T} is set in the {d}.", "Any decade is fine.",
            "Thanks, I'll check out {T}!", "Have you seen {T}?", "I loved {T}.", "Haha yes, {T} was great.",
            "Who is in {T}?", "Is {T} any good?", "the {d} were wild", "I haven't seen a good movie since {T}.",
            "We watched a {o} last night.", "My kids watch {m} all day.", "Is {T} a {o}?", "Is {T} from before {y}?",
            "I think {T} is from after {y}.", "The {d} were a golden age for {m}.",
        ])  # fmt: skip
        return Gen(t.format(d=d, y=y, m=self.many(g), o=self.one(g), T=self.title()), family="negative")

    def habit(self) -> Gen:
        """ "I ONLY watch comedies. I want to branch out and watch some dramas": soft Drama, nothing hard."""
        g, g2 = self.genre(), None
        g2 = self.genre((g,))
        t = self.pick(["I only watch {m}. I want to branch out and watch some {m2}.",
                       "I usually only watch {m}, but tonight I want a {o2}.",
                       "If not {m}, do you know any good {m2}?", "I normally just watch {m}, maybe a {o2} for a change?"])  # fmt: skip
        return Gen(t.format(m=self.many(g), m2=self.many(g2), o2=self.one(g2)), liked=[g2], family="habit")

    def question_taste(self) -> Gen:
        g = self.genre()
        d, _ = self.decade()
        t = self.pick(["I really like {d} {m}.", "I love {d} {m}!",
                       "I'm a fan of {m}, especially from the {d}."])  # fmt: skip
        return Gen(t.format(d=d, m=self.many(g)), liked=[g], family="taste")

    # ------------------------------------------------------------------ operators
    def titles_before(self) -> Gen:
        t = self.pick(["I loved {a} and {b}.", "I really liked {a}.", "My favorites are {a} and {b}.",
                       "I just watched {a} and loved it.", "Something like {a} maybe."])  # fmt: skip
        return Gen(t.format(a=self.title(), b=self.title()), family="titles")

    def with_exclusion(self, gen: Gen) -> Gen:
        """A wish and an exclusion in one sentence: "something from the 90s, no horror"."""
        g = self.genre(tuple(gen.genres + gen.liked))
        m = self.many(g)
        tail = self.pick([", no {m}", ", no {m} please", " but no {m}", " without {m}", ", nothing with {m}",
                          " and no {m}", ", but not {m}", " - no {m}!", ", just no {m}", ", anything but {m}"])  # fmt: skip
        text = gen.text.rstrip(".!?") + tail.format(m=m) + self.pick([".", "", "!", " thanks"])
        return Gen(text, gen.genres, gen.exclude_genres + [g], gen.year_min, gen.year_max, gen.liked, gen.disliked,
                   family=gen.family + "+exclusion")  # fmt: skip

    def noise(self, text: str) -> str:
        r = self.r.random()
        if r < 0.2:
            text = text.lower()
        elif r < 0.3:
            text = re.sub(r"[.!,?]", "", text).lower()
        if self.r.random() < 0.25:
            words = text.split(" ")
            i = self.r.randrange(len(words))
            w = words[i]
            if len(w) >= 4 and w.isalpha() and not PROTECTED.match(w.lower()) and not self._genre_word(w):
                j = self.r.randrange(len(w) - 1)
                words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :] if self.r.random() < 0.6 else w[:j] + w[j + 1 :]
            text = " ".join(words)
        return text

    def _genre_word(self, w: str) -> bool:
        w = w.lower()
        return any(w in f for forms in GENRE_FORMS.values() for fs in forms for f in fs)

    def message(self) -> Gen:
        fam = self.r.random()
        if fam < 0.24:
            gen = self.hard_year()
        elif fam < 0.32:
            gen = self.decade_combo()
        elif fam < 0.37:
            gen = self.must_be_years()
        elif fam < 0.47:
            gen = self.genre_only()
        elif fam < 0.60:
            gen = self.genre_exclude()
        elif fam < 0.68:
            gen = self.genre_like()
        elif fam < 0.74:
            gen = self.genre_dislike()
        elif fam < 0.92:
            gen = self.negative()
        elif fam < 0.96:
            gen = self.habit()
        else:
            gen = self.question_taste()
        r = self.r.random()
        joiner = self.pick([" ", " ", "  ", " and ", ", ", " so "])
        if r < 0.15:
            gen = self.titles_before().merge(gen, self.pick([" ", " Recommend something similar. ", " "]))
        elif r < 0.3 and gen.family != "negative":  # a narrative remark next to a real wish
            neg = self.negative()
            gen = neg.merge(gen, joiner) if self.r.random() < 0.5 else gen.merge(neg, joiner)
        elif r < 0.38 and gen.family in ("genre_exclude", "genre_only"):
            gen = gen.merge(self.hard_year(), joiner) if self.r.random() < 0.5 else gen
        elif r < 0.6 and gen.family in ("hard_year", "decade_wish", "must_be_years"):
            gen = self.with_exclusion(gen)
        gen.text = self.noise(gen.text)
        return gen


def generate(n: int, seed: int, genres: list[str], titles: list[str], today: int) -> list[dict]:
    """``n`` messages with their gold readings (same seed, same messages)."""
    p = Phrasings(seed, genres, titles, today)
    out, seen = [], set()
    while len(out) < n:
        g = p.message()
        if g.text in seen:
            continue
        seen.add(g.text)
        out.append(g.as_label())
    return out
