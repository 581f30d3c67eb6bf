"""``info`` (the original /health) and ``self-test``: what model this workstation decides with,
and whether it and the app work here. Both only read: their context is opened without the
activity log, so they work (and say what is wrong) even where the log cannot be written.
"""

from __future__ import annotations

import argparse
from typing import Any

from app.cli.common import EXIT_MODEL, EXIT_OK
from app.cli.context import active_scorer, cli_context, threshold_kind, threshold_source
from app.cli.score import print_json
from app.core.common.messages import fmt_threshold


def engine_info(scorer: Any) -> dict[str, Any]:
    """The engine and its size: a linear model's feature count, an encoder's token limit and
    vocabulary size (an encoder has no feature count)."""
    if scorer.engine == "encoder":
        model = scorer.model
        return {"engine": "encoder", "max_tokens": model.max_tokens,
                "vocabulary": model.vocabulary_size}  # fmt: skip
    return {"engine": scorer.engine, "features": scorer.model.n_features}


def engine_line(info: dict[str, Any]) -> str:
    if info["engine"] == "encoder":
        return f"encoder, {info['max_tokens']} tokens, {info['vocabulary']:,}-token vocabulary"
    return f"{info['engine']}, {info['features']:,} features"


def cmd_info(args: argparse.Namespace) -> int:
    with cli_context(args, record=False) as ctx:
        scorer, challenger = active_scorer(ctx), ctx.state.challenger
    m, signature = scorer.bundle.manifest, scorer.bundle.signature
    info = {
        "name": m["name"],
        "version": m["version"],
        "verified": True,
        "path": str(scorer.bundle.path),
        "created_utc": m.get("created_utc"),
        "default_threshold": scorer.default_threshold,
        # what this workstation decides with: the app-wide threshold and challenger
        "threshold": ctx.state.threshold,
        "threshold_source": threshold_kind(args, ctx),
        "challenger": challenger.version_label if challenger is not None else None,
        **engine_info(scorer),
        # who vouches for it, as `models verify` prints it (None: unsigned, allowed here)
        "signer": signature.key_name if signature is not None else None,
        "key_id": signature.key_id if signature is not None else None,
        "signature": signature.describe() if signature is not None else "unsigned",
        "manifest_sha256": scorer.bundle.manifest_sha256,
        "files": scorer.bundle.file_hashes,
    }
    if args.json:
        print_json(info)
        return EXIT_OK
    print(
        f"{info['name']} {info['version']}: verified ({len(info['files'])} files match the manifest)"
    )
    print(f"  path: {info['path']}\n  created: {info['created_utc']}")
    print(f"  model's default threshold: {info['default_threshold']}")
    print(f"  decides at: {fmt_threshold(ctx.state.threshold)} ({threshold_source(args, ctx)})")
    print(f"  challenger: {info['challenger'] or 'none'}")
    print(f"  engine: {engine_line(info)}")
    print(f"  {info['signature']}; manifest SHA-256 {info['manifest_sha256']}")
    for name, digest in info["files"].items():
        print(f"  {digest}  {name}")
    return EXIT_OK


def cmd_self_test(args: argparse.Namespace) -> int:
    from app.core.context.bootstrap import registry_of
    from app.core.selftest.checks import Check, run_self_test

    with cli_context(args, record=False) as ctx:
        bundle = active_scorer(ctx).bundle.path
        checks = run_self_test(bundle, registry_of(ctx).check)
    gui: list[Check] = []
    for check in checks:  # printed before Qt starts, so they show even if Qt aborts the process
        print(f"[{'ok' if check.ok else 'FAIL'}] {check.name}: {check.detail}", flush=True)
    if checks[0].ok:  # then prove Qt, fonts and plots work here (no display: offscreen)
        try:
            from app.ui.shell.selfcheck import gui_checks
        except ImportError as exc:  # PySide6 or matplotlib missing or unloadable
            gui = [Check("Qt platform", False, f"the GUI stack cannot be imported: {exc}")]
        else:
            gui = gui_checks()
    for check in gui:
        print(f"[{'ok' if check.ok else 'FAIL'}] {check.name}: {check.detail}")
    checks += gui
    if all(c.ok for c in checks):
        return EXIT_OK
    return EXIT_MODEL if not checks[0].ok else 1
