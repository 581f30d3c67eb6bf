"""The headless twin of the GUI. `python -m app` opens the GUI; its subcommands run in the context
`app.core.context.bootstrap.open_context` opens for the GUI too (same settings, app-wide threshold
and challenger, models and activity log), through `context.cli_context`. `main` dispatches;
`parser` builds the parser, one builder per command; `common` holds the parser base, argument
types and the one failure funnel (one line, exit 2/3/4); `activity` what a command logs; `score`
(score, score-text), `evaluate`, `info` (info, self-test), `train`, `log` and `models` one command
group each; `labels` and `outputs` the parts of evaluate and score that print or check files.
"""
