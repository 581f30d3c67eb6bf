"""Reading users' CSV logs: detecting the encoding, delimiter and header from the first MiB
(`csv_sniff`), splitting the byte stream into physical records with honest line numbers
(`csv_lines`), and streaming validated chunks of rows with rejected rows reported (`csv_input`).
Imports only `app.core.common`.
"""
