"""Architecture and safety rules that must hold everywhere: Qt-free core, no pickle, no network."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys

import pytest

from tests.conftest import REPO

CORE_MODULES = sorted(p.stem for p in (REPO / "app" / "core").glob("*.py") if p.stem != "__init__")


def test_importing_the_whole_core_loads_no_qt():
    code = (
        "import sys\n"
        + "".join(f"import app.core.{name}\n" for name in CORE_MODULES)
        + "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'matplotlib')]\n"
        + "print(bad); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_pickle_style_loading_in_app():
    pattern = re.compile(
        r"pickle\.loads?\(|joblib\.load\(|allow_pickle\s*=\s*True|cloudpickle|import pickle"
    )
    offenders = [
        f"{path.relative_to(REPO)}:{n}"
        for path in (REPO / "app").rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


@pytest.mark.filterwarnings("ignore:A test tried to use socket.socket")  # the point of it
def test_sockets_are_disabled_in_this_suite():
    with pytest.raises(Exception, match="[Ss]ocket"):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)


def test_cli_makes_no_connection_attempt(tmp_path):
    """Run real CLI commands under an audit hook that records every socket operation."""
    src = tmp_path / "in.csv"
    src.write_text("text\nyou idiot\nhello\n")
    script = f"""
import sys
events = []
def hook(event, args):
    if event.startswith(("socket.", "urllib.", "http.")):
        events.append(event)
sys.addaudithook(hook)
from app.cli.main import main
codes = [main(["info"]), main(["score-text", "hello there"]),
         main(["score", {str(src)!r}, "-o", {str(tmp_path / "out.csv")!r}, "--quiet"])]
print("EVENTS", events, "CODES", codes)
sys.exit(1 if events or any(codes) else 0)
"""
    # Its own user folders: the CLI now logs score-text and score (never the real user's log).
    env = dict(os.environ, PYTHONPATH=str(REPO), ABUSE_DESK_HOME=str(tmp_path / "home"))
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "EVENTS [] CODES [0, 0, 0]" in result.stdout
