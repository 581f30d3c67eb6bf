"""Everything that is not UI. This package never imports Qt (enforced by import-linter)."""
