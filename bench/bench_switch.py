"""How long does switching the active model take while the app runs?

Measures, on the bundled model (about 9.5 MB), medians over several repetitions:
* ``verify_only_s``: hash every file and check the signature (what the Models list does);
* ``load_s``: verify + parse + rebuild the model under the signature policy (done on a worker);
* ``activate_s``: the GUI-thread part (settings saved, state swapped, activity event committed);
* ``panel_switch_s``: the Models panel, from the "Make active" click to the new model in the
  state (worker load + activation), measured by the panel itself, with the event loop running.
Usage: python bench/bench_switch.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.activity.log import ActivityLog  # noqa: E402
from app.core.bundles.bundle import load_verified  # noqa: E402
from app.core.bundles.signing import TrustStore  # noqa: E402
from app.core.context import model_switch  # noqa: E402
from app.core.context.session import SessionMetrics  # noqa: E402
from app.core.context.settings import Settings  # noqa: E402
from app.core.context.state import AppContext, AppState  # noqa: E402
from app.core.models.registry import ModelRegistry  # noqa: E402
from bench.bench_core import median_time  # noqa: E402
from bench.results import record  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        os.environ["ABUSE_DESK_HOME"] = str(tmp / "home")
        # A second version to switch to: the shipped bundle under another folder name.
        user = tmp / "user"
        user.mkdir()
        shutil.copytree(REPO / "models" / "abuse-lr-1.0.0", user / "abuse-lr-1.0.0-copy")
        trust = TrustStore.load([REPO / "resources" / "trusted_keys"])
        registry = ModelRegistry(REPO / "models", user, trust)
        folder = registry.find("abuse-lr-1.0.0")
        figures = {
            "verify_only_s": median_time(
                lambda: load_verified(folder, check_manifest=registry.check, parse=False),
                args.repeat,
            ),
            "load_s": median_time(lambda: registry.load("abuse-lr-1.0.0"), args.repeat),
        }
        a, b = registry.load("abuse-lr-1.0.0"), registry.load("abuse-lr-1.0.0-copy")
        activity = ActivityLog.open_default(tmp / "home" / "data")
        ctx = AppContext(
            AppState(scorer=a), Settings(), activity, SessionMetrics(), tmp / "settings.json"
        )
        ctx.registry = registry
        flip = [b, a]

        def activate() -> None:
            model_switch.activate(ctx, flip[0])
            flip.reverse()

        figures["activate_s"] = median_time(activate, args.repeat)
        figures.update(panel_switch(ctx, args.repeat))
        activity.close()
    for key, value in figures.items():
        print(f"{key:24s} {value * 1000:10.1f} ms")
    record("model_switch", figures, {"bundle": "abuse-lr-1.0.0", "repeat": args.repeat})


def panel_switch(ctx: AppContext, repeat: int) -> dict[str, float]:
    """Click "Make active" in the real Models panel, alternating two versions."""
    try:
        from PySide6.QtWidgets import QApplication

        from app.ui.common.workers import WorkerPool
        from app.ui.models.panel import ModelsPanel
    except ImportError:  # the panel is optional for this benchmark
        return {}
    app = QApplication.instance() or QApplication([])
    pool = WorkerPool()
    panel = ModelsPanel(ctx, pool)
    times = []

    def settle() -> None:
        while panel.busy:
            app.processEvents()
            time.sleep(0.001)

    settle()  # the panel lists (and hashes) every version on a worker first
    for _ in range(repeat):
        current = ctx.state.scorer.bundle.path.name
        panel.select("abuse-lr-1.0.0" if current != "abuse-lr-1.0.0" else "abuse-lr-1.0.0-copy")
        before = ctx.state.scorer
        panel.make_active()
        while ctx.state.scorer is before:
            app.processEvents()
            time.sleep(0.001)
        settle()
        times.append(panel.last_switch_seconds)
    panel.shutdown()
    pool.wait()
    return {"panel_switch_s": statistics.median(times)}


if __name__ == "__main__":
    main()
