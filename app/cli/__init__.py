"""The headless twin of the GUI. `python -m app` opens the GUI; its subcommands run through the same
`open_context()` (same settings, threshold, models and activity log). `main` holds the parser and
the score/evaluate/train commands; `common` the parser base, argument types and the one failure
funnel (one line, exit 2/3/4); the other modules hold one command group each.
"""
