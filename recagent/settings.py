"""One settings object for the whole of recagent.

Values come from (highest first): explicit keyword arguments (CLI flags),
environment variables prefixed ``RECAGENT_`` (nested fields use ``__``, e.g.
``RECAGENT_MF__FACTORS=128``), a ``.env`` file, then the defaults below.
Nothing deeper in the code reads the environment: components receive the
values they need from this object.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

BUNDLED = "bundled"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MFSettings(_Strict):
    """Alternating least squares (implicit) on the interaction matrix."""

    factors: int = Field(64, ge=1)
    iterations: int = Field(15, ge=1)
    regularization: float = Field(0.05, ge=0)
    alpha: float = Field(2.0, gt=0, description="confidence = 1 + alpha * value")
    seed: int = 0


class FusionSettings(_Strict):
    """Reciprocal-rank fusion of the candidate sources."""

    rrf_k: float = Field(60.0, gt=0)
    vector_weight: float = Field(1.0, ge=0)
    mf_weight: float = Field(1.0, ge=0)
    popularity_weight: float = Field(0.2, ge=0)
    per_source: int = Field(100, ge=1, description="candidates fetched from each source before fusion")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RECAGENT_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    data_dir: Path = Field(
        default_factory=lambda: platformdirs.user_data_path("recagent"),
        description="where the vector store, models and sessions live",
    )
    catalog: str = Field(BUNDLED, description="'bundled' or a path to a catalog folder or file")
    catalog_format: Literal["auto", "movielens", "ml100k", "table"] = "auto"
    interactions: Path | None = Field(None, description="interaction log for a 'table' catalog")
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="column mapping for a 'table' catalog, e.g. {'id': 'asin', 'title': 'name'}",
    )
    embedding_model: str = Field(BUNDLED, description="'bundled' (all-MiniLM-L6-v2) or a local model path")
    embedding_batch_size: int = Field(64, ge=1)
    chroma_host: str | None = Field(None, description="use a Chroma server instead of the embedded store")
    chroma_port: int = 8000
    collection: str | None = Field(None, description="Chroma collection name; derived from the catalog if unset")
    candidates: int = Field(50, ge=1, description="how many fused candidates retrieval returns")
    blas_threads: int | None = Field(
        1,
        ge=1,
        description="BLAS threads in this process (None: leave as is). One is fastest for per-request "
        "scoring on small machines: idle BLAS threads take ~4-8 ms to wake. ALS training and torch use "
        "their own OpenMP threads and are not affected.",
    )
    mf: MFSettings = Field(default_factory=MFSettings)
    fusion: FusionSettings = Field(default_factory=FusionSettings)

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"
