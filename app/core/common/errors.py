"""Exception types shared by the core, the CLI and the UI.

Each carries a message meant for a person: the CLI prints it as one line, the UI shows it in a
dialog. The CLI maps the class to its exit code.
"""

from __future__ import annotations


class AbuseDeskError(Exception):
    """Base class for errors with a message fit to show a user."""


class InputError(AbuseDeskError):
    """An input file or argument cannot be used (CLI exit code 3)."""


class ModelError(AbuseDeskError):
    """A model bundle is missing, tampered with or malformed (CLI exit code 4)."""


class JobCancelled(AbuseDeskError):
    """A long operation stopped because its `cancelled` callback returned True."""
