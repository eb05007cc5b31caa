"""One vocabulary: the stances, origins and critiques every reader, the dialogue state and the eval share,
and the LLM reading's JSON schema derived from its model (the grammar it had when it was written by hand)."""

from __future__ import annotations

import re
import typing

from recagent.agent import vocabulary as v
from recagent.agent.reading.llm import LLMMention, reading_schema
from recagent.agent.reading.model import HardConstraint, ListReference, TitleMention
from recagent.agent.reading.patterns import CRITIQUES
from recagent.agent.state.model import ChatState, Mention
from recagent.evals import understanding as ue
from recagent.retrieval.attributes import ATTRIBUTES
from recagent.retrieval.base import Critique, CritiqueAttribute


def test_every_stance_field_uses_the_one_stance_type():
    for model, field in [
        (TitleMention, "stance"),
        (ListReference, "stance"),
        (Mention, "stance"),
        (LLMMention, "stance"),
        (ue.Mention, "stance"),
    ]:
        assert model.model_fields[field].annotation == v.Stance, f"{model.__name__}.{field}"
    assert v.STANCES == ("liked", "disliked", "seen", "want", "asking", "neutral")


def test_the_state_keeps_its_hard_constraints_in_the_readers_model():
    assert typing.get_args(ChatState.model_fields["constraints"].annotation) == (HardConstraint,)
    assert HardConstraint.model_fields["origin"].annotation == v.Origin


def test_every_critique_attribute_has_words_to_read_it_and_phrases_to_say_it():
    assert Critique.model_fields["attribute"].annotation == CritiqueAttribute
    assert ATTRIBUTES == typing.get_args(CritiqueAttribute)
    read = {attribute for _, attribute, _ in v.CRITIQUE_WORDS}
    assert read == set(ATTRIBUTES)
    said = set(v.CRITIQUE_PHRASES)
    assert said == {(a, d) for a in ATTRIBUTES for d in (-1, 1)}
    assert {(a, d) for _, a, d in CRITIQUES} == {(a, d) for _, a, d in v.CRITIQUE_WORDS}, "compiled from the words"


def test_the_version_cue_names_the_version_asked_for():
    m = v.VERSION_CUE.search("i want to watch the new ")
    assert m and m["cue"] in v.NEWER
    assert v.VERSION_CUE.search("the original ")["cue"] not in v.NEWER
    assert not re.search(v.VERSION_CUE, "the ghostbusters")


# the schema llm_reading wrote by hand before it was derived from LLMReading: the grammar must not change
_HAND_WRITTEN = {
    "type": "object",
    "properties": {
        "mentions": {
            "type": "array",
            "maxItems": 4,
            "items": {
                "type": "object",
                "properties": {
                    "title": {"type": "string", "maxLength": 80},
                    "stance": {"type": "string", "enum": ["liked", "disliked", "seen", "want", "asking", "neutral"]},
                },
                "required": ["title", "stance"],
                "additionalProperties": False,
            },
        },
        **{
            f: {"type": "array", "items": {"type": "string", "enum": ["Comedy", "Horror"]}, "maxItems": 4}
            for f in ("liked_genres", "disliked_genres", "hard_genres", "exclude_genres")
        },
        "year_min": {"anyOf": [{"type": "integer", "minimum": 1900, "maximum": 2030}, {"type": "null"}]},
        "year_max": {"anyOf": [{"type": "integer", "minimum": 1900, "maximum": 2030}, {"type": "null"}]},
        "critiques": {
            "type": "array",
            "maxItems": 3,
            "items": {
                "type": "object",
                "properties": {
                    "attribute": {
                        "type": "string",
                        "enum": ["violence", "darkness", "humor", "scariness", "family", "recency", "popularity"],
                    },
                    "direction": {"type": "integer", "enum": [-1, 1]},
                },
                "required": ["attribute", "direction"],
                "additionalProperties": False,
            },
        },
        "topics": {"type": "array", "items": {"type": "string", "maxLength": 40}, "maxItems": 3},
        "people": {"type": "array", "items": {"type": "string", "maxLength": 40}, "maxItems": 3},
    },
    "required": ["mentions", "liked_genres", "disliked_genres", "critiques"],
    "additionalProperties": False,
}


def test_the_llm_readings_schema_is_its_model_and_the_grammar_it_always_was():
    schema = reading_schema(["Comedy", "Horror"])
    assert schema == _HAND_WRITTEN
    assert list(schema["properties"]) == list(_HAND_WRITTEN["properties"]), "the grammar writes fields in this order"
    assert reading_schema([])["properties"]["liked_genres"]["items"]["enum"] == []
    assert reading_schema(["Drama"]) != schema and reading_schema(["Comedy", "Horror"]) == schema, "no shared state"
