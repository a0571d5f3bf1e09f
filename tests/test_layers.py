"""DESIGN.md's rules between layers, checked on the import statements of every module."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {"reactor", "protocol", "server", "qt_client", "benchmarks", "tests", "server_main"}

# layer folder -> top-level names it must never import
FORBIDDEN = {
    "reactor": OURS - {"reactor"},
    "protocol": OURS - {"protocol"},
    "server": {"qt_client", "benchmarks", "tests"},
    "qt_client/net": {"PyQt5", "server"},
    "qt_client/media": {"PyQt5", "server"},
}


def _imported_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_it_must_not(layer):
    files = sorted((ROOT / layer).rglob("*.py"))
    assert files, f"no modules under {layer}"
    offences = {str(f.relative_to(ROOT)): sorted(_imported_names(f) & FORBIDDEN[layer]) for f in files}
    assert {f: names for f, names in offences.items() if names} == {}
