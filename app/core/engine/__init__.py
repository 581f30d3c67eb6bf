"""Turning text into a probability: text normalisation, the feature settings a bundle may use
(`feature_settings`), the fast scikit-learn-free scorers for both feature maps, the model built
from a verified bundle (`model`), the `Scorer` that labels and explains (`scoring`, `explain`),
challenger shadow scoring (`shadow`), and one result as people take it away (`result_view`: the
JSON keys the CLI and the GUI share, the readable copy, the fixed tint scale). scikit-learn and
SciPy are imported only by `reference` (the reference vectorisers and feature matrices, used for
explanations and for models no fast scorer covers; imported inside its functions) and by
`additive` (the count-idf-sqrt vectoriser, which only `reference` and training import). Imports
`app.core.bundles` and `app.core.common`.
"""
