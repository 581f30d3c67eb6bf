"""The self-test an analyst or an installer runs: bundle verification, sample scores and thresholds
(`checks`), and writing its report and activity event (`report`). Imports the runtime core
packages below it.
"""
