"""No network, proven: the whole GUI runs under an audit hook with zero connection attempts,
and no file of the app imports a networking module.

The GUI run is a subprocess (sockets enabled, pytest-socket is not there) so that an attempt
would really be made and recorded rather than refused by the suite's socket guard.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

# Modules whose presence means the app could talk to a network.
NETWORK_MODULES = (
    "PySide6.QtNetwork",
    "urllib.request",
    "http.client",
    "requests",
    "urllib3",
    "httpx",
    "aiohttp",
    "ftplib",
    "smtplib",
)
# Imports forbidden anywhere under app/ (socket too: nothing in the app needs it).
FORBIDDEN_IMPORTS = (*NETWORK_MODULES, "socket", "ssl", "asyncio", "xmlrpc", "http.server")

GUI_SCRIPT = r"""
import sys

EVENTS = []  # every network-ish audit event, with its arguments
IMPORTED = []  # every networking module imported, whoever imported it
NETWORK_MODULES = {network_modules!r}


def hook(event, args):
    if event.startswith(("socket.", "urllib.", "http.", "ftplib.", "smtplib.")):
        EVENTS.append([event, repr(args)[:200]])
    elif event == "import" and (
        args[0] in NETWORK_MODULES or args[0].startswith(tuple(m + "." for m in NETWORK_MODULES))
    ):
        IMPORTED.append(args[0])


sys.addaudithook(hook)  # before any import of the app, Qt or the scientific stack

import json
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from app.core.activity.log import ActivityLog
from app.core.engine.scoring import Scorer, default_bundle_path
from app.core.context.session import SessionMetrics
from app.core.context.settings import Settings
from app.core.context.state import AppContext, AppState
from app.ui.shell.main_window import MainWindow
from app.ui.common.workers import WorkerPool

home = Path({home!r})
qt_app = QApplication([])
# What the app_context and worker_pool fixtures of tests/conftest.py build.
state = AppState(scorer=Scorer.load(default_bundle_path(Path({repo!r}) / "models")), threshold=0.45)
activity = ActivityLog.open_default(home / "data")
ctx = AppContext(state, Settings(), activity, SessionMetrics(), home / "config" / "settings.json")
pool = WorkerPool()
window = MainWindow(ctx, pool)
window.show()


def wait_for(signal, ms=60_000):
    loop, got = QEventLoop(), []
    signal.connect(lambda *a: (got.append(a), loop.quit()))
    QTimer.singleShot(ms, loop.quit)
    return loop, got


# Score panel: type, score, log.
window.score.editor.setPlainText("shut up you stupid idiot")
window.score.score_now()
window.score.log_current()
assert window.score.result is not None and not window.score.result.empty

# Batch panel: a small file, scored in the background, then exported.
src = home / "in.csv"
src.write_text("text,label\n" + "".join(f"row {{i}} you idiot,1\nlovely day {{i}},0\n" for i in range(20)))
window.batch.open_file(src)
loop, got = wait_for(window.batch.job_done)
window.batch.start()
loop.exec()
assert got and got[0][1] == "done", got
loop, got = wait_for(window.batch.export_done)
window.batch.export(home / "out.csv", "csv")
loop.exec()
assert got and got[0][1].startswith("done"), got
window.batch.send_to_threshold()  # the Threshold panel computes its curves

for index in range(window.tabs.count()):  # every panel shown once
    window.tabs.setCurrentIndex(index)
    qt_app.processEvents()

window.close()
pool.wait(10_000)
qt_app.processEvents()
actions = [e.action for e in activity.query()]
activity.close()

loaded = sorted(m for m in sys.modules if m in NETWORK_MODULES)
qt_libs = []
if Path("/proc/self/maps").exists():
    qt_libs = sorted({{line.split()[-1] for line in open("/proc/self/maps") if "Qt6Network" in line}})
print("RESULT " + json.dumps({{"events": EVENTS, "imported": IMPORTED, "loaded": loaded,
                               "qt_network_libs": qt_libs, "actions": actions}}))
