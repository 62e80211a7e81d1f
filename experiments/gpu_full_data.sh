#!/usr/bin/env bash
# The full-data comparison on a machine with a GPU, as one prepared command inside a stated time budget.
#
#   experiments/gpu_full_data.sh                          # every run, BUDGET_S=3600
#   BUDGET_S=540 experiments/gpu_full_data.sh full-mtl-s42 hf-conll-s42   # some runs, 9 minutes
#
# It checks what the runs need first (seconds, so a missing piece costs no GPU time), then runs
# experiments/full_data.sh (docs/results.md, "Full data") with a deadline, and writes everything under one folder:
#
#   OUT_DIR/env.txt             date, commit, GPUs, versions, the settings below
#   OUT_DIR/full_data.log       the whole run's output
#   OUT_DIR/logs/<name>.log     each run's output
#   OUT_DIR/results/<name>.json each finished run's scores and training facts (experiments/results.py)
#   OUT_DIR/table.md            the results table and the noise statement
#   OUT_DIR/mlflow.db           the MLflow store of the runs (local SQLite store only)
#
# Time budget: nothing starts after BUDGET_S - RESERVE_S - MIN_RUN_S seconds, a run still going at
# BUDGET_S - RESERVE_S is stopped (then killed 30 s later), and RESERVE_S is left for the table, the
# workspace restore and the archive. Runs not started or stopped are listed at the end; their results are
# missing from the table (`–`), and RESUME=1 with the same OUT_DIR/results picks up where it ended.
#
# The train stage needs no device setting: with CUDA present each torchrun process trains on its own GPU
# (mtl.training.distributed.choose_device). PROCESSES (train.processes) defaults to the number of GPUs visible;
# train.batch_size stays the global batch, so the recipe is the same on 1 GPU, N GPUs or the CPU. The
# Hugging Face peers use the GPU through Trainer, with the same global batch (experiments/hf_peer.py).
#
# Settings (environment):
#   BUDGET_S=3600   wall-clock seconds for the whole script
#   RESERVE_S=120   of those, kept for the closing steps
#   MIN_RUN_S=120   no run starts with less than this left
#   OUT_DIR         the one folder (default experiments/runs/gpu-<UTC time>, ignored by git)
#   ARCHIVE         if set, OUT_DIR is also packed into this .tar.gz (for machines that hand back few files)
#   PYTHON          interpreter with the project and its `bench` extra installed; default .venv/bin/python,
#                   made by `make install` + the `bench` extra (as `make full-data` does) when it is missing
#   PROCESSES       torchrun processes of the train stage (default: GPUs visible)
#   ALLOW_CPU=1     run even when torch sees no GPU (to try the script itself on a CPU machine)
#   EPOCHS=3, SEEDS="42 43", RAW_DIR, RESUME, FORCE, DRY_RUN: as in experiments/full_data.sh
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
BUDGET_S="${BUDGET_S:-3600}"
RESERVE_S="${RESERVE_S:-120}"
MIN_RUN_S="${MIN_RUN_S:-120}"
OUT_DIR="${OUT_DIR:-experiments/runs/gpu-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$OUT_DIR/logs" "$OUT_DIR/results"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"

fail() {
    echo "gpu_full_data: $*" | tee -a "$OUT_DIR/env.txt" >&2
    exit 1
}

# 1. the interpreter: the one given, else the project's venv (made here if missing; needs the package index)
if [ -z "${PYTHON:-}" ]; then
    if [ ! -x .venv/bin/python ]; then
        make install || fail "make install failed (no package index here? set PYTHON to an interpreter with the project installed)"
        .venv/bin/python -m pip install -q -e ".[dev,bench]" || fail "installing the bench extra (accelerate, for the HF Trainer) failed"
    fi
    PYTHON="$PWD/.venv/bin/python"
fi
# dvc, torchrun and mlflow of that interpreter's environment come first on PATH, as `make` does
export PATH="$(dirname "$PYTHON"):$PATH"
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=1 PYTHONUNBUFFERED=1

# 2. preflight: everything the runs need, checked in seconds before any GPU time is spent
"$PYTHON" - <<'EOF' || fail "the interpreter lacks a requirement (above): install the project with its bench extra"
import importlib
for name in ("mtl", "torch", "transformers", "accelerate", "mlflow", "dvc", "seqeval", "onnx", "onnxruntime"):
    importlib.import_module(name)
EOF
command -v dvc >/dev/null || fail "no dvc on PATH next to $PYTHON"
git rev-parse --git-dir >/dev/null 2>&1 || fail "not a git repository: dvc exp run needs one"
gpus=$("$PYTHON" -c "import torch; print(torch.cuda.device_count())")
if [ "$gpus" = 0 ] && [ "${ALLOW_CPU:-0}" != 1 ]; then
    fail "torch sees no GPU (torch $("$PYTHON" -c 'import torch; print(torch.__version__)')): install a CUDA build of torch, or ALLOW_CPU=1"
fi
export PROCESSES="${PROCESSES:-$((gpus > 0 ? gpus : 1))}"
raw="${RAW_DIR:-$("$PYTHON" -c "
from mtl.config import PrepareConfig, load_params, resolve_path, section
print(resolve_path(section(load_params('params.yaml'), 'prepare', PrepareConfig).raw_dir).resolve())")}"
for file in sst2/train.tsv sst2/validation.tsv conll2003/train.txt conll2003/validation.txt conll2003/test.txt; do
    [ -f "$raw/$file" ] || fail "$raw/$file missing: set RAW_DIR to the folder with sst2/ and conll2003/ (the Hub is not reachable offline)"
done

# 3. what this run was: enough to read its train times against
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit: $(git rev-parse HEAD)"
    echo "budget_s: $BUDGET_S (reserve $RESERVE_S, min per run $MIN_RUN_S)"
    echo "epochs: ${EPOCHS:-3}  seeds: ${SEEDS:-42 43}  processes: $PROCESSES  raw_dir: $raw"
    echo "runs: ${*:-all}"
    "$PYTHON" -c "import platform, torch, transformers; print('python', platform.python_version(), '| torch', torch.__version__, '| cuda', torch.version.cuda, '| transformers', transformers.__version__)"
    command -v nvidia-smi >/dev/null && nvidia-smi -L || echo "nvidia-smi: not found"
    echo "cpus: $(nproc)"
} >"$OUT_DIR/env.txt"
cat "$OUT_DIR/env.txt"

# 4. the comparison, cut at the deadline
status=0
DEADLINE=$((started + BUDGET_S - RESERVE_S)) MIN_RUN_S="$MIN_RUN_S" RAW_DIR="$raw" PYTHON="$PYTHON" \
    RESULTS_DIR="$OUT_DIR/results" LOG_DIR="$OUT_DIR/logs" \
    experiments/full_data.sh "$@" 2>&1 | tee "$OUT_DIR/full_data.log" || status=$?

# 5. the table, the store, the archive
"$PYTHON" experiments/results.py --results-dir "$OUT_DIR/results" table >"$OUT_DIR/table.md" 2>&1 || true
store="mlruns/mlflow.db"
if [ -z "${MLFLOW_TRACKING_URI:-}" ] && [ -f "$store" ]; then cp "$store" "$OUT_DIR/mlflow.db"; fi
if [ -n "${ARCHIVE:-}" ]; then
    tar -czf "$ARCHIVE" -C "$(dirname "$OUT_DIR")" "$(basename "$OUT_DIR")"
fi
echo "gpu_full_data: $(($(date +%s) - started)) s of $BUDGET_S; everything is in $OUT_DIR${ARCHIVE:+ and $ARCHIVE}"
exit "$status"
