"""Fusing the LLM's scores with retrieval's, at a weight calibrated for the model, template and mode.

``(1 - w) x retrieval + w x LLM``, both normalised to a maximum of 1. ``w`` is looked up in the
calibration files (:mod:`recagent.agent.calibration`) under the backend's model, the rerank
template's ``NAME@vVERSION#HASH`` and the mode, so a new template or model is uncalibrated until
someone calibrates it. At ``w = 0`` the LLM is not called at all.
"""

from __future__ import annotations

import numpy as np

from recagent.agent.calibration import CalibrationKey, model_key
from recagent.prompts import PromptTemplate
from recagent.retrieval.base import Candidate


def calibration_key(backend, template: PromptTemplate, mode: str) -> CalibrationKey:
    """What the fusion weight of this backend's model, template and mode is calibrated under."""
    return CalibrationKey(
        model=model_key(backend), template=f"{template.name}@v{template.version}#{template.hash}", mode=mode
    )


def fuse(
    shown: list[Candidate], llm: dict[str, float], weight: float, llm_order: list[str]
) -> tuple[list[str], dict[str, float]]:
    """``(1 - weight) x retrieval score / max + weight x LLM score`` over the candidates the LLM was
    shown (a candidate it left out scores 0 for the LLM). Ties go to the LLM's order, then retrieval's.
    Returns (ids in fused order, fused score by id)."""
    ids = [c.item_id for c in shown]
    retr = np.array([c.score for c in shown], dtype=float)
    retr = retr / retr.max() if retr.max() > 0 else retr
    final = (1 - weight) * retr + weight * np.array([llm.get(i, 0.0) for i in ids])
    where = {iid: n for n, iid in enumerate(llm_order)}
    rank = np.lexsort((np.arange(len(ids)), [where.get(i, len(ids)) for i in ids], -np.round(final, 9)))
    return [ids[j] for j in rank], {ids[j]: float(final[j]) for j in range(len(ids))}
