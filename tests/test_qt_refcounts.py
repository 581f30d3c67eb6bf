"""Guard against a Qt binding that drops a reference to None on every void call.

PySide6 6.12.0 on Python 3.11 does exactly that (found by the GUI benchmark, which crashed with
"none_dealloc" after some thousands of calls): an app that runs all day would abort. On
Python >= 3.12 None is immortal and the bug is invisible, so this checks only where it matters.
"""

from __future__ import annotations

import gc
import sys

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLabel


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal on Python >= 3.12")
def test_void_qt_calls_keep_none_alive(qapp):
    label, timer = QLabel(), QTimer()
    gc.collect()
    before = sys.getrefcount(None)
    for _ in range(2_000):
        label.setText("x")
        timer.start(1000)
        timer.stop()
        QApplication.processEvents()
    gc.collect()
    assert sys.getrefcount(None) - before > -100, "the Qt binding leaks references to None"
