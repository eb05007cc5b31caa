"""Fitting a rerank prompt into its token budget.

A small model has a small context, and the history summary and the request are the user's text, of
any length. The prompt is rendered, measured with the backend's tokenizer (four characters a token
without one), and shrunk until it fits: the history first (it is a summary), then the request, each
down to a floor, and only then candidates from the tail (the weakest by retrieval).
"""

from __future__ import annotations

from collections.abc import Callable

from recagent.agent.safety import for_prompt
from recagent.prompts import PromptTemplate, RenderedPrompt
from recagent.retrieval.base import Candidate

LABELS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # the scoring mode's candidate labels (at most 26 candidates)
HISTORY_FLOOR = 120  # characters of history kept before the request is shortened
REQUEST_FLOOR = 160  # characters of request kept before candidates are dropped
MIN_CANDIDATES = 2


def candidate_rows(cands: list[Candidate], labelled: bool) -> list[dict]:
    """The template's rows: id, label (scoring mode), bounded title and first genres."""
    return [
        {
            "item_id": c.item_id,
            "label": LABELS[i] if labelled else "",
            "title": for_prompt(c.title, 80),
            "genres": for_prompt(", ".join(c.genres[:3]), 60) or "-",
        }
        for i, c in enumerate(cands)
    ]


def _shorter(text: str) -> str:
    return text[: int(len(text) * 0.7)].rsplit(" ", 1)[0] + "..."


def fit_prompt(
    template: PromptTemplate,
    *,
    domain: str,
    history: str,
    request: str,
    cands: list[Candidate],
    k: int,
    labelled: bool,
    budget: int,
    count: Callable[[str], int] | None = None,
) -> tuple[RenderedPrompt, list[Candidate]]:
    """The rendered prompt within ``budget`` tokens (system + user text) and the candidates it shows."""
    count = count or (lambda t: max(1, len(t) // 4))
    history = for_prompt(history, 600)
    request = for_prompt(request, 400) or "(none: recommend from the profile)"
    kept = list(cands)

    def build() -> RenderedPrompt:
        return template.render(
            domain=domain,
            history=history,
            request=request,
            candidates=candidate_rows(kept, labelled),
            k=min(k, len(kept)),
        )

    prompt = build()
    while count(prompt.system + prompt.user) > budget:
        if len(history) > HISTORY_FLOOR:
            history = _shorter(history)
        elif len(request) > REQUEST_FLOOR:
            request = _shorter(request)
        elif len(kept) > MIN_CANDIDATES:
            kept.pop()
        else:
            break
        prompt = build()
    return prompt, kept
