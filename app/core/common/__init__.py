"""The ground floor every other core package stands on: the error types and their exit codes
(`errors`), crash-safe atomic writes (`atomic`), portable no-follow file opening and locks
(`portable_fs`), where the app keeps its files (`paths`), the input and output guards that refuse
special files, binaries and collisions (`input_guard`, `output_guard`), the one SHA-256 loop
(`hashing`), private temporary
folders, limits, one-line message helpers, and where a row opened in the Score panel came from
(`drill`). It imports nothing from `app.core` outside itself.
"""
