"""The package's structure: small modules and functions, and imports that only point down the layers.

The layer contract itself (cli > presentation > analyses > experiments > model > foundation) is checked by
import-linter (``lint-imports``, run by ``make test``); these tests catch what it cannot see: imports of the
package root from inside it, and imports of the package's own modules hidden inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "diffusion"
MODULES = sorted(p for p in PACKAGE.rglob("*.py"))
#: "No module over about 500 lines, no function over about 80 lines without a reason written beside it."
MAX_MODULE_LINES = 520
MAX_FUNCTION_LINES = 85
REASON = "# long:"


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _name(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_modules_and_functions_are_small(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_MODULE_LINES, f"{_name(path)} has {len(lines)} lines: split it by concern"
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            reason = any(REASON in lines[i] for i in range(max(0, first - 3), node.lineno))
            assert length <= MAX_FUNCTION_LINES or reason, (
                f"{_name(path)}:{node.lineno} {node.name} has {length} lines: split it, or write "
                f"'{REASON} <why>' just above it")


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_no_import_of_the_package_root_and_none_hidden_in_functions(path):
    """Modules import what they use from where it lives, at the top: an import of ``diffusion`` itself (which
    imports every layer) or one inside a function would hide a cycle from the layer contract."""
    tree = _tree(path)
    top = path == PACKAGE / "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "diffusion" and node.level == 0 and not top:
            raise AssertionError(f"{_name(path)}:{node.lineno} imports the package root")
        if isinstance(node, ast.Import) and any(a.name == "diffusion" for a in node.names) and not top:
            raise AssertionError(f"{_name(path)}:{node.lineno} imports the package root")
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(fn):
            mods = [node.module or ""] if isinstance(node, ast.ImportFrom) else (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            own = [m for m in mods if m.startswith("diffusion") or (isinstance(node, ast.ImportFrom) and node.level)]
            assert not own, f"{_name(path)}:{node.lineno} imports {own} inside {fn.name}(): import it at the top"
