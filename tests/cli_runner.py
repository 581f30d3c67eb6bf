"""Run the command line as a script would: a real ``python -m app`` subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.conftest import REPO


def run_cli(
    *args: str, timeout: float = 120, allow_unsigned: bool = False, **env: str
) -> subprocess.CompletedProcess[str]:
    """``python -m app ARGS`` from the repo, no stdin; extra keyword arguments join the environment.

    Every run gets its own user folders (``ABUSE_DESK_HOME``, a fresh temporary folder unless
    given), so no test reads or changes the real user's settings, models or activity log.
    ``allow_unsigned`` writes settings that accept unsigned bundles (the tests' tiny models).
    """
    home = Path(env.get("ABUSE_DESK_HOME") or tempfile.mkdtemp(prefix="abuse-desk-cli-"))
    env["ABUSE_DESK_HOME"] = str(home)
    if allow_unsigned:
        (home / "config").mkdir(parents=True, exist_ok=True)
        settings = {"schema_version": 1, "allow_unsigned_models": True}
        (home / "config" / "settings.json").write_text(json.dumps(settings))
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO), **env),
        stdin=subprocess.DEVNULL,
    )
