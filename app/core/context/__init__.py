"""The application's state for one user: settings on disk (`settings`), the session (`session`), the
plain state object the GUI's panels and the CLI share, holding the app-wide threshold (`state`),
switching the active model or challenger (`model_switch`), the desktop's Qt-free batch queue
(`batch_queue`: limits, job lifecycle, activity events; it sits here because it drives results'
scoring and export with the state's threshold and models; `label_notice` says what a job's
labels are at, `rejected_export` writes and logs its rejected rows), and `bootstrap.open_context()`, the one
place that loads all of these together for the GUI and every command. Imported only by the UI and
the CLI; it may import every runtime core package.
"""
