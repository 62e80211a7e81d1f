#!/usr/bin/env bash
# The user guide's ./init_project.sh (= make setup): create .venv and install the project with the pinned torch.
set -euo pipefail
cd "$(dirname "$0")"
make setup
echo "installed; activate with: source .venv/bin/activate   (conda users: conda env create -f environment.yml; conda activate fetch)"
