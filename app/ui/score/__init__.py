"""The Score panel: type or paste text, see the probability, the label at the app-wide threshold and
the words that drove it.
"""
