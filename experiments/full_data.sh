#!/usr/bin/env bash
# The README's full-data results table, end to end: three pipeline experiments, two Hugging Face peers.
#
#   make full-data            (or: EPOCHS=2 make full-data)
#
# 1. `dvc exp run` on all 67,349 SST-2 and 14,041 CoNLL-2003 training sentences: the multi-task model,
#    then the same code with one task's weight at 0 (single-task baselines, same budget).
# 2. experiments/hf_peer.py: the standard Trainer recipes (run_glue, run_ner) with the same settings.
# 3. experiments/results.py: collect each run from MLflow into experiments/results/, print the table.
#
# Runs in the workspace, one job at a time (parallel torch jobs on few cores slow each other several
# fold). Each experiment is kept by DVC (`dvc exp show`) and MLflow (run name = experiment name); the
# workspace is put back to its committed state at the end. About 75 minutes per epoch on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS="${EPOCHS:-1}"
PY="${PYTHON:-python}"
if ! git diff --quiet HEAD -- params.yaml dvc.lock; then
    echo "params.yaml or dvc.lock has uncommitted changes; commit or stash them first" >&2
    exit 1
fi
full=(-S prepare.sst2_train=null -S prepare.conll_train=null -S "train.epochs=$EPOCHS")
dvc exp run -n full-mtl "${full[@]}" -S train.task_weights.sentence=1.0 -S train.task_weights.token=1.0
dvc exp run -n full-token-only "${full[@]}" -S train.task_weights.sentence=0 -S train.task_weights.token=1.0
dvc exp run -n full-sentence-only "${full[@]}" -S train.task_weights.sentence=1.0 -S train.task_weights.token=0
"$PY" experiments/hf_peer.py sst2 --epochs "$EPOCHS" --out experiments/results/hf-sst2.json
"$PY" experiments/hf_peer.py conll --epochs "$EPOCHS" --out experiments/results/hf-conll.json
"$PY" experiments/results.py collect full-mtl full-token-only full-sentence-only
"$PY" experiments/results.py table
# back to the committed pipeline state (the experiments stay in `dvc exp show` and MLflow); the
# committed outputs come back from the DVC cache if `make run` put them there, else `dvc repro` rebuilds them
git checkout -- params.yaml dvc.lock metrics
dvc checkout --quiet || echo "the committed outputs are not in the DVC cache: run dvc repro to rebuild them" >&2
