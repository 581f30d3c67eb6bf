"""Entry script of the frozen bundle: the same as ``python -m app`` (GUI with no arguments).

The bundle leaves out packages that only development commands need (see
``packaging/abuse-desk.spec``); a command that reaches one gets a one-line error, like every
other error of the command line, instead of a traceback.
"""

import multiprocessing
import sys

from app import APP_NAME
from app.cli.main import main

# Top-level packages the spec excludes, and what needs them.
LEFT_OUT = {
    "pandas": "training (the 'train' command)",
    "sklearn": "training, or a model whose features only scikit-learn computes,",
    "scipy": "training, or a model whose features only scikit-learn computes,",
    "onnx": "training the thorough engine (train --recipe mini)",
    "torch": "training the thorough engine (train --recipe mini)",
    "safetensors": "training the thorough engine (train --recipe mini)",
}


def run() -> int:
    try:
        return main()
    except ModuleNotFoundError as exc:
        package = (exc.name or "").partition(".")[0]
        if package not in LEFT_OUT:
            raise
        print(
            f"{APP_NAME}: error: {LEFT_OUT[package]} is not part of this bundle (it needs "
            f"{package}); run it from a source checkout: python -m app",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(run())
