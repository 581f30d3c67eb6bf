"""The Activity panel: the tamper-evident log as a filterable table, its verification and export."""
