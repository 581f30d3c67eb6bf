"""``train``: a model bundle from the public data (the training team's command).

It needs no context: it reads the data folder it is given and writes a new bundle folder, changing
nothing the app uses — installing the result is ``models import``, which is logged.
"""

from __future__ import annotations

import argparse
import sys

from app.cli.common import EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    from app.core.training.candidates import DEFAULT_CANDIDATES, V1_CANDIDATES
    from app.core.training.recipe import DEFAULT_SEED, train_bundle

    result = train_bundle(
        args.data,
        args.out,
        name=args.name,
        version=args.model_version,
        seed=DEFAULT_SEED if args.seed is None else args.seed,
        candidates=V1_CANDIDATES if args.recipe == "v1" else DEFAULT_CANDIDATES,
        progress=lambda msg: print(msg, file=sys.stderr),
    )
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
