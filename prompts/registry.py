"""Load, validate and render prompt templates."""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path

import jinja2
import yaml
from pydantic import BaseModel, ConfigDict, Field

from recagent.errors import ConfigError, ServiceError

TEMPLATES_DIR = Path(__file__).parent / "templates"
_FILE = re.compile(r"^(?P<name>[a-z0-9_]+)\.v(?P<version>\d+)\.yaml$")
_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, autoescape=False)


class PromptRenderError(ServiceError):
    """A shipped or configured template does not render with the variables the code passes: a bug, a 500."""

    code = "prompt_render_error"


class RenderedPrompt(BaseModel):
    name: str
    version: int
    hash: str
    system: str
    user: str

    def messages(self) -> list[dict[str, str]]:
        return [{"role": "system", "content": self.system}, {"role": "user", "content": self.user}]


class PromptTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: int = Field(ge=1)
    description: str
    variables: list[str] = Field(description="variables the template needs; rendering checks them")
    system: str
    user: str
    hash: str = ""

    def render(self, **variables) -> RenderedPrompt:
        missing = [v for v in self.variables if v not in variables]
        if missing:
            raise PromptRenderError(f"prompt {self.name} v{self.version} needs variable(s) {', '.join(missing)}")
        try:
            system = _ENV.from_string(self.system).render(**variables).strip()
            user = _ENV.from_string(self.user).render(**variables).strip()
        except jinja2.UndefinedError as e:
            raise PromptRenderError(f"prompt {self.name} v{self.version}: {e.message}") from None
        return RenderedPrompt(name=self.name, version=self.version, hash=self.hash, system=system, user=user)


def _parse(path: Path) -> PromptTemplate:
    m = _FILE.match(path.name)
    if not m:
        raise ConfigError(f"prompt file {path} must be named NAME.vVERSION.yaml")
    raw = path.read_bytes()
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as e:
        raise ConfigError(f"prompt file {path} is not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"prompt file {path} must hold a mapping")
    if data.get("name") != m["name"] or data.get("version") != int(m["version"]):
        raise ConfigError(f"prompt file {path}: name/version inside must match the file name")
    try:
        for part in ("system", "user"):
            _ENV.parse(data.get(part, ""))
        return PromptTemplate(**data, hash=hashlib.sha256(raw).hexdigest()[:12])
    except (jinja2.TemplateSyntaxError, ValueError) as e:
        raise ConfigError(f"prompt file {path} is invalid: {e}") from None


@cache
def _all(directory: Path) -> dict[tuple[str, int], PromptTemplate]:
    return {(t.name, t.version): t for t in map(_parse, sorted(directory.glob("*.yaml")))}


def list_templates(directory: Path = TEMPLATES_DIR) -> list[PromptTemplate]:
    return sorted(_all(Path(directory)).values(), key=lambda t: (t.name, t.version))


def load_template(name: str, version: int | None = None, directory: Path = TEMPLATES_DIR) -> PromptTemplate:
    """A template by name; the newest version unless one is given."""
    templates = _all(Path(directory))
    versions = sorted(v for (n, v) in templates if n == name)
    if not versions:
        known = sorted({n for n, _ in templates})
        raise ConfigError(f"unknown prompt template {name!r} (known: {', '.join(known)})")
    if version is None:
        version = versions[-1]
    if (name, version) not in templates:
        raise ConfigError(f"prompt template {name!r} has no version {version} (has: {versions})")
    return templates[(name, version)]
