"""The Threshold panel: a slider over an interactive confusion matrix and metric curves, with the
costs and gains of a change at the agency's prevalence, volume and reviewer capacity.
"""
