"""Audit samples of the agency's own traffic: drawing a stratified sample from a scored batch
(each item with its inclusion weight), the local labels store where reviewers' verdicts are kept,
and the weighted estimates (with stratified-bootstrap intervals) that turn a labelled sample into
precision, recall, prevalence and flag rate for the whole batch; a labelled sample as the
Threshold and Compare panels' and ``plan``'s weighted data source (`sample_source`). SAMPLE.csv:
`sample_format`, `sample_write`, `sample_file` (the reader). Imports `app.core.analysis`,
`app.core.csvio`, `app.core.export` and `app.core.common`; never `results` (its peer).
"""
