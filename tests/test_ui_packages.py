"""The UI's folders say who owns a file: a panel imports only itself, `app.ui.common` and the core;
`app.ui.common` imports no panel and not the shell (only the shell puts panels together)."""

from __future__ import annotations

import ast
from pathlib import Path

UI = Path(__file__).resolve().parents[1] / "app" / "ui"
PANELS = sorted(p.name for p in UI.iterdir() if (p / "__init__.py").exists())


def _ui_imports(path: Path) -> set[str]:
    """The app.ui packages a module imports (deferred imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[:2] == ["app", "ui"] and len(parts) > 2:
                found.add(parts[2])
    return found


def test_the_ui_has_the_expected_folders():
    assert {"common", "shell", "batch", "compare", "threshold"} <= set(PANELS)


def test_panels_import_only_themselves_and_common():
    wrong = []
    for package in PANELS:
        if package == "shell":
            continue
        allowed = {package} if package == "common" else {package, "common"}
        for path in sorted((UI / package).rglob("*.py")):
            for imported in _ui_imports(path) - allowed:
                wrong.append(f"{path.relative_to(UI)} imports app.ui.{imported}")
    assert wrong == []
