"""The tamper-evident activity log: the SQLite store and its events (`log`), the HMAC chain over
events (`chain`), the head file that anchors the chain against truncation (`head`), the
workstation key (`secret`) and read-only verification (`verify`). Imports `app.core.export` (log
export) and `app.core.common`.
"""
