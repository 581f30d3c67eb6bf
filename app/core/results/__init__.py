"""A finished batch as something to browse and hand on: the in-memory results table with vectorised
filter and sort (`table`), filling it from a job and its cache file (`cache`), exporting it
(`export`), recognising the app's own earlier outputs before replacing them (`output_names`), and
the desktop app's Qt-free job queue (`queue`: limits, lifecycle, activity events). Imports batch,
engine, analysis, activity, export, context and common.
"""
