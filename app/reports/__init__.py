"""Printable reports of core data, drawn with matplotlib (Agg/PDF, no Qt): the decision record's
one-page PDF (`decision_pdf`). The UI and the CLI import this package; the core never does
(import-linter contract "app.core never imports app.reports")."""
