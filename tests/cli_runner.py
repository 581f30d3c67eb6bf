"""Run the command line as a script would: a real ``python -m app`` subprocess."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO


def run_cli(*args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m app ARGS`` from the repo, no stdin; extra keyword arguments join the environment."""
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO), **env),
        stdin=subprocess.DEVNULL,
    )
