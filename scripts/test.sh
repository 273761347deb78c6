#!/usr/bin/env bash
# The README's test command: a virtual environment with the pinned packages, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q -r requirements-dev.txt
export GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1 CNN_DEMO_DATA="${CNN_DEMO_DATA:-../shared/data/mnist}"
.venv/bin/python -m pytest "$@"
