"""Every option and argument of every command says what it is for in ``--help``."""

from __future__ import annotations

import argparse

from app.cli.parser import build_parser


def _parsers(
    parser: argparse.ArgumentParser, name: str = "abuse-desk"
) -> list[tuple[str, argparse.ArgumentParser]]:
    found = [(name, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                found += _parsers(sub, f"{name} {sub_name}")
    return found


def test_every_option_has_help():
    missing = []
    parsers = _parsers(build_parser())
    for name, parser in parsers:
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if isinstance(action, argparse._SubParsersAction):
                # each command's one-line help is in its choices' pseudo-actions
                missing += [
                    f"{name} {choice.dest}"
                    for choice in action._choices_actions
                    if not (choice.help or "").strip()
                ]
                continue
            if not (action.help or "").strip() or action.help == argparse.SUPPRESS:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert len(parsers) > 20  # the walk reached the log and models groups
    assert missing == []


def test_activate_and_rollback_offer_keep_threshold():
    """Both ways of changing the active model migrate the threshold unless told to keep it."""
    parsers = dict(_parsers(build_parser()))
    for name in ("abuse-desk models activate", "abuse-desk models rollback"):
        options = {o: a for a in parsers[name]._actions for o in a.option_strings}
        assert "keep the app-wide threshold" in (options["--keep-threshold"].help or "")
        assert "threshold migrates" in (parsers[name].description or _help_of(name, parsers))


def _help_of(name: str, parsers: dict[str, argparse.ArgumentParser]) -> str:
    parent_name, _, child = name.rpartition(" ")
    for action in parsers[parent_name]._actions:
        if isinstance(action, argparse._SubParsersAction):
            return next(c.help or "" for c in action._choices_actions if c.dest == child)
    return ""
