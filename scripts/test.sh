#!/usr/bin/env bash
# The test command: sets everything up on a fresh machine, then lint, layer contracts and tests.
#   ./scripts/test.sh                    everything
#   ./scripts/test.sh -m "not system"    skip the whole-line system tests
# With arguments, one pytest run with them. Without, the tests other than the system tests
# run in two pytest-xdist workers (3 minutes on 2 cores instead of 6), then the system
# tests one at a time: whole lines at their real rates, they must not share the CPU with
# other tests (under another suite's load a line answers late and they fail).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
echo "== ruff" && ruff check . && ruff format --check .
echo "== import-linter (DESIGN.md layers)" && lint-imports
if [ $# -gt 0 ]; then
  echo "== pytest $*" && exec pytest "$@"
fi
echo "== pytest -m 'not system' -n 2" && pytest -m "not system" -n 2
echo "== pytest -m system" && pytest -m system
