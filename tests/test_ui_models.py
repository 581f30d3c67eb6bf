"""The Models panel, driven like a user would: list, import, refuse, activate, roll back, challenge.

What the panel shows is checked against the core (``ModelRegistry``, ``AppState``, the settings
and the activity log). File dialogs are answered by replacing the panel's chooser methods.
A screenshot at 1280x800 goes to tests/_artifacts/models_panel.png.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.ui.models.panel import ModelsPanel
from app.ui.models.table import AUC_ALL, NAME, ROLE, SIGNATURE, VERIFIED, VERSION

ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"
TIMEOUT = 10_000
BUNDLED = "abuse-lr-2.0.0"
TINY = "tiny-0.0.1"
MODELS = Path(__file__).resolve().parents[1] / "models"


def bundled_refs() -> list[str]:
    """The bundled versions (folders of models/), sorted."""
    return sorted(p.name for p in MODELS.iterdir() if (p / "manifest.json").is_file())


def wait_idle(qtbot, panel: ModelsPanel) -> None:
    qtbot.waitUntil(lambda: not panel.busy, timeout=TIMEOUT)


@pytest.fixture
def ctx(registry_context):
    return registry_context


@pytest.fixture
def panel(models_panel):
    return models_panel


def row_texts(panel: ModelsPanel, ref: str, role=Qt.ItemDataRole.DisplayRole) -> dict[int, str]:
    row = panel.model.row_of(ref)
    assert row is not None, f"{ref} is not listed"
    return {c: panel.model.index(row, c).data(role) for c in range(panel.model.columnCount())}


def events(ctx, action: str):
    return ctx.activity.query(action=action)


def click(qtbot, button) -> None:
    assert button.isEnabled(), f"{button.text()!r} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def import_via_folder(qtbot, panel: ModelsPanel, folder: Path) -> None:
    panel.choose_import_folder = lambda: folder  # the user picks this folder
    click(qtbot, panel.view.import_folder_button)
    wait_idle(qtbot, panel)


def select(qtbot, panel: ModelsPanel, ref: str) -> None:
    assert panel.select(ref)
    assert panel.selected_entry().ref == ref


def test_bundled_model_listed_active_signed_verified(panel, ctx, model_registry):
    refs = [e.ref for e in panel.model.entries]
    assert refs == [e.ref for e in model_registry.entries()]
    assert set(refs) == set(bundled_refs()) and len(refs) >= 2  # 2.0.0 and 1.0.0 ship
    for other in set(refs) - {BUNDLED}:
        assert row_texts(panel, other)[ROLE] == ""  # installed, neither active nor challenger
        assert row_texts(panel, other)[VERIFIED] == "✓"
    cells = row_texts(panel, BUNDLED)
    assert cells[ROLE] == "active · default fast"  # the rule's default fast model (README)
    assert (cells[NAME], cells[VERSION]) == ("abuse-lr", "2.0.0")
    assert cells[SIGNATURE].startswith("signed by abuse-desk-training-2026")
    assert cells[VERIFIED] == "✓"
    assert panel.view.active_line.text() == "Active model: abuse-lr 2.0.0"
    assert panel.view.challenger_line.text() == "Challenger: none"
    # The details area shows the selected (active) version and its model card.
    assert panel.selected_entry().ref == BUNDLED
    assert panel.view.details.values["folder"].text().endswith(BUNDLED)
    assert "Model card" in panel.view.details.card.toPlainText()
    assert panel.view.details.problem.isHidden()
    trust = panel.view.trust_line.text()
    assert "abuse-desk-training-2026" in trust and "test-team" in trust
    assert "Unsigned bundles: refused" in trust
    # Nothing to do with the active model itself; nothing to roll back to yet.
    assert not panel.view.activate_button.isEnabled()
    assert not panel.view.challenger_button.isEnabled()
    assert not panel.view.rollback_button.isEnabled()
    assert not panel.view.stop_challenger_button.isEnabled()
    n = len(refs)
    assert f"Checked {n} installed versions: {n} verified." == panel.view.message.text()


def test_default_registry_built_when_missing(qtbot, app_context, worker_pool):
    assert app_context.registry is None
    panel = ModelsPanel(app_context, worker_pool)
    qtbot.addWidget(panel)
    wait_idle(qtbot, panel)
    assert app_context.registry is panel.registry  # shared with the rest of the app
    assert BUNDLED in [entry.ref for entry in panel.model.entries]
    panel.shutdown()


def test_import_signed_folder_adds_row_and_logs(qtbot, panel, ctx, signed_tiny_bundle):
    import_via_folder(qtbot, panel, signed_tiny_bundle)
    assert panel.view.message_kind == "ok", panel.view.message.text()
    assert "Imported tiny 0.0.1" in panel.view.message.text()
    cells = row_texts(panel, TINY)
    assert cells[VERIFIED] == "✓" and cells[SIGNATURE].startswith("signed by test-team")
    assert panel.selected_entry().ref == TINY  # the new version is selected for reading
    (event,) = events(ctx, "model_imported")
    installed = ctx.registry.user_dir / TINY
    assert event.file_sha256 == ctx.registry.load(TINY).bundle.manifest_sha256
    assert event.file_name == signed_tiny_bundle.name
    assert "tiny 0.0.1" in event.detail and str(signed_tiny_bundle) in event.detail
    assert installed.is_dir()
    # Sortable by its values, not their text.
    for order, first in (
        (Qt.SortOrder.AscendingOrder, "tiny"),
        (Qt.SortOrder.DescendingOrder, "abuse-mini"),  # the highest test ROC-AUC
    ):
        panel.view.table.sortByColumn(AUC_ALL, order)
        assert panel.proxy.index(0, NAME).data() == first
    assert panel.selected_entry().ref == TINY  # sorting keeps the selection
    # The identical bundle again: said so, nothing installed or logged.
    import_via_folder(qtbot, panel, signed_tiny_bundle)
    assert "already installed" in panel.view.message.text()
    assert len(events(ctx, "model_imported")) == 1
    assert len(panel.model.entries) == len(bundled_refs()) + 1


def test_import_zip(qtbot, panel, ctx, signed_tiny_bundle, tmp_path):
    archive = tmp_path / "tiny.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(signed_tiny_bundle.iterdir()):
            zf.write(path, f"{TINY}/{path.name}")
    panel.choose_import_zip = lambda: archive
    click(qtbot, panel.view.import_zip_button)
    wait_idle(qtbot, panel)
    assert panel.view.message_kind == "ok", panel.view.message.text()
    assert row_texts(panel, TINY)[VERIFIED] == "✓"
    (event,) = events(ctx, "model_imported")
    assert event.file_name == "tiny.zip"


def test_cancelled_dialog_does_nothing(qtbot, panel, ctx):
    panel.choose_import_folder = lambda: None
    click(qtbot, panel.view.import_folder_button)
    assert not panel.busy and len(panel.model.entries) == len(bundled_refs())


def test_unsigned_bundle_refused(qtbot, panel, ctx, tiny_bundle_copy):
    import_via_folder(qtbot, panel, tiny_bundle_copy)
    text = panel.view.message.text()
    assert panel.view.message_kind == "error" and panel.view.message.isVisible()
    assert text.startswith("Import refused:") and "is not signed" in text
    assert sorted(e.ref for e in panel.model.entries) == bundled_refs()
    assert not any(ctx.registry.user_dir.iterdir())  # no staging folder left behind
    assert events(ctx, "model_imported") == []


def test_tampered_bundle_refused(qtbot, panel, ctx, signed_tiny_bundle):
    npy = sorted(signed_tiny_bundle.glob("*.npy"))[0]
    data = bytearray(npy.read_bytes())
    data[-1] ^= 0x01  # one byte, after signing: the signature still matches the manifest
    npy.write_bytes(bytes(data))
    import_via_folder(qtbot, panel, signed_tiny_bundle)
    text = panel.view.message.text()
    assert panel.view.message_kind == "error"
    assert f"{npy.name} does not match its SHA-256" in text
    assert sorted(e.ref for e in panel.model.entries) == bundled_refs()


def test_refused_installed_version_is_marked(qtbot, panel, ctx, signed_tiny_bundle):
    import_via_folder(qtbot, panel, signed_tiny_bundle)
    installed = ctx.registry.user_dir / TINY
    (installed / "coef.npy").write_bytes(b"damaged")  # changed on disk after the import
    click(qtbot, panel.view.verify_button)
    wait_idle(qtbot, panel)
    assert "1 refused" in panel.view.message.text()
    cells = row_texts(panel, TINY)
    assert cells[VERIFIED] == "✗"
    assert cells[SIGNATURE].startswith(f"refused: model bundle {TINY}: coef.npy")
    tip = row_texts(panel, TINY, Qt.ItemDataRole.ToolTipRole)[VERIFIED]
    assert "coef.npy does not match its SHA-256" in tip
    assert row_texts(panel, TINY, Qt.ItemDataRole.BackgroundRole)[NAME] is not None
    select(qtbot, panel, TINY)
    details = panel.view.details
    assert not details.problem.isHidden() and "coef.npy" in details.problem.text()
    assert "not shown" in details.card.toPlainText()
    assert not panel.view.activate_button.isEnabled()
    assert not panel.view.challenger_button.isEnabled()
    ARTIFACTS.mkdir(exist_ok=True)
    assert panel.grab().save(str(ARTIFACTS / "models_panel_refused.png"))


def test_activate_roll_back_and_challenger(qtbot, panel, ctx, signed_tiny_bundle):
    import_via_folder(qtbot, panel, signed_tiny_bundle)
    select(qtbot, panel, TINY)
    asked: list[str] = []  # the user answers Yes (see test_ui_models_activate)
    panel.confirm_activation = lambda message, title="Make active": asked.append(title) or True
    click(qtbot, panel.view.activate_button)
    # Loading runs on a worker: busy shown, no second action can start meanwhile.
    assert panel.busy and panel.view.busy_bar.isVisible()
    assert not panel.view.activate_button.isEnabled()
    assert not panel.view.import_folder_button.isEnabled()
    wait_idle(qtbot, panel)
    assert not panel.view.busy_bar.isVisible()
    assert ctx.state.scorer.version_label == "tiny 0.0.1"
    assert (ctx.settings.active_model, ctx.settings.previous_model) == (TINY, BUNDLED)
    (event,) = events(ctx, "model_activated")
    assert event.detail == "abuse-lr 2.0.0 -> tiny 0.0.1"
    assert panel.last_switch_seconds is not None and panel.last_switch_seconds > 0
    first_switch = panel.last_switch_seconds
    assert panel.view.active_line.text() == (
        f"Active model: tiny 0.0.1 · switched in {first_switch:.2f} s"
    )
    assert row_texts(panel, TINY)[ROLE] == "active"
    assert row_texts(panel, BUNDLED)[ROLE] == "previous · default fast"

    rollback = panel.view.rollback_button
    assert rollback.text() == "Roll back to abuse-lr 2.0.0"
    click(qtbot, rollback)
    wait_idle(qtbot, panel)
    assert ctx.state.scorer.version_label == "abuse-lr 2.0.0"
    assert ctx.settings.previous_model == TINY  # a second rollback would undo this one
    assert asked == ["Make active", "Roll back"]  # Roll back asks as Make active does
    assert len(events(ctx, "model_rolled_back")) == 1
    assert row_texts(panel, BUNDLED)[ROLE] == "active · default fast"

    select(qtbot, panel, TINY)
    click(qtbot, panel.view.challenger_button)
    wait_idle(qtbot, panel)
    assert ctx.state.challenger.version_label == "tiny 0.0.1"
    assert ctx.settings.challenger_model == TINY
    assert row_texts(panel, TINY)[ROLE] == "challenger · previous"
    assert panel.view.challenger_line.text().startswith("Challenger: tiny 0.0.1 · switched in")
    assert len(events(ctx, "challenger_set")) == 1
    assert not panel.view.challenger_button.isEnabled()  # it already is the challenger

    click(qtbot, panel.view.stop_challenger_button)
    assert ctx.state.challenger is None and ctx.settings.challenger_model == ""
    assert len(events(ctx, "challenger_cleared")) == 1
    assert panel.view.challenger_line.text() == "Challenger: none"
    assert not panel.view.stop_challenger_button.isEnabled()


def test_roles_follow_changes_made_elsewhere(qtbot, panel, ctx, signed_tiny_bundle):
    """Another panel (or a promotion) switching the model: the table and lines follow."""
    from app.core.context import model_switch

    import_via_folder(qtbot, panel, signed_tiny_bundle)
    model_switch.set_challenger(ctx, ctx.registry.load(TINY))
    assert row_texts(panel, TINY)[ROLE] == "challenger"
    assert panel.view.challenger_line.text() == "Challenger: tiny 0.0.1"
    panel.shutdown()  # unsubscribes: later changes no longer reach the panel
    model_switch.set_challenger(ctx, None)
    assert row_texts(panel, TINY)[ROLE] == "challenger"


def test_load_failure_is_shown(qtbot, panel, ctx, signed_tiny_bundle):
    import_via_folder(qtbot, panel, signed_tiny_bundle)
    select(qtbot, panel, TINY)
    (ctx.registry.user_dir / TINY / "intercept.npy").write_bytes(b"x")  # damaged since listed
    click(qtbot, panel.view.activate_button)
    wait_idle(qtbot, panel)
    assert panel.view.message_kind == "error"
    assert "intercept.npy does not match its SHA-256" in panel.view.message.text()
    assert ctx.state.scorer.version_label == "abuse-lr 2.0.0"
    assert events(ctx, "model_activated") == []


def test_screenshot(qtbot, panel, ctx, signed_tiny_bundle):
    import_via_folder(qtbot, panel, signed_tiny_bundle)
    select(qtbot, panel, TINY)
    click(qtbot, panel.view.challenger_button)
    wait_idle(qtbot, panel)
    assert row_texts(panel, BUNDLED)[ROLE] == "active · default fast"
    assert row_texts(panel, TINY)[ROLE] == "challenger"
    select(qtbot, panel, BUNDLED)  # its model card is the one worth reading
    qtbot.wait(50)
    ARTIFACTS.mkdir(exist_ok=True)
    assert panel.grab().save(str(ARTIFACTS / "models_panel.png"))
