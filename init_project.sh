#!/usr/bin/env bash
# The user guide's ./init_project.sh (= make setup): install the project with the pinned torch, into the active
# conda environment when there is one (the guide's `conda activate fetch`), else into .venv. `make setup` says which.
set -euo pipefail
cd "$(dirname "$0")"
make setup
