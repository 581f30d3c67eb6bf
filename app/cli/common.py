"""The CLI's two ends: an argument parser whose errors are one line, and the error funnel.

Every failure of ``python -m app`` is one line on stderr (`app.core.common.messages.one_line`): usage
errors exit 2 with "abuse-desk score: error: ... (see abuse-desk score --help)" instead of
argparse's usage block; input, file and settings errors exit 3, model errors 4. Anything else is
a bug: one line "internal error: <type>: <message>", exit 1, and the traceback only when
``ABUSE_DESK_DEBUG=1``. A reader that closes the pipe (``| head``) ends the command quietly with
141, as a shell reports for other tools stopped by SIGPIPE.
"""

from __future__ import annotations

import argparse
import difflib
import math
import os
import sys
import traceback
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any, NoReturn

from app import APP_NAME
from app.core.common.errors import AbuseDeskError, InputError, JobCancelled, ModelError
from app.core.common.messages import one_line

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_INPUT, EXIT_MODEL = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a tool whose reader left
DEBUG_ENV = "ABUSE_DESK_DEBUG"
JSON_HELP = "print the result as JSON on standard output"


def say(message: str) -> None:
    """Print `message` to stderr as one line (folded, escaped, capped)."""
    print(one_line(message), file=sys.stderr, flush=True)


class OneLineParser(argparse.ArgumentParser):
    """argparse with one-line errors; its subparsers are of this class too (argparse's
    default ``parser_class`` is the parent's type)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # "--text-colum" must not quietly mean --text-column: a typo is an error, with a hint.
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        say(f"{self.prog}: error: {message}{self._did_you_mean(message)} (see {self.prog} --help)")
        sys.exit(EXIT_USAGE)

    def _did_you_mean(self, message: str) -> str:
        if not message.startswith("unrecognized arguments: "):
            return ""
        known = [s for action in self._actions for s in action.option_strings]
        for word in message.split(": ", 1)[1].split():
            if word.startswith("--"):
                guess = difflib.get_close_matches(word.split("=", 1)[0], known, n=1)
                if guess:
                    return f"; did you mean {guess[0]}?"
        return ""

    def add_subparsers(self, **kwargs: Any) -> Any:
        kwargs.setdefault("parser_class", _SubcommandParser)
        return super().add_subparsers(**kwargs)


class _SubcommandParser(OneLineParser):
    """A subcommand's parser: it reports its own unknown arguments, so the message names the
    subcommand ("abuse-desk score: error: unrecognized arguments: ...") and its --help."""

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras


def _unit_float(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        what = "too large" if any(c.isdigit() for c in text) else "not a finite number"
        raise argparse.ArgumentTypeError(f"{what}: {text!r}")
    mantissa = text.strip().lower().split("e", 1)[0]
    if value == 0 and any(c in "123456789" for c in mantissa):
        # 1e-400 is not zero, but it reads as 0.0: it would silently flag everything.
        raise argparse.ArgumentTypeError(f"too small to tell from 0: {text!r}")
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text.strip()}")
    return value + 0.0  # -0.0 becomes 0.0


def finite_arg(text: str) -> float:
    """A finite number (``plan``'s and ``audit estimate``'s numeric options)."""
    try:
        value = float(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def positive_number_arg(text: str) -> float:
    """A finite number above 0 (``--volume``: messages per day, in ``plan`` and ``audit``)."""
    value = finite_arg(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text.strip()}")
    return value


def threshold_arg(text: str) -> float:
    """``--threshold``: a finite number in [0, 1]."""
    return _unit_float(text)


def thresholds_arg(text: str) -> list[float]:
    """``--thresholds``: a comma-separated list of thresholds, none empty, at least one."""
    parts = text.split(",")
    if not text.strip() or any(not part.strip() for part in parts):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated thresholds such as 0.45,0.5, got {text!r}"
        )
    return [_unit_float(part) for part in parts]


def path_arg(text: str) -> Path:
    """Every path argument: an empty or all-space path is a usage error. ``Path("")`` is the
    current folder, which no command means; "" usually comes from an unset shell variable."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected a file or folder path, got {text!r}")
    if "\0" in text:
        raise argparse.ArgumentTypeError(f"a path cannot contain a NUL character: {text!r}")
    return Path(text)


def path_or_version_arg(text: str) -> str:
    """``--model`` and ``models verify``: a path or an installed version, refused when empty
    (an empty ``--model`` would otherwise silently mean "the active model")."""
    path_arg(text)
    return text


def workers_arg(text: str) -> int:
    """``--workers``: a whole number of processes, 1 or more (the cap at the number of cores is
    applied, with a note, by `app.core.batch.parallel.usable_workers`)."""
    return whole_number_arg(text)


def whole_number_arg(text: str) -> int:
    """A whole number, 1 or more (``--workers``, ``audit sample --size``)."""
    try:
        value = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _os_error_text(exc: OSError) -> str:
    where = exc.filename if exc.filename is not None else ""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{where}: {reason}" if where else reason


def _silence_stdout() -> None:
    """Point stdout at the null device, so the interpreter's final flush cannot fail again."""
    with suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def run_command(command: Callable[[], int], interrupted_hint: str = "") -> int:
    """Run `command` and turn every way it can fail into one line on stderr and an exit code."""
    try:
        code = command()
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except InputError as exc:
        say(f"{APP_NAME}: error: {exc}")
        return EXIT_INPUT
    except ModelError as exc:
        say(f"{APP_NAME}: model error: {exc}")
        return EXIT_MODEL
    except JobCancelled:
        say(f"{APP_NAME}: cancelled; no output was written")
        return EXIT_INTERRUPTED
    except KeyboardInterrupt as exc:  # Ctrl+C, or SIGTERM/SIGHUP raised as one (exit 128 + signal)
        say(f"{APP_NAME}: interrupted; no output was written{interrupted_hint}")
        return getattr(exc, "exit_code", EXIT_INTERRUPTED)
    except AbuseDeskError as exc:
        say(f"{APP_NAME}: error: {exc}")
        return EXIT_INTERNAL
    except BrokenPipeError:  # `... | head`: the reader left; stop quietly, as Unix tools do
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as exc:  # a file the user named (or the disk under it) failed us
        say(f"{APP_NAME}: error: {_os_error_text(exc)}")
        return EXIT_INPUT
    except Exception as exc:  # a bug: say so in one line; the traceback is for debugging
        if os.environ.get(DEBUG_ENV) == "1":
            traceback.print_exc()
        say(f"{APP_NAME}: internal error: {type(exc).__name__}: {exc}")
        return EXIT_INTERNAL
