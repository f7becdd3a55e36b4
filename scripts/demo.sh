#!/usr/bin/env bash
# Starts the demo line: sets everything up on a fresh machine, then `lanesort demo` with your
# arguments (for example: ./scripts/demo.sh --parcels 2000 --rate 150000 --seed 1 --report r.json).
set -euo pipefail
cd "$(dirname "$0")/.."
LANESORT_NO_BROWSER=1 source scripts/setup.sh  # the demo needs no test browser
exec lanesort demo "$@"
