"""Everything that is not UI, in subpackages by responsibility. Nothing here imports Qt, matplotlib
or `app.ui`/`app.cli` (import-linter contracts in pyproject.toml). The subpackages form layers,
each importing only those below it: training | selftest | context, then results, then batch |
models | analysis, then activity, then engine, then bundles | csvio | export, then common. Long
operations take `progress` and `cancelled` callbacks; the GUI and the CLI adapt them.
"""
