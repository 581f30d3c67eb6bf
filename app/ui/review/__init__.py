"""The Review panel: an audit sample reviewed item by item, verdicts kept in the labels store."""
