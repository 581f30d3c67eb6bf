"""The application's state for one user: settings on disk (`settings`), the session (`session`), the
plain state object the GUI's panels and the CLI share (`state`), and switching the active model
or challenger (`model_switch`). `open_context()` is the one place that loads all of these
together. May import every runtime core package.
"""
