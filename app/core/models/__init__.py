"""Installed model versions: the registry of bundles under the user's models folder and the bundled
ones, with the default, active and challenger versions (`registry`), and verified import of a new
bundle (`model_import`). Imports the engine, bundles and common.
"""
