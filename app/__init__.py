"""abuse-desk: offline abuse scoring and threshold analysis for analysts' workstations."""

APP_NAME = "abuse-desk"
__version__ = "0.1.0"
