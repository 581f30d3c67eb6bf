"""The registry, the signature policy and switching models (all Qt-free)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.core.bundles.bundle import SIGNATURE_NAME, load_verified
from app.core.bundles.signing import (
    TrustStore,
    add_trusted_key,
    generate_key_pair,
    key_id,
    read_public_key,
    sign_bundle,
)
from app.core.common.errors import ModelError
from app.core.context import model_switch
from app.core.context.settings import Settings, load_settings
from app.core.engine.scoring import Scorer
from app.core.models.model_import import import_bundle
from app.core.models.registry import ModelRegistry, version_key
from tests.conftest import REPO


def test_shipped_bundle_is_signed_by_the_shipped_key():
    trust = TrustStore.load([REPO / "resources" / "trusted_keys"])
    shipped = list((REPO / "resources" / "trusted_keys").glob("*.pem"))
    assert len(trust.keys) == len(shipped) and trust.problems == []
    registry = ModelRegistry(REPO / "models", REPO / "no-such-folder", trust)
    entries = registry.entries()
    assert {e.ref for e in entries} >= {"abuse-lr-1.0.0", "abuse-lr-2.0.0", "abuse-mini-1.0.0"}
    for entry in entries:  # every bundled version, linear or encoder
        assert entry.verified and entry.signature is not None and entry.signature.signed
        assert entry.signature.key_id in trust.keys
    assert entry.test_auc["davidson"] > 0.98 and entry.eval_items == 5650
    assert entry.default_threshold == 0.45
    # Without the shipped key the same bundle is refused, naming the key.
    stranger = ModelRegistry(REPO / "models", REPO / "no-such-folder", TrustStore())
    [refused] = [e for e in stranger.entries() if e.ref == "abuse-lr-1.0.0"]
    assert not refused.verified and entry.signature.key_id in (refused.problem or "")


def test_version_ordering():
    versions = ["1.0.0", "1.10.0", "1.9.0", "1.0.0-rc1", "2.0.0", "0.9"]
    assert sorted(versions, key=version_key) == [
        "0.9",
        "1.0.0",
        "1.0.0-rc1",
        "1.9.0",
        "1.10.0",
        "2.0.0",
    ]


def test_find_by_folder_label_version_or_path(model_registry, signed_tiny_bundle):
    import_bundle(model_registry, signed_tiny_bundle)
    user = model_registry.user_dir / "tiny-0.0.1"
    assert model_registry.find("tiny-0.0.1") == user
    assert model_registry.find("tiny 0.0.1") == user
    assert model_registry.find("0.0.1") == user
    assert model_registry.find(str(signed_tiny_bundle)) == signed_tiny_bundle
    with pytest.raises(ModelError, match=r"'9\.9\.9' is not installed \(installed: abuse-lr-1"):
        model_registry.find("9.9.9")
    refs = [e.ref for e in model_registry.entries()]
    assert refs.index("tiny-0.0.1") >= 0 and "abuse-lr-1.0.0" in refs


def test_load_enforces_the_policy_even_by_path(model_registry, tiny_bundle_copy):
    with pytest.raises(ModelError, match="is not signed"):
        model_registry.load(tiny_bundle_copy)
    assert (
        Scorer.load(tiny_bundle_copy).version_label == "tiny 0.0.1"
    )  # the raw loader is not policy


def test_startup_falls_back_and_says_why(model_registry, signed_tiny_bundle):
    import_bundle(model_registry, signed_tiny_bundle)
    settings = Settings(active_model="gone-1.0.0", challenger_model="tiny-0.0.1")
    active, challenger, problems = model_registry.load_startup(settings)
    assert active.bundle.path.name == "abuse-lr-2.0.0"  # the default fast model
    assert challenger is not None and challenger.version_label == "tiny 0.0.1"
    assert len(problems) == 1 and "gone-1.0.0" in problems[0] and "not installed" in problems[0]
    # A challenger that no longer verifies is dropped, with the reason.
    coef = model_registry.user_dir / "tiny-0.0.1" / "coef.npy"
    data = bytearray(coef.read_bytes())
    data[-1] ^= 0xFF
    coef.write_bytes(bytes(data))
    active, challenger, problems = model_registry.load_startup(
        Settings(active_model="tiny-0.0.1", challenger_model="tiny-0.0.1")
    )
    assert challenger is None and active.bundle.path.name == "abuse-lr-2.0.0"
    assert "SHA-256" in problems[0]


def test_sign_refuses_a_bundle_that_does_not_verify(tiny_bundle_copy, signing_key):
    (tiny_bundle_copy / "intercept.npy").write_bytes(b"damaged")
    with pytest.raises(ModelError, match="does not match its SHA-256"):
        sign_bundle(tiny_bundle_copy, signing_key[0])
    assert not (tiny_bundle_copy / SIGNATURE_NAME).exists()


def test_trust_store_skips_bad_key_files_and_admin_can_add_keys(tmp_path, signing_key):
    folder = tmp_path / "keys"
    folder.mkdir()
    (folder / "garbage.pem").write_text(
        "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n"
    )
    store = TrustStore.load([folder])
    assert store.keys == {} and "garbage.pem is not a PEM public key" in store.problems[0]
    kid = add_trusted_key(signing_key[1] / "test-team.pem", folder)
    assert kid == key_id(read_public_key(signing_key[1] / "test-team.pem"))
    assert kid in TrustStore.load([folder]).keys
    generate_key_pair(tmp_path / "other.key", tmp_path / "other" / "test-team.pem")
    with pytest.raises(ModelError, match="a different key named .* is already"):
        add_trusted_key(tmp_path / "other" / "test-team.pem", folder)


def test_private_key_is_private(tmp_path):
    generate_key_pair(tmp_path / "k.key", tmp_path / "k.pem")
    assert (tmp_path / "k.key").stat().st_mode & 0o077 == 0
    with pytest.raises(FileExistsError):  # never overwrite a key
        generate_key_pair(tmp_path / "k.key", tmp_path / "k2.pem")


def test_signature_check_happens_before_the_manifest_is_parsed(tiny_bundle_copy, signing_key):
    (tiny_bundle_copy / "manifest.json").write_text("{not json")  # would fail parsing
    trust = TrustStore.load([signing_key[1]])
    from app.core.bundles.signing import signature_policy

    with pytest.raises(ModelError, match="is not signed"):
        load_verified(tiny_bundle_copy, check_manifest=signature_policy(trust, False))


# --- switching ---------------------------------------------------------------------------------


@pytest.fixture
def switch_ctx(app_context, model_registry, signed_tiny_bundle):
    import_bundle(model_registry, signed_tiny_bundle)
    app_context.registry = model_registry
    return app_context


def _actions(ctx) -> list[str]:
    return [e.action for e in ctx.activity.query(limit=100)][::-1]


def test_activate_rollback_and_settings_survive_restart(switch_ctx, model_registry):
    ctx = switch_ctx
    bundled = ctx.state.scorer
    tiny = model_registry.load("tiny-0.0.1")
    assert model_switch.activate(ctx, tiny)
    assert ctx.state.scorer is tiny
    assert (ctx.settings.active_model, ctx.settings.previous_model) == (
        "tiny-0.0.1",
        "abuse-lr-2.0.0",
    )
    saved = load_settings(ctx.settings_path)
    assert saved.active_model == "tiny-0.0.1" and saved.previous_model == "abuse-lr-2.0.0"
    assert not model_switch.activate(ctx, tiny)  # already active: nothing logged
    back = model_registry.load(ctx.settings.previous_model)
    assert model_switch.rollback(ctx, back)
    assert ctx.state.scorer.bundle.path.name == "abuse-lr-2.0.0"
    assert ctx.settings.previous_model == "tiny-0.0.1"  # a second rollback undoes the first
    assert _actions(ctx)[-2:] == ["model_activated", "model_rolled_back"]
    event = ctx.activity.query(limit=1)[0]
    assert event.detail == "tiny 0.0.1 -> abuse-lr 2.0.0"
    assert event.file_sha256 == back.bundle.manifest_sha256
    assert bundled.bundle.path == back.bundle.path


def test_challenger_and_promotion(switch_ctx, model_registry):
    ctx = switch_ctx
    tiny = model_registry.load("tiny-0.0.1")
    with pytest.raises(ValueError, match="already the active model"):
        model_switch.set_challenger(ctx, ctx.state.scorer)
    assert model_switch.set_challenger(ctx, tiny)
    assert ctx.state.challenger is tiny and ctx.settings.challenger_model == "tiny-0.0.1"
    model_switch.promote_challenger(ctx, 0.37, "keeps recall >= 0.9")
    assert ctx.state.scorer is tiny and ctx.state.challenger is None
    assert ctx.state.threshold == 0.37 and ctx.settings.threshold == 0.37
    assert ctx.settings.challenger_model == "" and ctx.settings.previous_model == "abuse-lr-2.0.0"
    actions = _actions(ctx)
    assert actions[-3:] == ["challenger_set", "model_promoted", "threshold_applied"]
    assert "keeps recall >= 0.9" in ctx.activity.query(limit=1)[0].detail
    with pytest.raises(ValueError, match="no challenger"):
        model_switch.promote_challenger(ctx, 0.5, "again")


def test_using_an_unsigned_model_is_logged(app_context, model_registry, tiny_bundle_copy):
    allowing = ModelRegistry(
        model_registry.bundled_dir,
        model_registry.user_dir,
        model_registry.trust,
        allow_unsigned=True,
    )
    import_bundle(allowing, tiny_bundle_copy)
    unsigned = allowing.load("tiny-0.0.1")
    model_switch.set_challenger(app_context, unsigned)
    model_switch.activate(app_context, unsigned)
    actions = _actions(app_context)
    assert actions.count("unsigned_model_used") == 2
    details = [
        e.detail for e in app_context.activity.query(limit=10) if e.action == "unsigned_model_used"
    ]
    assert any(d.startswith("challenger:") for d in details)
    assert any(d.startswith("active model:") for d in details)


def test_settings_fields_round_trip(tmp_path):
    from app.core.context.settings import save_settings

    settings = Settings(active_model="a-1", previous_model="a-0", challenger_model="b-2")
    path = save_settings(settings, tmp_path / "s.json")
    data = json.loads(path.read_text())
    assert data["allow_unsigned_models"] is False
    loaded = load_settings(path)
    assert (loaded.active_model, loaded.previous_model, loaded.challenger_model) == (
        "a-1",
        "a-0",
        "b-2",
    )
    data["allow_unsigned_models"] = "yes"  # not a boolean: refused, default kept
    path.write_text(json.dumps(data))
    assert load_settings(path).allow_unsigned_models is False


def test_copy_of_shipped_bundle_keeps_its_signature(tmp_path):
    copy = tmp_path / "abuse-lr-1.0.0"
    shutil.copytree(REPO / "models" / "abuse-lr-1.0.0", copy)
    trust = TrustStore.load([REPO / "resources" / "trusted_keys"])
    registry = ModelRegistry(tmp_path / "none", tmp_path / "user", trust)
    entry, installed = import_bundle(registry, copy)
    assert installed and entry.signature is not None and entry.signature.signed
    assert isinstance(registry.load("abuse-lr-1.0.0").bundle.path, Path)


def test_promotion_with_a_bad_threshold_changes_nothing(switch_ctx, model_registry):
    ctx = switch_ctx
    model_switch.set_challenger(ctx, model_registry.load("tiny-0.0.1"))
    before = (ctx.state.scorer, ctx.state.challenger, ctx.state.threshold)
    with pytest.raises(ValueError, match="between 0 and 1"):
        model_switch.promote_challenger(ctx, 1.5, "typo")
    assert (ctx.state.scorer, ctx.state.challenger, ctx.state.threshold) == before
