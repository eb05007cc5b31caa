"""The layers a newcomer sees in the tree hold in the code: every import points down, never up.

    foundation (recagent/errors.py, settings.py, threads.py, machine.py)
      -> retrieval/ -> prompts/ -> agent/ -> recagent/parts.py, recagent/recommender.py (the façade)
      -> shells: recagent/cli/, recagent/server/; evals/ measures through the façade

Checked on the source (every ``import`` and ``from ... import``, at any depth, lazy ones too), so an
import added inside a function is caught as well.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# folder (or file) -> the recagent modules it may not import (prefix match on the dotted name)
FORBIDDEN = {
    "recagent/errors.py": ["recagent."],
    "recagent/settings.py": ["recagent."],
    "recagent/threads.py": ["recagent."],
    "retrieval": ["recagent.agent", "recagent.prompts", "recagent.evals", "recagent.cli", "recagent.server",
                  "recagent.recommender", "recagent.parts"],
    "prompts": ["recagent.agent", "recagent.evals", "recagent.cli", "recagent.server", "recagent.recommender",
                "recagent.parts"],
    "agent": ["recagent.evals", "recagent.cli", "recagent.server", "recagent.recommender", "recagent.parts"],
    "recagent/parts.py": ["recagent.evals", "recagent.cli", "recagent.server", "recagent.recommender"],
    "recagent/recommender.py": ["recagent.evals", "recagent.cli", "recagent.server"],
    "recagent/server": ["recagent.evals", "recagent.cli"],
    "evals": ["recagent.server"],
}  # fmt: skip
# third-party stores the agent never reaches into (it receives candidates)
FORBIDDEN_THIRD_PARTY = {"agent": ["chromadb", "implicit", "sentence_transformers"]}


def imports_of(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
    return out


def files_of(where: str) -> list[Path]:
    target = ROOT / where
    return [target] if target.suffix == ".py" else sorted(target.rglob("*.py"))


@pytest.mark.parametrize("where", sorted(FORBIDDEN))
def test_imports_point_down(where):
    files = files_of(where)
    assert files, f"{where} has no Python files: the layer map is out of date"
    bad = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in files
        for line, name in imports_of(path)
        for banned in FORBIDDEN[where] + FORBIDDEN_THIRD_PARTY.get(where, [])
        if name == banned.rstrip(".") or name.startswith(banned.rstrip(".") + ".")
    ]
    assert not bad, "imports that point up a layer:\n" + "\n".join(bad)


def test_the_cli_reaches_the_evals_only_through_their_sub_app():
    names = [(p, line, n) for p in files_of("recagent/cli") for line, n in imports_of(p) if n.startswith("recagent.evals")]
    assert [n for _, _, n in names] == ["recagent.evals.cli"], names


def test_the_check_sees_an_upward_import(tmp_path):
    """The checker itself: a lazy import inside a function is found."""
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from recagent.evals.harness import run\n    return run\n")
    assert imports_of(probe) == [(2, "recagent.evals.harness")]
