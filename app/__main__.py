"""``python -m app``: the GUI with no arguments, the headless subcommands otherwise."""

import sys

from app.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
