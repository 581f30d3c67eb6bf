"""Start-up: the window appears before the model is loaded, and everything follows once it is."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app.core.common.messages import fmt_score
from app.ui.shell import startup
from app.ui.shell.main_window import MainWindow
from app.ui.shell.startup import StartupLoader
from tests.conftest import REPO

TIMEOUT = 20_000


def test_importing_the_window_loads_neither_sklearn_nor_matplotlib():
    """What keeps launch-to-window short: the heavy libraries load on a worker or on demand."""
    code = (
        "import sys, app.ui.shell.main_window; "
        "print(sorted(m for m in ('sklearn', 'scipy', 'matplotlib', 'pandas') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.fixture
def empty_window(qtbot, app_context, model_registry, worker_pool):
    """The window as run_gui shows it: no model yet."""
    app_context.state.scorer = None  # as open_context(load_models=False) leaves it
    app_context.registry = model_registry
    win = MainWindow(app_context, worker_pool)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    return win


def test_window_shows_loading_then_the_model_arrives(qtbot, empty_window, app_context):
    win = empty_window
    assert win.model_status.text() == "Loading model…"
    assert not win.threshold_tab.built and not win.compare_tab.built  # built on first use
    win.score.editor.setPlainText("you are an idiot")
    win.score.score_now()
    assert win.score.score_label.text() == "–"
    loader = StartupLoader(app_context, win, None)
    loader.start()
    qtbot.waitUntil(lambda: app_context.state.scorer is not None, timeout=TIMEOUT)
    scorer = app_context.state.scorer
    assert scorer.version_label == "abuse-lr 2.0.0"
    assert win.model_status.text() == "Model abuse-lr 2.0.0 · verified"
    expected = scorer.score_text("you are an idiot", app_context.state.threshold).score
    assert win.score.score_label.text() == fmt_score(expected)  # re-scored when the model came
    win.tabs.setCurrentWidget(win.threshold_tab)  # first shown: built now, with the model's set
    assert win.threshold_tab.built
    assert win.threshold.dataset is not None and win.threshold.dataset.analysis.n == 5650
    assert loader.exit_code == 0


def test_no_usable_model_closes_with_exit_code_4(
    qtbot, empty_window, app_context, monkeypatch, tmp_path
):
    from app.core.models.registry import ModelRegistry

    shown: list[str] = []
    monkeypatch.setattr(startup.QMessageBox, "critical", lambda *a: shown.append(a[2]))
    app_context.registry = ModelRegistry(
        tmp_path / "no-models", tmp_path / "user", app_context.registry.trust
    )
    loader = StartupLoader(app_context, empty_window, None)
    loader.start()
    qtbot.waitUntil(lambda: loader.exit_code == 4, timeout=TIMEOUT)
    assert shown and "no model bundle found" in shown[0]
    qtbot.waitUntil(lambda: not empty_window.isVisible(), timeout=TIMEOUT)


def test_startup_probe_records_window_model_and_first_score(tmp_path):
    """The hook bench/bench_startup.py times launches with, on a real process."""
    import json
    import os

    probe = tmp_path / "probe.json"
    env = dict(
        os.environ,
        PYTHONPATH=str(REPO),
        QT_QPA_PLATFORM="offscreen",
        ABUSE_DESK_HOME=str(tmp_path / "home"),
        ABUSE_DESK_STARTUP_PROBE=str(probe),
    )
    result = subprocess.run(
        [sys.executable, "-m", "app"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    times = json.loads(probe.read_text())
    assert times["window"] <= times["model"] <= times["first_score"]
    assert times["score_shown"] == 1.0


def test_models_loaded_for_the_gui_are_ready_to_explain(model_registry):
    """The bundled models explain from their fast scorers' counts: loading builds no
    scikit-learn vectoriser, and explaining needs none. A model no fast scorer covers gets its
    vectorisers built when loaded for the GUI (on the worker), not at the first keystroke."""
    import copy
    from dataclasses import replace

    from app.core.context.bootstrap import load_models
    from app.core.context.settings import Settings
    from app.core.engine.model import LinearTextModel
    from app.ui.models.jobs import load_model

    for scorer in (
        load_models(model_registry, Settings(), "abuse-lr-1.0.0")[0],
        load_models(model_registry, Settings(), None)[0],  # the default, 2.0.0
        load_model(model_registry, "abuse-lr-1.0.0"),
    ):
        assert scorer.model.fast is not None
        assert "idiot" in [t.term for t in scorer.explain("you are an idiot").terms]
        assert not any("vectorizer" in vars(block) for block in scorer.model.blocks)
    bundle = model_registry.load("abuse-lr-1.0.0").bundle
    features = copy.deepcopy(bundle.json_files["features.json"])
    for block in features["blocks"]:
        block["settings"]["sublinear_tf"] = False  # settings no fast scorer reproduces
    slow = LinearTextModel(
        replace(bundle, json_files={**bundle.json_files, "features.json": features})
    )
    assert slow.fast is None
    slow.build_vectorizers()  # what both loading paths call
    assert all("vectorizer" in vars(block) for block in slow.blocks)
