"""``python -m app models ...``: the registry from the command line (list, verify, import,
activate, roll back, challenger) and the training team's signing tools (keygen, sign, trust).

Each runs in the app's context (`app.cli.context.cli_context`): ``list`` and ``verify`` only read
(no log opened); ``import``, ``activate``, ``rollback``, ``challenger`` and ``trust`` write the same
activity-log event as the Models panel, before the change (no record, no change).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli.common import JSON_HELP, path_arg, path_or_version_arg
from app.cli.context import active_scorer, cli_context

if TYPE_CHECKING:
    from app.core.context.state import AppContext
    from app.core.models.registry import ModelRegistry


KEEP_THRESHOLD_HELP = (
    "keep the app-wide threshold as it is instead of migrating it to the new model "
    "(a threshold set for one model rarely means the same on another)"
)


def add_models_parser(sub: Any) -> None:
    p = sub.add_parser("models", help="list, verify, import, activate and sign model versions")
    models = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    q = models.add_parser(
        "list",
        help="every installed version, verified, newest first; the active and challenger marked",
    )
    q.add_argument("--json", action="store_true", help=JSON_HELP)
    q = models.add_parser("verify", help="check a bundle folder (or installed version) in full")
    q.add_argument(
        "bundle",
        type=path_or_version_arg,
        help="a bundle folder or zip, or an installed version such as 1.0.0",
    )
    q.add_argument("--json", action="store_true", help=JSON_HELP)
    q = models.add_parser("import", help="install a bundle from a folder or a zip, verified first")
    q.add_argument("source", type=path_arg, help="a bundle folder or a zip of one")
    q = models.add_parser(
        "activate",
        help="make an installed version the active model; the threshold migrates as the "
        "Models panel's Make active does (keeping recall), unless --keep-threshold",
    )
    q.add_argument("version", help="folder name (abuse-lr-1.0.0), 'abuse-lr 1.0.0' or 1.0.0")
    q.add_argument("--keep-threshold", action="store_true", help=KEEP_THRESHOLD_HELP)
    q = models.add_parser(
        "rollback",
        help="return to the previously active version; the threshold migrates back as the "
        "Models panel's Roll back does, unless --keep-threshold",
    )
    q.add_argument("--keep-threshold", action="store_true", help=KEEP_THRESHOLD_HELP)
    q = models.add_parser("challenger", help="set (or --clear) the shadow-scoring challenger")
    q.add_argument(
        "version", nargs="?", help="an installed version to shadow-score with (none: clear)"
    )
    q.add_argument("--clear", action="store_true", help="no challenger: stop shadow-scoring")
    q = models.add_parser("sign", help="sign a bundle's manifest (the training team)")
    q.add_argument("bundle", type=path_arg, help="the bundle folder whose manifest to sign")
    q.add_argument("--key", type=path_arg, required=True, help="Ed25519 private key (PEM)")
    q = models.add_parser("keygen", help="create a signing key pair (the training team)")
    q.add_argument(
        "--private", type=path_arg, required=True, help="where to write the private key (PEM)"
    )
    q.add_argument(
        "--public", type=path_arg, required=True, help="where to write the public key (PEM)"
    )
    q = models.add_parser("trust", help="trust a public key on this workstation (an administrator)")
    q.add_argument(
        "public_key", type=path_arg, help="the public key file (PEM); its name names the key"
    )


def _print_entry(entry: Any, role: str) -> None:
    state = "verified" if entry.verified else "REFUSED"
    aucs = ", ".join(f"{k} {v:.4f}" for k, v in entry.test_auc.items())
    print(f"{entry.ref:28s} {role or '-':10s} {entry.source:8s} {state:9s} {entry.signature_text}")
    if entry.verified:
        default = "; the default fast model" if entry.default_fast else ""
        print(
            f"{'':28s} created {entry.created_utc}; {entry.engine_text} engine; "
            f"test ROC-AUC {aucs or 'n/a'}{default}"
        )
    else:
        print(f"{'':28s} {entry.problem}")


def _roles(registry: ModelRegistry, settings: Any, entries: list[Any]) -> dict[str, str]:
    """The version the app decides with and its challenger, as `ModelRegistry.load_startup`
    picks them: the settings' choice if it verifies, else the default bundled model; a refused
    challenger, or one that is the active model, is not used."""
    usable = {e.ref for e in entries if e.verified}
    active = settings.active_model if settings.active_model in usable else None
    default = next((e.ref for e in entries if e.default_fast), None)
    roles = {active or default or registry.default_bundled().name: "active"}
    if settings.challenger_model in usable and settings.challenger_model not in roles:
        roles[settings.challenger_model] = "challenger"
    return roles


def cmd_models(args: argparse.Namespace) -> int:
    action = args.models_command
    if action in ("list", "verify"):
        return _list_or_verify(args)
    if action == "import":
        return _import(args)
    if action in ("activate", "rollback", "challenger"):
        return _switch(args)
    return _signing(args)


def _list_or_verify(args: argparse.Namespace) -> int:
    from app.core.context.bootstrap import registry_of

    with cli_context(args, load_models=False, record=False) as ctx:  # reads, records nothing
        registry, settings = registry_of(ctx), ctx.settings
    if args.models_command == "list":
        return _list(args, registry, settings)
    return _verify(args, registry)


def _list(args: argparse.Namespace, registry: ModelRegistry, settings: Any) -> int:
    """Every version, what is fine listed in full; a refused one is listed with its problem and
    makes the exit code 4 (a model error), in text and JSON alike."""
    from app import APP_NAME
    from app.cli.common import EXIT_MODEL, EXIT_OK, say

    entries = registry.entries()
    roles = _roles(registry, settings, entries)
    if args.json:
        rows = [dict(e.as_dict(), role=roles.get(e.ref, "")) for e in entries]
        print(json.dumps(rows, indent=2))
    else:
        print(f"{'version':28s} {'role':10s} {'source':8s} {'state':9s} signature")
        for entry in entries:
            _print_entry(entry, roles.get(entry.ref, ""))
        for problem in registry.trust.problems:  # e.g. a second key under a taken name
            print(f"warning: {problem}", file=sys.stderr)
        print(
            f"trusted keys: {', '.join(registry.trust.describe()) or 'none'}; unsigned "
            f"bundles {'allowed' if registry.allow_unsigned else 'refused'}"
        )
    refused = [e for e in entries if not e.verified]
    if not refused:
        return EXIT_OK
    sys.stdout.flush()  # the listing first, then the one error line
    say(
        f"{APP_NAME}: model error: {len(refused)} installed version(s) refused: "
        f"{', '.join(str(e.folder) for e in refused)} (the listing says why)"
    )
    return EXIT_MODEL


def _verify(args: argparse.Namespace, registry: ModelRegistry) -> int:
    from app.core.common.errors import ModelError
    from app.core.models.registry import USER

    if Path(args.bundle).is_file():  # a zip: every check of `models import`, nothing installed
        from app.core.models.model_import import verify_source

        entry, manifest_sha256 = verify_source(registry, Path(args.bundle))
    else:
        scorer = registry.load(args.bundle)  # full check: signature, hashes, parsing, shapes
        entry = registry.describe(scorer.bundle.path, USER)
        manifest_sha256 = scorer.bundle.manifest_sha256
    if args.json:
        print(json.dumps(dict(entry.as_dict(), manifest_sha256=manifest_sha256), indent=2))
    else:
        print(
            f"{entry.label}: verified; {entry.signature_text}; manifest SHA-256 {manifest_sha256}"
        )
    if not entry.verified:  # pragma: no cover - load() above already raised
        raise ModelError(entry.problem or "not verified")
    return 0


def _import(args: argparse.Namespace) -> int:
    from app.core.context.bootstrap import registry_of
    from app.core.models.model_import import import_bundle

    with cli_context(args, load_models=False) as ctx:  # the log first: no record, no install
        entry, installed = import_bundle(registry_of(ctx), args.source)
        if installed:
            try:
                ctx.log(
                    "model_imported",
                    model_version=entry.label,
                    file_name=args.source.name,
                    detail=f"{entry.label} from {args.source} ({entry.signature_text})",
                )
            except BaseException:  # not logged, so not installed: the bundle goes again
                shutil.rmtree(entry.folder, ignore_errors=True)
                raise
            print(f"imported {entry.label} into {entry.folder} ({entry.signature_text})")
        else:
            print(f"{entry.label} is already installed (identical) at {entry.folder}")
    return 0


def _switch(args: argparse.Namespace) -> int:
    from app.core.common.errors import ModelError
    from app.core.context import model_switch
    from app.core.context.bootstrap import registry_of
    from app.core.context.settings import check_saveable

    with cli_context(args) as ctx:
        check_saveable(ctx.settings_path)  # refused before anything is logged or changed
        registry = registry_of(ctx)
        before_active, before_challenger = ctx.state.scorer, ctx.state.challenger
        plan = None
        try:
            if args.models_command in ("activate", "rollback"):
                changed, plan = _change_active(ctx, registry, args)
            elif args.clear or args.version is None:
                changed = model_switch.set_challenger(ctx, None)
            else:
                changed = model_switch.set_challenger(ctx, registry.load(args.version))
        except ValueError as exc:
            raise ModelError(str(exc)) from None
    active = active_scorer(ctx)
    challenger = ctx.state.challenger
    print(
        f"active model: {active.version_label}"
        + (f"; challenger: {challenger.version_label}" if challenger else "")
        + ("" if changed else " (unchanged)")
    )
    if changed and before_challenger is not None and challenger is None:
        if args.models_command == "challenger":
            print(f"challenger cleared: {before_challenger.version_label} no longer shadow-scores")
        else:
            print(f"challenger cleared: {before_challenger.version_label} is now the active model")
    if changed and challenger is not None and challenger.engine != active.engine:
        # The challenger shadow-scores every row of every job: an encoder behind a linear model
        # makes a fast job run at the encoder's speed (hundreds of rows/s, not tens of thousands).
        print(
            f"note: {challenger.version_label} ({challenger.engine} engine) shadow-scores for "
            f"{active.version_label} ({active.engine} engine): every job and text is also "
            "scored by it, at its speed"
        )
    if changed and plan is not None and before_active is not None:
        _print_threshold(plan)
        print(f"`models rollback` returns to {before_active.version_label}")
    return 0


def _change_active(ctx: AppContext, registry: ModelRegistry, args: argparse.Namespace) -> Any:
    """Activate or roll back as the Models panel does: `model_switch.plan_activation` (the
    threshold migrated to keep recall), `--keep-threshold` keeping it. (changed, plan)."""
    import dataclasses

    from app.core.common.errors import ModelError
    from app.core.context import model_switch

    if args.models_command == "rollback":
        if not ctx.settings.previous_model:
            raise ModelError("there is no previous model to roll back to")
        scorer, action = registry.load(ctx.settings.previous_model), "model_rolled_back"
    else:
        scorer, action = registry.load(args.version), "model_activated"
    plan = model_switch.plan_activation(ctx, scorer)
    if args.keep_threshold:
        plan = dataclasses.replace(
            plan,
            new_threshold=plan.old_threshold,
            rationale="It is kept (--keep-threshold).",
        )
    return model_switch.activate_planned(ctx, scorer, plan, action=action), plan


def _print_threshold(plan: Any) -> None:
    from app.core.common.messages import fmt_threshold

    old, new = fmt_threshold(plan.old_threshold), fmt_threshold(plan.new_threshold)
    if plan.migrates:
        print(f"threshold: {old} -> {new}, migrated for {plan.new_label}. {plan.rationale}")
        print("(`--keep-threshold` keeps the threshold as it is)")
    else:
        print(f"threshold unchanged ({old}). {plan.rationale}")


def _signing(args: argparse.Namespace) -> int:
    from app.core.bundles import signing

    if args.models_command == "sign":
        kid = signing.sign_bundle(args.bundle, args.key)
        print(f"signed {args.bundle} with key {kid}")
    elif args.models_command == "keygen":
        kid = signing.generate_key_pair(args.private, args.public)
        print(f"key {kid}: private {args.private} (keep it secret), public {args.public}")
    else:
        with cli_context(args, load_models=False) as ctx:  # the log first: no record, no trust
            kid = signing.add_trusted_key(
                args.public_key, before=lambda k: _log_trust(ctx, args, k)
            )
        print(f"trusted key {kid} ({args.public_key.stem}) for bundles on this workstation")
    return 0


def _log_trust(ctx: AppContext, args: argparse.Namespace, kid: str) -> None:
    """Record ``models trust`` before the key is written: no record, no trust. The event names
    no model or threshold: trusting a key changes neither."""
    from app.core.bundles.bundle import sha256_file

    ctx.log(
        "key_trusted",
        file_name=args.public_key.name,
        file_sha256=sha256_file(args.public_key),
        detail=f"trusted key {kid} ({args.public_key.stem}) from {args.public_key}",
        model_version=None,
        threshold=None,
    )
