"""Scoring a CSV log as a job: its options and report (`options`), its input read once (`source`),
the run itself in named steps (`run`, `run_parts`), the output rows and columns (`rows`), worker processes
(`parallel`), and the resumable checkpoint with its authenticated schema (`checkpoint`,
`checkpoint_schema`). Imports the engine, csvio, export,
activity (the workstation key) and common.
"""
