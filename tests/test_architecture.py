"""The code's shape as docs/architecture.md states it: no private name imported from another module.

The layer order and the absence of import cycles are import-linter contracts (pyproject.toml), run with ruff.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [*sorted((ROOT / "src" / "predelinquency").rglob("*.py")), *sorted((ROOT / "dashboard").rglob("*.py"))]


def _private_imports(path: Path) -> list[str]:
    """'line: module.name' for each `from predelinquency... import _name` of another module in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ("predelinquency",
                                                                                             "dashboard"):
            found += [f"{node.lineno}: {node.module}.{a.name}" for a in node.names
                      if a.name.startswith("_") and not a.name.startswith("__")]
    return found


def test_the_scan_sees_every_package():
    packages = {p.relative_to(ROOT).parts[:3] for p in SOURCES}
    assert ("src", "predelinquency", "scoring") in packages and any(p[0] == "dashboard" for p in packages)


def test_no_private_name_crosses_a_module():
    offenders = {str(p.relative_to(ROOT)): hits for p in SOURCES if (hits := _private_imports(p))}
    assert offenders == {}


def test_the_check_catches_a_private_import(tmp_path: Path):
    sample = tmp_path / "sample.py"
    sample.write_text("from predelinquency.db.bulk import _raw\nfrom predelinquency.db import bulk\n")
    assert _private_imports(sample) == ["1: predelinquency.db.bulk._raw"]
