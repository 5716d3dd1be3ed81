#!/usr/bin/env bash
# Set up pecora on a fresh Debian machine: a virtualenv in .venv with pecora and its test tools,
# pinned by constraints.txt. Idempotent; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if ! .venv/bin/python -c 'import daemon.cli, trustme' 2>/dev/null \
   || [ constraints.txt -nt .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -c constraints.txt -e '.[test]'
  touch .venv/.installed
fi
