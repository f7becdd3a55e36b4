#!/usr/bin/env bash
# The test command: sets everything up on a fresh machine, then lint, layer contracts and tests.
#   ./scripts/test.sh              everything
#   ./scripts/test.sh -m "not system"   skip the whole-line system tests
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
echo "== ruff" && ruff check . && ruff format --check .
echo "== import-linter (DESIGN.md layers)" && lint-imports
echo "== pytest" && pytest "$@"
