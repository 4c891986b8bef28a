#!/usr/bin/env bash
# Sets up archsim on a fresh machine and runs the main job:
#   1. a virtual environment in .venv with archsim and every extra (torch for the frontends, dask, tests);
#   2. the main job: simulate the papers' workloads and write the report to reports/out/index.md.
# Needs only Python >= 3.11 with pip and venv. Re-running it is safe (it reuses .venv).
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "setup.sh: archsim needs Python >= 3.11 (set PYTHON=...)" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[workloads,dask,dev]"

# The main job.
.venv/bin/archsim reproduce -o reports/out
echo "setup.sh: done. The report is reports/out/index.md; run the tests with: .venv/bin/python -m pytest"
