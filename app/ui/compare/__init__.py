"""The Compare panel: two model versions on the same labelled data, side by side (matrices, metrics,
a scatter of scores and the texts on which they disagree).
"""
