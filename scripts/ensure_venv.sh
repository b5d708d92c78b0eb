# Sourced by run_local.sh and run_tests.sh: create .venv/ at the repo root and install the
# pinned dependencies into it, again only when the install files change.
# WITH_TEST=1 also installs the test dependencies.
set -euo pipefail
PYTHON="${PYTHON:-python3}"
VENV=".venv"
extras=""
[ "${WITH_TEST:-0}" = "1" ] && extras="[test]"
stamp_source="$(cat setup.py requirements.txt requirements-test.txt constraints.txt; echo "$extras")"
stamp="$(printf '%s' "$stamp_source" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ]; then
  echo "Creating $VENV with $("$PYTHON" --version)..." >&2
  "$PYTHON" -m venv "$VENV"
fi
if [ "$(cat "$VENV/.install-stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "Installing pinned dependencies into $VENV (first run takes a few minutes)..." >&2
  log="$VENV/install.log"
  if ! { "$VENV/bin/python" -m pip install --upgrade "pip==26.3" &&
    "$VENV/bin/python" -m pip install -c constraints.txt -e ".$extras"; } >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "Installing dependencies failed; the whole log is in $log" >&2
    exit 1
  fi
  echo "$stamp" > "$VENV/.install-stamp"
fi
