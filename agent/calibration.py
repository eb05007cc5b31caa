"""How much the LLM's score counts when it is fused with retrieval, chosen on validation data.

``recagent eval calibrate CONFIG`` (``recagent.evals.calibrate``) reranks a protocol's validation
cases once per LLM variant, sweeps the fusion weight ``w`` over a grid that includes 0
(final score = (1 - w) x normalised retrieval score + w x normalised LLM score), and writes the
best ``w`` for the variant's (model, template, mode) to a calibration file. The reranker looks the
weight up here; at ``w = 0`` it does not call the LLM at all.

Where a weight comes from, highest first:

1. ``RerankSettings.llm_weight`` (``RECAGENT_RERANK__LLM_WEIGHT``), for everything;
2. the user's calibration files: ``RerankSettings.calibration`` (a path), then
   ``DATA_DIR/calibration.json`` (where ``eval calibrate`` writes by default);
3. the calibration shipped with recagent (``agent/calibration.json``: the bundled model);
4. for a (model, template, mode) nobody calibrated: ``UNCALIBRATED`` (the LLM's order in generative
   mode, the 50/50 fusion in scoring mode: what recagent did before calibration existed).

One key may have been calibrated on several protocols (e.g. a MovieLens history protocol and a
conversational one): the smallest of their weights applies, so the LLM step is held to the one
where it helped least.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from importlib.resources import files
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from recagent.errors import ConfigError

SHIPPED = Path(str(files("recagent.agent") / "calibration.json"))
UNCALIBRATED = {"generative": 1.0, "scoring": 0.5}


class CalibrationKey(BaseModel):
    """What a weight is calibrated for: the model, the prompt template and the ranking mode."""

    model: str = Field(description="llama_cpp:FILE.gguf:SIZE, or openai:BASE_URL:MODEL")
    template: str = Field(description="NAME@vVERSION#HASH of the rerank template")
    mode: str


class GridPoint(BaseModel):
    weight: float
    metric: float = Field(description="the protocol's main metric on the validation cases at this weight")
    delta_ci95: tuple[float, float] | None = Field(
        None, description="paired bootstrap 95% interval of the metric's difference from weight 0"
    )


class CalibrationEntry(CalibrationKey):
    weight: float = Field(ge=0, le=1)
    protocol: str
    stage: str = "valid"
    metric_name: str
    cases: int = Field(description="validation cases scored")
    llm_cases: int = Field(0, description="cases where the LLM was asked (target among the candidates)")
    candidates: int
    bootstrap: int
    grid: list[GridPoint] = Field(default_factory=list)
    config: str | None = None
    created: str = Field(default_factory=lambda: datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))

    def key(self) -> tuple[str, str, str]:
        return (self.model, self.template, self.mode)


class CalibrationFile(BaseModel):
    entries: list[CalibrationEntry] = Field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> CalibrationFile:
        path = Path(path)
        if not path.is_file():
            return cls()
        try:
            return cls.model_validate_json(path.read_text(encoding="utf-8"))
        except (ValidationError, ValueError) as e:
            raise ConfigError(f"{path}: not a calibration file ({str(e).splitlines()[0]})") from None

    def upsert(self, entry: CalibrationEntry) -> None:
        """Replace the entry for the same key and protocol, or add it."""
        self.entries = [e for e in self.entries if (e.key(), e.protocol) != (entry.key(), entry.protocol)]
        self.entries.append(entry)

    def write(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.model_dump(mode="json"), indent=1) + "\n", encoding="utf-8")
        return path


class Weight(BaseModel):
    """The weight the reranker uses, and where it came from (reported in every response)."""

    value: float
    source: str = Field(description="settings | calibration FILE (PROTOCOLS) | uncalibrated")


class Calibrations:
    """Every calibration file that applies, the user's first; looks up a key's weight."""

    def __init__(self, files_: list[tuple[Path, CalibrationFile]], override: float | None = None):
        self.files = files_
        self.override = override

    @classmethod
    def load(cls, paths: list[Path], override: float | None = None) -> Calibrations:
        return cls([(Path(p), CalibrationFile.read(p)) for p in paths], override)

    def weight(self, key: CalibrationKey) -> Weight:
        if self.override is not None:
            return Weight(value=self.override, source="settings")
        for path, cal in self.files:  # the first file with the key wins; within it the smallest weight
            hits = [e for e in cal.entries if e.key() == (key.model, key.template, key.mode)]
            if hits:
                best = min(hits, key=lambda e: e.weight)
                protocols = ", ".join(sorted(f"{e.protocol} {e.weight:g}" for e in hits))
                return Weight(value=best.weight, source=f"calibration {path.name} ({protocols})")
        return Weight(value=UNCALIBRATED.get(key.mode, 1.0), source="uncalibrated")


def calibration_paths(data_dir: Path, extra: Path | None = None) -> list[Path]:
    """The files a Recommender reads, the user's first, the shipped one last."""
    paths = [Path(extra)] if extra else []
    return [*paths, Path(data_dir) / "calibration.json", SHIPPED]


def model_key(backend) -> str:
    """A backend's model identity: the GGUF file's name and size, or the server and model name."""
    inner = getattr(backend, "inner", backend)  # through the eval harness's caching wrapper
    path = getattr(inner, "path", None)
    if path is not None:
        return f"{inner.name}:{Path(path).name}:{Path(path).stat().st_size}"
    base = getattr(inner, "base_url", None) or ""
    return f"{inner.name}:{base}:{inner.model}"
