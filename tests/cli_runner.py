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
    *args: str,
    timeout: float = 120,
    allow_unsigned: bool = False,
    input: bytes | str | None = None,  # noqa: A002 - subprocess.run's name for it
    **env: str,
) -> subprocess.CompletedProcess[str]:
    """``python -m app ARGS`` from the repo; extra keyword arguments join the environment.

    Standard input is `input` (bytes are passed as they are, so a test can send invalid UTF-8),
    else empty (the null device): a command never waits for a terminal.

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
    command = [sys.executable, "-m", "app", *args]
    full_env = dict(os.environ, PYTHONPATH=str(REPO), **env)
    if input is None:
        return subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=REPO, env=full_env,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    data = input.encode("utf-8") if isinstance(input, str) else input
    raw = subprocess.run(
        command, capture_output=True, timeout=timeout, cwd=REPO, env=full_env, input=data
    )
    return subprocess.CompletedProcess(
        raw.args, raw.returncode, raw.stdout.decode("utf-8"), raw.stderr.decode("utf-8")
    )
