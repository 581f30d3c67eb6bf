"""Training model bundles from the public datasets (offline, reproducible: seeds and data hashes):
loading the data (`data`), the configurations compared and the selection rule (`candidates`),
fitting (`fit`, `platt`), held-out and cross-dataset reports (`report`, `generalization`), the
model card, and the recipe that ties them together (`recipe`). The only core package that may
import scikit-learn's estimators, SciPy's optimisers and pandas; nothing at run time imports it.
"""
