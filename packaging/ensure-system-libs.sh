#!/usr/bin/env bash
# Make sure Qt can start: try to import QtGui and create an offscreen application; if a shared
# library is missing, install the Debian packages a bare desktop needs, then check again.
set -euo pipefail
PY=${1:-python3}
probe() {
  QT_QPA_PLATFORM=offscreen "$PY" -c "from PySide6.QtWidgets import QApplication; QApplication([])" >/dev/null 2>&1
}
if probe; then exit 0; fi
echo "Qt cannot start; installing system libraries (libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 fonts-dejavu-core)" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
  libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 fonts-dejavu-core \
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 >/dev/null
probe || { echo "Qt still cannot start; see the README's system libraries section" >&2; exit 1; }
