#!/usr/bin/env bash
# Prepares a fresh Debian/Ubuntu machine (or any machine with Python 3.11+) for LaneSort:
# Debian packages if missing, a virtual environment in .venv, the project and its test tools.
# Sourced by scripts/demo.sh and scripts/test.sh; safe to run again (it only does what is missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
SUDO=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"

apt_install() {
  if command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian packages: $*" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
  else
    echo "setup: please install $* with your system's package manager" >&2
    exit 1
  fi
}

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  apt_install python3 python3-venv python3-pip
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup: LaneSort needs Python 3.11 or newer; $PYTHON is $("$PYTHON" -V 2>&1)" >&2
  exit 1
fi
if ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  ver=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  apt_install "python${ver}-venv" || apt_install python3-venv
fi

# zbar for the pyzbar camera decoder (the default decoder, zxing-cpp, needs nothing).
if ! { ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null; } | grep -q 'libzbar\.so\.0'; then
  apt_install libzbar0
fi

# Mosquitto, the MQTT broker of the AMR fleet (VDA 5050): the demo and the tests start
# their own on a free loopback port with a generated config (never the system's service).
if [ ! -x /usr/sbin/mosquitto ] && ! command -v mosquitto >/dev/null 2>&1; then
  apt_install mosquitto mosquitto-clients
fi

# PostgreSQL, the site store of a hub of lines: the demo and the tests make their own cluster
# with initdb in a temporary directory and run it on a free port (never the system's service).
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  apt_install postgresql
fi

# iproute2 (ip netns, veth): the site fault tests cut a line's link in a network namespace.
if ! command -v ip >/dev/null 2>&1 && [ ! -x /usr/sbin/ip ] && [ ! -x /sbin/ip ]; then
  apt_install iproute2
fi

# Debian's Chromium for the HMI's browser tests (Playwright drives it; it never downloads one).
if [ "${LANESORT_NO_BROWSER:-}" != 1 ] && ! command -v chromium >/dev/null 2>&1; then
  apt_install chromium fonts-dejavu-core
fi

# The lock must match pyproject.toml (standard library only, before anything is installed).
"$PYTHON" scripts/lock.py check

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  "$PYTHON" -m venv .venv
fi
# Install exactly the locked versions (hashes checked), pip and setuptools included, then
# LaneSort itself; again only when the lock or pyproject.toml changed since the last install.
stamp=.venv/.lanesort-installed
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing the locked packages (requirements.lock) into .venv" >&2
  pip_version=$(sed -n 's/^pip==\([^ ]*\).*/\1/p' requirements.lock)
  .venv/bin/python -m pip install -q "pip==$pip_version" >&2
  .venv/bin/python -m pip install -q --require-hashes -r requirements.lock >&2
  .venv/bin/python -m pip install -q --no-deps --no-build-isolation -e . >&2
  echo "$want" > "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
