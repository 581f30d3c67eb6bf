"""The Qt desktop app. `shell` holds the application, start-up, main window and preferences;
`common` the worker helper and widgets shared by several panels; every other folder is one panel.
Panels call core functions and show results; they never import one another (import-linter).
"""
