"""What more than one panel uses: the helper that runs core jobs on the thread pool and adapts their
callbacks to signals (`workers`), the matplotlib canvas and the confusion-matrix and metric-curve
plots, the labelled-CSV actions, loader and label dialog, the threshold widgets, the model card
view, the Yes/No question and OK/Cancel layout (`dialogs`) and the shared colours.
Imports only `app.core` and Qt.
"""
