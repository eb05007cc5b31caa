"""The LLM's reading of a chat message, in the same fields as the parser's, and how the two combine.

Understanding modes (``Settings.understanding``):

* ``parser``: the deterministic parser alone (no LLM call; the default: the bundled 135M model adds
  little and costs ~2.5 s a turn);
* ``hybrid``: the parser, plus what the LLM adds: titles that literally occur in the message, soft
  genres, critiques and topics the parser missed. Hard constraints and follow-up moves stay the
  parser's: the parser wins every conflict;
* ``llm``: the LLM's reading of titles, soft and hard wishes, with the parser's follow-up moves (list
  positions, reset, repeat); the parser's reading stands in when the call fails.

The LLM's output is never trusted: the JSON schema constrains it (genres to the catalog's, critiques
to the shared vocabulary), it is validated, titles must occur in the message, and every call records
a :class:`~recagent.agent.schema.ReplyCheck` (``stage="understanding"``), failures included.
"""

from __future__ import annotations

import copy
import time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from recagent.agent.backends.base import ChatMessage, CompletionRequest, LLMBackend
from recagent.agent.reading.model import HardConstraint, TitleMention, Understanding
from recagent.agent.reading.text import fold_text
from recagent.agent.safety import for_prompt
from recagent.agent.schema import ReplyCheck
from recagent.agent.structured import StructuredCallError, call_structured, model_checker
from recagent.agent.vocabulary import Stance
from recagent.prompts import load_template
from recagent.retrieval.base import Critique, CritiqueAttribute

Mode = Literal["parser", "hybrid", "llm"]
GENRE_FIELDS = ("liked_genres", "disliked_genres", "hard_genres", "exclude_genres")

# The JSON schema (the grammar the model writes under) is derived from the models below. Bounds that
# only shape what the model may write (list lengths, year range, lengths of words, the required fields)
# are schema-only (``json_schema_extra``): validation stays as lenient as the parsing of the reply was.
_Genres = Annotated[list[str], Field(default_factory=list, json_schema_extra={"maxItems": 4})]
_Year = Annotated[int, Field(json_schema_extra={"minimum": 1900, "maximum": 2030})]
_Words = Annotated[
    list[Annotated[str, Field(json_schema_extra={"maxLength": 40})]],
    Field(default_factory=list, json_schema_extra={"maxItems": 3}),
]


class LLMMention(BaseModel):
    """A title the LLM read, with the user's stance on it."""

    model_config = ConfigDict(json_schema_extra={"required": ["title", "stance"], "additionalProperties": False})

    title: str = Field(max_length=80)
    stance: Stance = "neutral"


class LLMCritique(BaseModel):
    """A critique as the LLM writes it: attribute and direction (the weight is not the model's to set)."""

    model_config = ConfigDict(extra="forbid")

    attribute: CritiqueAttribute
    direction: Literal[-1, 1]


class LLMReading(BaseModel):
    """The LLM's reading; its JSON schema (:func:`reading_schema`) is this model's."""

    model_config = ConfigDict(
        json_schema_extra={
            "required": ["mentions", "liked_genres", "disliked_genres", "critiques"],
            "additionalProperties": False,
        }
    )

    mentions: list[LLMMention] = Field(default_factory=list, json_schema_extra={"maxItems": 4})
    liked_genres: _Genres
    disliked_genres: _Genres
    hard_genres: _Genres
    exclude_genres: _Genres
    year_min: _Year | None = None
    year_max: _Year | None = None
    critiques: list[LLMCritique] = Field(default_factory=list, json_schema_extra={"maxItems": 3})
    topics: _Words
    people: _Words


class ReadingResult(BaseModel):
    """An LLM call's reading (None when it failed) and its check; never None itself."""

    reading: LLMReading | None
    check: ReplyCheck


_ANNOTATIONS = ("title", "description", "default", "$defs")


