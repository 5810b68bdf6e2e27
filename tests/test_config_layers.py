"""The configuration owns the file, not the features: the generic layer (agent/yamlfile/, agent/settings/)
imports no feature; the features parse their own sections; only agent/config/ knows them all."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERIC = ("agent/yamlfile", "agent/settings")
FEATURES = ("agent.wifi", "agent.emissions", "agent.httpapi", "agent.store", "agent.outputs", "agent.report",
            "agent.config", "agent.daemon", "agent.cli", "agent.shard", "agent.views")


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_the_generic_layer_imports_no_feature() -> None:
    files = [path for folder in GENERIC for path in sorted((ROOT / folder).glob("*.py"))]
    assert len(files) >= 8
    wrong = [f"{path.relative_to(ROOT)} imports {name}" for path in files for name in sorted(imported(path))
             if name.startswith(FEATURES)]
    assert not wrong, wrong


def test_features_do_not_import_the_assembled_config() -> None:
    """A feature that imported agent/config/ would tie the whole file back to itself (a circle)."""
    files = [path for folder in ("agent/wifi", "agent/emissions") for path in sorted((ROOT / folder).rglob("*.py"))]
    wrong = [f"{path.relative_to(ROOT)} imports {name}" for path in files for name in sorted(imported(path))
             if name.startswith("agent.config")]
    assert not wrong, wrong
