#!/usr/bin/env bash
# Runs every test (and the linter). Fails when a test fails, and also when no
# test ran at all: pytest's exit code 5 is not a pass here.
set -uo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=offscreen

.venv/bin/python -m ruff check . || exit 1

.venv/bin/python -m pytest "$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "test.sh: pytest collected no tests; treating that as a failure" >&2
  exit 1
fi
exit "$status"
