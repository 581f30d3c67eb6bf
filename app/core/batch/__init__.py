"""Scoring a CSV log as a job: the run itself with its options and report (`run`), the output rows
and columns (`rows`), worker processes (`parallel`), and the resumable checkpoint with its
authenticated schema (`checkpoint`, `checkpoint_schema`). Imports the engine, csvio, export,
activity (the workstation key) and common.
"""
