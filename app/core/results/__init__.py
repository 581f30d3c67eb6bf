"""A finished batch as something to browse and hand on: the in-memory results table with vectorised
filter and sort (`table`), filling it from a job and its cache file (`cache`), exporting it
(`export`), copying rows as tab-separated text (`tsv`), recognising the app's own earlier
outputs before replacing them (`output_names`), and the batch history of finished jobs kept
across restarts (`history`, its entries' files in `history_files`).
Imports batch, engine, analysis, activity, export and common.
"""