"""


def _run_probe(
    script: str, env: dict[str, str], *flags: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run a probe script in a fresh interpreter; it must succeed and print one RESULT line."""
    result = subprocess.run(
        [sys.executable, *flags, "-c", script],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT "))
    return result, json.loads(line.removeprefix("RESULT "))


def test_full_gui_makes_no_connection_attempt_and_loads_no_network_module(tmp_path: Path):
    script = GUI_SCRIPT.format(
        network_modules=NETWORK_MODULES, home=str(tmp_path / "home"), repo=str(REPO)
    )
    env = dict(
        os.environ,
        PYTHONPATH=str(REPO),
        QT_QPA_PLATFORM="offscreen",
        ABUSE_DESK_HOME=str(tmp_path / "home"),
    )
    result, report = _run_probe(script, env)
    # The run really exercised scoring, a batch and an export...
    for action in ("score_text", "batch_started", "batch_finished", "export"):
        assert action in report["actions"], report["actions"]
    # ...with no socket operation of any kind (connect, getaddrinfo, even creating one)...
    assert report["events"] == []
    # ...and no networking module imported, by the app or by any library it uses.
    assert report["imported"] == [] and report["loaded"] == []
    assert report["qt_network_libs"] == []


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module an `import` statement of `path` names (``from a import b`` gives a and a.b)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _forbidden(module: str) -> bool:
    return any(module == bad or module.startswith(bad + ".") for bad in FORBIDDEN_IMPORTS)


def test_no_file_under_app_imports_a_networking_module():
    sources = sorted((REPO / "app").rglob("*.py"))
    assert len(sources) > 40  # the scan really sees the app
    offenders = [
        f"{path.relative_to(REPO)}:{line}: {module}"
        for path in sources
        for line, module in _imports(path)
        if _forbidden(module)
    ]
    # Dynamic imports (importlib, __import__) would escape the AST scan: no networking name
    # may appear in the source text at all.
    offenders += [
        f"{path.relative_to(REPO)}: mentions QtNetwork"
        for path in sources
        if "QtNetwork" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_the_static_scan_would_catch_each_forbidden_form(tmp_path: Path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import socket\nfrom PySide6 import QtNetwork\nfrom urllib import request\n"
        "import http.client as hc\nfrom requests import get\nfrom urllib.parse import quote\n"
        "from . import socket_like\n"
    )
    bad = [module for _, module in _imports(sample) if _forbidden(module)]
    assert bad == [
        "socket",
        "PySide6.QtNetwork",
        "urllib.request",
        "http.client",
        "requests",
        "requests.get",
    ]


# --- The thorough engine (encoder bundles: onnxruntime + tokenizers) ---------------------------
# tokenizers depends on the Hugging Face hub client; the app reads tokenizer.json from the bundle
# and never calls it, so neither it nor its HTTP stack may even be imported.
HUB_MODULES = (
    "huggingface_hub",
    "hf_xet",
    "httpx",
    "httpx2",
    "httpcore",
    "httpcore2",
    "anyio",
    "h11",
    "truststore",
    "fsspec",
    "requests",
)

ENCODER_SCRIPT = r"""
import json
import os
import sys

EVENTS, IMPORTED, OPENED = [], [], []
HUB = {hub!r}  # whole packages
NETWORK = {network!r}  # these modules and their submodules (urllib.parse is harmless)
HF_HOME = os.environ["HF_HOME"]


def watched(name):
    return name.partition(".")[0] in HUB or name.startswith(NETWORK) or name + "." in NETWORK


def hook(event, args):
    if event.startswith(("socket.", "urllib.", "http.", "ftplib.", "smtplib.")):
        EVENTS.append([event, repr(args)[:200]])
    elif event == "import" and watched(args[0]):
        IMPORTED.append(args[0])
    elif event == "open" and isinstance(args[0], str) and (
        args[0].startswith(HF_HOME) or "huggingface" in args[0]
    ):
        OPENED.append(args[0])


sys.addaudithook(hook)
hub_env = {{k: v for k, v in os.environ.items() if k.startswith(("HF_", "HUGGINGFACE"))}}

import onnxruntime
import tokenizers
from app.cli.main import main
from app.core.engine.scoring import Scorer

scorer = Scorer.load({bundle!r})
scores, _truncated, _empty = scorer.score_many(["you idiot", "hello friend, thanks"])
explanation = scorer.explain("you stupid idiot")
code = main(["--model", {bundle!r}, "score-text", "you idiot", "--explain", "--json"])

loaded = sorted(m for m in sys.modules if watched(m))
after = {{k: v for k, v in os.environ.items() if k.startswith(("HF_", "HUGGINGFACE"))}}
print("RESULT " + json.dumps({{
    "engine": scorer.engine, "scores": [float(s) for s in scores], "method": explanation.method,
    "cli": code, "events": EVENTS, "imported": IMPORTED, "opened": OPENED, "loaded": loaded,
    "env_unchanged": after == hub_env, "hub_home_exists": os.path.exists(HF_HOME),
}}))
"""


def test_encoder_scoring_opens_no_socket_and_never_imports_the_hub_client(tmp_path: Path):
    """Load, score, explain and score-text with an encoder bundle in a fresh process (sockets
    enabled, so an attempt would be made and recorded): no socket event, no hub-client or HTTP
    module imported (audit hook, sys.modules and -X importtime agree), the hub cache and the
    HF_* environment untouched."""
    from tests.encoder_fixture import write_tiny_encoder_bundle

    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    settings = {"schema_version": 1, "allow_unsigned_models": True}  # the unsigned test bundle
    (home / "config" / "settings.json").write_text(json.dumps(settings))
    bundle = write_tiny_encoder_bundle(tmp_path / "models")
    hf_home = tmp_path / "hf-home"
    script = ENCODER_SCRIPT.format(
        hub=set(HUB_MODULES),
        network=tuple(m + "." for m in NETWORK_MODULES),
        bundle=str(bundle),
    )
    env = dict(
        os.environ,
        PYTHONPATH=str(REPO),
        ABUSE_DESK_HOME=str(home),
        HF_HOME=str(hf_home),
        HF_HUB_OFFLINE="0",  # were the hub client called, it would try the network
    )
    result, report = _run_probe(script, env, "-X", "importtime")
    # The run really used the thorough engine, through the API and the command line...
    assert report["engine"] == "encoder" and report["method"] == "occlusion"
    assert len(report["scores"]) == 2 and report["cli"] == 0
    assert '"model_version": "abuse-mini 0.0.1"' in result.stdout
    # ...with no socket operation and no networking or hub-client module...
    assert report["events"] == []
    assert report["imported"] == [] and report["loaded"] == []
    imported_by_name = [
        row.rsplit("|", 1)[-1].strip()
        for row in result.stderr.splitlines()
        if row.startswith("import time:")
    ]
    assert len(imported_by_name) > 50  # -X importtime really reported the imports
    assert not [m for m in imported_by_name if m.partition(".")[0] in HUB_MODULES]
    # ...and the hub's cache and settings neither read, created nor changed.
    assert report["opened"] == [] and not report["hub_home_exists"]
    assert report["env_unchanged"]


@pytest.mark.filterwarnings("ignore:A test tried to use socket:UserWarning")  # the probe below
def test_encoder_scoring_in_process_runs_under_the_socket_guard(tmp_path: Path):
    """The suite's socket guard (pytest-socket) is on here: loading and scoring succeed, so no
    socket is created on this path (one would raise)."""
    import socket

    from pytest_socket import SocketBlockedError

    from app.core.engine.scoring import Scorer
    from tests.encoder_fixture import write_tiny_encoder_bundle

    with pytest.raises(SocketBlockedError):  # the guard is really active in this test
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    scorer = Scorer.load(write_tiny_encoder_bundle(tmp_path))
    scores, _truncated, _empty = scorer.score_many(["you idiot", "hello friend"])
    assert scorer.engine == "encoder" and all(0.0 <= s <= 1.0 for s in scores)
    assert scorer.explain("you idiot").method == "occlusion"
