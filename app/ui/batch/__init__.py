"""The Batch panel: open a CSV log, score it in the background with progress and cancel, browse the
results in a table model with a filtering proxy, and export them.
"""
