import gc
import os
from pathlib import Path

import pytest

# Every test runs headless, whatever the caller's environment.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.synthetic import write_public_like_data

    return write_public_like_data(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def tiny_training(tiny_data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """A real training run on synthetic data."""
    from app.core.training.recipe import train_bundle
    from tests.synthetic import tiny_candidates

    out = tmp_path_factory.mktemp("bundles") / "tiny-0.0.1"
    return train_bundle(
        tiny_data_dir, out, name="tiny", version="0.0.1", seed=3, candidates=tiny_candidates()
    )


@pytest.fixture(scope="session")
def bundled_model_path() -> Path:
    from app.core.engine.scoring import default_bundle_path

    return default_bundle_path(REPO / "models")


@pytest.fixture(scope="session")
def bundled_scorer(bundled_model_path: Path):
    from app.core.engine.scoring import Scorer

    return Scorer.load(bundled_model_path)


@pytest.fixture(scope="session")
def v1_model_path() -> Path:
    """abuse-lr 1.0.0 by name (sublinear TF-IDF): for tests about that version, which is no
    longer the default fast model (`bundled_model_path` follows the rule)."""
    return REPO / "models" / "abuse-lr-1.0.0"


@pytest.fixture(scope="session")
def v1_scorer(v1_model_path: Path):
    from app.core.engine.scoring import Scorer

    return Scorer.load(v1_model_path)


@pytest.fixture(scope="session")
def private_home(tmp_path_factory: pytest.TempPathFactory):
    """User folders of the test session (ABUSE_DESK_HOME), for in-process code that reads or
    creates user files (the workstation key of checkpoints): never the real user's."""
    previous = os.environ.get("ABUSE_DESK_HOME")
    home = tmp_path_factory.mktemp("home")
    os.environ["ABUSE_DESK_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("ABUSE_DESK_HOME", None)
    else:
        os.environ["ABUSE_DESK_HOME"] = previous


@pytest.fixture
def tiny_bundle_copy(tiny_training, tmp_path: Path) -> Path:
    """A private copy of the tiny bundle that a test may damage."""
    import shutil

    target = tmp_path / "tiny-0.0.1"
    shutil.copytree(tiny_training.bundle_path, target)
    return target


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A test-only Ed25519 key pair: (private key file, folder holding its public key)."""
    from app.core.bundles.signing import generate_key_pair

    folder = tmp_path_factory.mktemp("keys")
    generate_key_pair(folder / "test-team.key", folder / "public" / "test-team.pem")
    return folder / "test-team.key", folder / "public"


@pytest.fixture
def signed_tiny_bundle(tiny_bundle_copy: Path, signing_key: tuple[Path, Path]) -> Path:
    """A private copy of the tiny bundle, signed with the test key."""
    from app.core.bundles.signing import sign_bundle

    sign_bundle(tiny_bundle_copy, signing_key[0])
    return tiny_bundle_copy


@pytest.fixture
def model_registry(tmp_path: Path, signing_key: tuple[Path, Path]):
    """A registry over the repo's bundled models and an empty user folder in tmp_path, trusting
    the shipped keys and the test key; unsigned bundles refused."""
    from app.core.bundles.signing import TrustStore
    from app.core.models.registry import ModelRegistry

    trust = TrustStore.load([REPO / "resources" / "trusted_keys", signing_key[1]])
    return ModelRegistry(REPO / "models", tmp_path / "user-models", trust)


# --- UI fixtures ------------------------------------------------------------------------------


@pytest.fixture
def app_context(tmp_path: Path, bundled_scorer, monkeypatch: pytest.MonkeyPatch):
    """A full application context on the bundled model, with user folders in tmp_path."""
    from app.core.activity.log import ActivityLog
    from app.core.context.session import SessionMetrics
    from app.core.context.settings import Settings
    from app.core.context.state import AppContext, AppState

    home = tmp_path / "home"
    monkeypatch.setenv("ABUSE_DESK_HOME", str(home))
    state = AppState(scorer=bundled_scorer, threshold=0.45)
    activity = ActivityLog.open_default(home / "data")
    ctx = AppContext(
        state, Settings(), activity, SessionMetrics(), home / "config" / "settings.json"
    )
    yield ctx
    activity.close()


@pytest.fixture
def worker_pool(qapp):
    """A WorkerPool whose workers must all have finished when the test ends."""
    from PySide6.QtCore import QThreadPool, QTimer
    from PySide6.QtWidgets import QApplication

    from app.ui.common.workers import WorkerPool

    pool = WorkerPool()
    yield pool
    finished = pool.wait(10_000)
    QApplication.processEvents()
    assert finished and not pool.active, f"workers left running: {[w.name for w in pool.active]}"
    assert QThreadPool.globalInstance().activeThreadCount() == 0
    for widget in QApplication.topLevelWidgets():
        widget.close()
    QApplication.processEvents()
    # Collect this test's reference cycles now, on the GUI thread with no worker running: left
    # to chance, the collector may run them down from a pool thread during a later test.
    gc.collect()
    running = [
        t.objectName() or repr(t)
        for w in QApplication.allWidgets()
        if not w.isVisible()
        for t in w.findChildren(QTimer)
        if t.isActive()
    ]
    assert not running, f"timers left running after the windows closed: {running}"


@pytest.fixture
def score_panel(qtbot, app_context, worker_pool):
    """The Score panel at the laptop size, shown (typing and tints need it exposed)."""
    from app.ui.score.panel import ScorePanel

    widget = ScorePanel(app_context, worker_pool)
    qtbot.addWidget(widget)
    widget.resize(1280, 800)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.shutdown()


@pytest.fixture
def batch_panel(qtbot, app_context, worker_pool):
    from app.ui.batch.panel import BatchPanel

    widget = BatchPanel(app_context, worker_pool)
    qtbot.addWidget(widget)
    yield widget
    widget.shutdown()


@pytest.fixture
def registry_context(app_context, model_registry):
    """The app context with the test's model registry (bundled models + a user folder)."""
    app_context.registry = model_registry
    return app_context


@pytest.fixture
def models_panel(qtbot, registry_context, worker_pool):
    """The Models panel, shown at 1280x800 and idle (its listing done)."""
    from app.ui.models.panel import ModelsPanel

    panel = ModelsPanel(registry_context, worker_pool)
    qtbot.addWidget(panel)
    panel.resize(1280, 800)
    panel.show()
    qtbot.waitExposed(panel)
    qtbot.waitUntil(lambda: not panel.busy, timeout=10_000)
    yield panel
    panel.shutdown()
