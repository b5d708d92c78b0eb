#!/usr/bin/env bash
# Rewrite constraints.txt from a fresh virtualenv built from requirements*.txt alone, so it
# pins exactly what the project needs (nothing installed by hand).
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
python3 -m venv "$scratch/venv"
"$scratch/venv/bin/python" -m pip install --quiet --upgrade "pip==26.3"
"$scratch/venv/bin/python" -m pip install --quiet -r requirements.txt -r requirements-test.txt
{
  echo "# Every transitive dependency, pinned (pip freeze of a working .venv). Regenerate with"
  echo "# scripts/freeze_constraints.sh after changing requirements*.txt."
  "$scratch/venv/bin/python" -m pip freeze --exclude-editable
} > constraints.txt
echo "constraints.txt: $(grep -vc '^#' constraints.txt) pins"
