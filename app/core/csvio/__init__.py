"""Reading users' CSV logs: detecting the encoding, delimiter and text column from the first MiB
(`csv_sniff`), splitting the byte stream into physical records with honest line numbers
(`csv_lines`), re-reading a record a stray quote ran over several lines one line at a time
(`csv_recover`), and streaming validated chunks of rows with rejected rows reported, plus `sniff`
(format, header and the preview the reader accepts) (`csv_input`). The modules build on one
another in that order. Imports only `app.core.common`.
"""
