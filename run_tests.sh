#!/usr/bin/env bash
# Install what the tests need (into .venv/, pinned) and run lint and the whole test suite.
# Arguments go to pytest, e.g. ./run_tests.sh -k write -x
set -euo pipefail
cd "$(dirname "$0")"
WITH_TEST=1 source scripts/ensure_venv.sh

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest "$@"
