"""The frame around the panels: the QApplication and start-up (`application`, `startup`), the main
window with its lazily built panels (`main_window`, `lazy_panel`), fonts, the preferences dialog
and the GUI's own self-check. The only UI package that imports the panels.
"""
