"""What more than one panel uses: the helper that runs core jobs on the thread pool and adapts their
callbacks to signals (`workers`), the matplotlib canvas and the confusion-matrix and metric-curve
plots, the labelled-data loader and label dialog, the threshold widgets and the model card view.
Imports only `app.core` and Qt.
"""
