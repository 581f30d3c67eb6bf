"""Decision records: who applied which threshold (or band policy), on what evidence (model,
data source and their hashes, prevalence and volume assumed, matrix and rates with intervals at
the new and previous thresholds, the day at that traffic: `outcome`), kept in a local records table; and replay of a proposed policy
over past batches from the history. Rendering a record as a PDF page is not here (the core never
imports matplotlib): see `app.reports`.
"""
