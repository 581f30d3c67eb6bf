"""Spreadsheets that cannot attack whoever opens them: the cell rules shared by both formats
(`cells`: formula neutralisation, numbers kept as numbers), the CSV writer and its provenance
sidecar (`csv_writer`), and the streaming XLSX writer with its sheet-splitting rules
(`xlsx_writer`). Imports only `app.core.common`.
"""
