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
    from app.core.training import train_bundle
    from tests.synthetic import tiny_candidates

    out = tmp_path_factory.mktemp("bundles") / "tiny-0.0.1"
    return train_bundle(
        tiny_data_dir, out, name="tiny", version="0.0.1", seed=3, candidates=tiny_candidates()
    )


@pytest.fixture(scope="session")
def bundled_model_path() -> Path:
    from app.core.scoring import default_bundle_path

    return default_bundle_path(REPO / "models")


@pytest.fixture(scope="session")
def bundled_scorer(bundled_model_path: Path):
    from app.core.scoring import Scorer

    return Scorer.load(bundled_model_path)


@pytest.fixture
def tiny_bundle_copy(tiny_training, tmp_path: Path) -> Path:
    """A private copy of the tiny bundle that a test may damage."""
    import shutil

    target = tmp_path / "tiny-0.0.1"
    shutil.copytree(tiny_training.bundle_path, target)
    return target
