#!/usr/bin/env bash
# The README's run command: a virtual environment with the pinned packages, then the app.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q -r requirements.txt
exec .venv/bin/python app.py "$@"
