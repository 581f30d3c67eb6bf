#!/usr/bin/env bash
# Make sure Qt can start, offscreen (tests) and on an X11 display (the app): Qt's offscreen
# platform must start, and the xcb platform plugin must find all its shared libraries. If either
# fails, install the Debian packages a bare desktop lacks, then check again.
set -euo pipefail
PY=${1:-python3}
PACKAGES="libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 fonts-dejavu-core
  libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-image0
  libxcb-render-util0 libxcb-randr0 libxcb-xinerama0 libxcb-xkb1 libxcb-xfixes0"

offscreen_ok() {
  QT_QPA_PLATFORM=offscreen "$PY" -c "from PySide6.QtWidgets import QApplication; QApplication([])" >/dev/null 2>&1
}
xcb_ok() {
  local plugin
  plugin=$("$PY" -c "import PySide6, pathlib; print(next(pathlib.Path(PySide6.__file__).parent.glob('Qt/plugins/platforms/libqxcb.so'), ''))")
  [ -z "$plugin" ] && return 0  # not Linux/X11: nothing to check
  # Read ldd's output whole: `grep -q` closing the pipe early would fail it under pipefail.
  local libs
  libs=$(ldd "$plugin" 2>/dev/null || true)
  ! grep -q "not found" <<< "$libs"
}

if offscreen_ok && xcb_ok; then exit 0; fi
echo "Qt lacks system libraries; installing: $(echo $PACKAGES)" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
if offscreen_ok && xcb_ok; then exit 0; fi
echo "Qt still cannot start; see the README's system libraries section" >&2
exit 1