def _inline(node, defs: dict):
    """A pydantic JSON schema as the grammar converter reads it best: references inlined, annotations
    (titles, descriptions, defaults: they do not constrain what is written) dropped."""
    if isinstance(node, list):
        return [_inline(x, defs) for x in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _inline(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
    out = {k: _inline(v, defs) for k, v in node.items() if k not in _ANNOTATIONS}
    if "properties" in node:  # property names are names, not annotations
        out["properties"] = {name: _inline(v, defs) for name, v in node["properties"].items()}
    return out


_READING_SCHEMA = LLMReading.model_json_schema()
_READING_SCHEMA = _inline(_READING_SCHEMA, _READING_SCHEMA.get("$defs", {}))


def reading_schema(genre_vocab: list[str]) -> dict:
    """:class:`LLMReading`'s JSON schema, its genre lists limited to the catalog's genres."""
    schema = copy.deepcopy(_READING_SCHEMA)
    for field in GENRE_FIELDS:
        schema["properties"][field]["items"]["enum"] = list(genre_vocab)
    return schema


def needs_llm(parsed: Understanding, message: str) -> bool:
    """Not worth a call for a follow-up move or a few words."""
    if parsed.reset or parsed.references or parsed.older or parsed.newer or parsed.repeat:
        return False
    return len(message.split()) >= 4


def _reason(e: Exception) -> str:
    return f"{type(e).__name__}: {str(e).splitlines()[0][:200]}" if str(e) else type(e).__name__


def llm_reading(backend: LLMBackend, message: str, genre_vocab: list[str], max_tokens: int = 160) -> ReadingResult:
    """Ask the LLM to read the message, once (no repair: the parser's reading stands in). A failure is a
    result with ``reading=None`` and the reason in the check."""
    prompt = load_template("query_understanding").render(message=for_prompt(message, 1000), genres=", ".join(genre_vocab))
    request = CompletionRequest(
        messages=[ChatMessage(**m) for m in prompt.messages()],
        json_schema=reading_schema(genre_vocab),
        max_tokens=max_tokens,
    )
    t0 = time.perf_counter()
    try:
        reading = call_structured(backend, request, model_checker(LLMReading, _reason), attempts=1, describe=_reason)
    except StructuredCallError as e:
        ms = round((time.perf_counter() - t0) * 1000, 2)
        failed = e.checks[-1].model_copy(update={"stage": "understanding", "latency_ms": ms})
        return ReadingResult(reading=None, check=failed)
    ms = round((time.perf_counter() - t0) * 1000, 2)
    vocab = set(genre_vocab)
    for field in ("liked_genres", "disliked_genres", "hard_genres", "exclude_genres"):
        setattr(reading, field, [g for g in getattr(reading, field) if g in vocab])
    return ReadingResult(
        reading=reading, check=ReplyCheck(valid=True, returned=len(reading.mentions), stage="understanding", latency_ms=ms)
    )


def _present(title: str, low: str) -> bool:
    t = fold_text(title).strip()
    return len(t) >= 3 and t in low


def merge(parsed: Understanding, reading: LLMReading | None, message: str, mode: Mode = "hybrid") -> Understanding:
    """Combine the parser's reading with the LLM's. ``hybrid``: the parser's plus the LLM's additions, the
    parser winning conflicts. ``llm``: the LLM's titles, genres, critiques and constraints with the
    parser's follow-up moves. No reading (a failed call): the parser's reading, unchanged."""
    if reading is None:
        return parsed
    low = fold_text(message)
    out = parsed.model_copy(deep=True)
    llm_mentions = [
        TitleMention(text=m.title.strip(), stance=m.stance, origin="llm", start=low.find(fold_text(m.title).strip()))
        for m in reading.mentions
        if _present(m.title, low)  # a weak model invents titles: only those in the message count
    ]
    llm_genres = {g: 0.7 for g in reading.liked_genres} | {g: -0.7 for g in reading.disliked_genres}
    if mode == "llm":
        out.mentions = llm_mentions
        out.genres = llm_genres | {g: 1.0 for g in reading.hard_genres} | {g: -1.0 for g in reading.exclude_genres}
        out.critiques = [Critique(attribute=c.attribute, direction=c.direction) for c in reading.critiques]
        out.topics = list(dict.fromkeys(reading.topics))
        out.people = list(dict.fromkeys(p.lower() for p in reading.people if _present(p, low)))
        hard = [HardConstraint(kind="genre", value=g, origin="llm") for g in reading.hard_genres]
        hard += [HardConstraint(kind="exclude_genre", value=g, origin="llm") for g in reading.exclude_genres]
        if reading.year_min is not None:
            hard.append(HardConstraint(kind="year_min", value=reading.year_min, origin="llm", phrase=f"from {reading.year_min}"))
        if reading.year_max is not None:
            hard.append(HardConstraint(kind="year_max", value=reading.year_max, origin="llm", phrase=f"up to {reading.year_max}"))
        out.hard = hard
        return out
    taken = {fold_text(m.text) for m in parsed.mentions}
    for m in llm_mentions:
        key = fold_text(m.text)
        if not any(key in t or t in key for t in taken):
            out.mentions.append(m)
            taken.add(key)
    for g, w in llm_genres.items():
        out.genres.setdefault(g, w)
    have = {c.attribute for c in parsed.critiques}
    out.critiques += [
        Critique(attribute=c.attribute, direction=c.direction) for c in reading.critiques if c.attribute not in have
    ]
    out.topics += [t for t in reading.topics if t.lower() in low and t not in out.topics]
    people = {p.lower() for p in reading.people if _present(p, low)}
    out.people += [p for p in sorted(people) if p not in out.people]
    return out
