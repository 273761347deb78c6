#!/usr/bin/env bash
# The README's test command: a virtual environment with the pinned packages, then pytest in a random order.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q -r requirements-dev.txt
export GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1 CNN_DEMO_DATA="${CNN_DEMO_DATA:-../shared/data/mnist}"
# the modules in a random order, and each module's tests in a random order within it (a module's
# server fixture stays shared); the seed is printed in the header: replay a failure's order with
# `bash scripts/test.sh --random-order-seed=<seed>`
.venv/bin/python -m pytest --random-order-bucket=module "$@"
