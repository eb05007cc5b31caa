"""Treat user text and item text as data: bounded, without control characters."""

from __future__ import annotations

import re
import unicodedata

from recagent.errors import UserError

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


class MessageTooLongError(UserError):
    code = "message_too_long"
    status = 422


def clean_text(text: str) -> str:
    """Strip control and bidi-override characters; keep newlines and tabs; normalise to NFC."""
    text = unicodedata.normalize("NFC", text)
    return _CONTROL.sub("", text).strip()


def clean_message(text: str, max_chars: int) -> str:
    text = clean_text(text)
    if len(text) > max_chars:
        raise MessageTooLongError(f"message is {len(text)} characters; the limit is {max_chars}")
    return text


def for_prompt(text: str, max_chars: int = 300) -> str:
    """Item or user text placed inside a prompt's data block: one line, bounded, no tag breakout."""
    text = clean_text(text).replace("\n", " ")
    text = re.sub(r"</?\s*data\s*>", "", text, flags=re.IGNORECASE)
    return text[:max_chars]


def leaks(text: str, secret: str, window: int = 40) -> bool:
    """True when ``text`` repeats any ``window``-character run of ``secret`` (e.g. the system prompt)."""
    t = " ".join(text.lower().split())
    s = " ".join(secret.lower().split())
    if len(s) < window:
        return bool(s) and s in t
    return any(s[i : i + window] in t for i in range(0, len(s) - window + 1, window // 2))
