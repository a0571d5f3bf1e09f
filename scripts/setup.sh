#!/usr/bin/env bash
# One set-up for a fresh Debian 12 machine: system packages, then .venv with the
# requirements. Idempotent: when everything is already there it only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  # build and load dependencies of the Python packages
  python3-venv python3-dev swig libspeexdsp-dev libmariadb-dev pkg-config build-essential
  libpulse-mainloop-glib0
  # what PyQt5 loads for a window (offscreen and under Xvfb)
  xvfb libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
  libxcb-randr0 libxcb-render-util0 libxcb-xinerama0 libxcb-xfixes0
  libxcb-shape0 libgl1 libegl1 libfontconfig1 libdbus-1-3
  # benchmarks: raw loopback bandwidth as the ceiling; perf for benchmarks/relay_profile.py
  iperf3 linux-perf
  # tests: a TLS client that is not ours (openssl s_client) checks the server's versions and suites
  openssl
)

missing_apt() {
  local pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || echo "$pkg"
  done
}

missing=$(missing_apt)
if [ -n "$missing" ]; then
  echo "setup: installing Debian packages: $(echo $missing | tr '\n' ' ')"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # iperf3 asks whether to start a daemon; the answer is no.
  echo "iperf3 iperf3/start_daemon boolean false" | $SUDO debconf-set-selections
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
fi

# Reinstall only when requirements.txt changed since the last successful install.
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing Python requirements"
  .venv/bin/python -m pip install -q --upgrade pip setuptools wheel
  .venv/bin/python -m pip install -q -r requirements.txt
  echo "$want" > "$stamp"
fi
