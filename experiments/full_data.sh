#!/usr/bin/env bash
# The full-data comparison (docs/results.md, "Full data"), end to end: our multi-task model, our two single-task runs and the
# two Hugging Face recipe peers, each on every seed, then the results table.
#
#   make full-data                                   # or: experiments/full_data.sh
#   EPOCHS=1 SEEDS=42 make full-data                 # a shorter budget, one seed
#   experiments/full_data.sh full-mtl-s43 hf-sst2-s43   # only the runs named
#
# Runs are named <configuration>-s<seed> (experiments/results.py parses the names back):
#   full-mtl-sN            dvc exp run, both task weights 1 (the pipeline's default recipe)
#   full-sentence-only-sN  the same with train.task_weights.token=0   (same code, same budget)
#   full-token-only-sN     the same with train.task_weights.sentence=0
#   full-mtl-twW-sN        a multi-task variant: token loss weight W (e.g. full-mtl-tw2-s42), never run by default
#   full-mtl-tempT-sN      a multi-task variant: temperature sampling at T (e.g. full-mtl-temp2-s42), never run by default
#   full-mtl-lrR-sN        a multi-task variant: encoder learning rate R (e.g. full-mtl-lr5e-5-s42), never run by default
#   full-mtl-eE-sN         a multi-task variant: E epochs instead of EPOCHS (e.g. full-mtl-e5-s42), never run by default
#   hf-sst2-sN             experiments/hf_peer.py sst2  (Trainer, run_glue recipe), the same epochs and rows
#   hf-conll-sN            experiments/hf_peer.py conll (Trainer, run_ner recipe)
# Every pipeline run trains on all the data (prepare.sst2_train=null: SST-2 train less the dev split;
# prepare.conll_train=null) for up to EPOCHS epochs, the epoch chosen on SST-2 dev and CoNLL validation
# only (mtl.data.splits); SST-2 validation and CoNLL test are held out and choose nothing.
#
# Settings (environment):
#   EPOCHS=3          epochs of every run, ours and the peers'
#   SEEDS="42 43"     train.seed of the runs named by default (also the peers' --seed)
#   RESULTS_DIR       where each run's JSON goes (default experiments/results)
#   LOG_DIR           if set, each run's output is also written to LOG_DIR/<name>.log
#   RAW_DIR           if set, the raw data directory for ours (-S prepare.raw_dir) and the peers (--data-dir)
#   PROCESSES         if set, -S train.processes (torchrun processes: one per GPU; docs/scaling.md)
#   DEADLINE          if set (Unix seconds), no run starts later than DEADLINE - MIN_RUN_S, and a run still
#                     going at DEADLINE is stopped: the runs finished by then are collected and tabled
#   MIN_RUN_S=120     see DEADLINE
#   RESUME=1          skip runs whose RESULTS_DIR/<name>.json exists (a run cut short by DEADLINE has none)
#   FORCE=1           re-run a DVC experiment whose name exists already (dvc exp run -f), instead of stopping
#   DRY_RUN=1         print each run's command and run nothing (the workspace is left alone)
#
# Runs in the workspace, one job at a time (parallel torch jobs on few cores slow each other several
# fold). Each pipeline run is kept by DVC (`dvc exp show`) and MLflow (run name = experiment name) and is
# collected into RESULTS_DIR as soon as it ends, so an interrupted comparison keeps what it finished.
# The workspace is put back to its committed state at the end, also after a failure. A run that fails
# does not stop the others; the script exits 1 when any run failed or was not started.
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS="${EPOCHS:-3}"
SEEDS="${SEEDS:-42 43}"
PY="${PYTHON:-python}"
RESULTS_DIR="${RESULTS_DIR:-experiments/results}"
MIN_RUN_S="${MIN_RUN_S:-120}"
CONFIGURATIONS=(full-mtl full-sentence-only full-token-only hf-sst2 hf-conll)

if [ "$#" -gt 0 ]; then
    names=("$@")
else  # seed by seed, so a comparison cut short still has every configuration on the first seed
    names=()
    for seed in $SEEDS; do
        for configuration in "${CONFIGURATIONS[@]}"; do names+=("$configuration-s$seed"); done
    done
fi

# Safety: dvc exp run changes params.yaml and dvc.lock in the workspace, and the restore below checks
# them out again; uncommitted edits there would be lost.
if ! git diff --quiet HEAD -- params.yaml dvc.lock; then
    echo "params.yaml or dvc.lock has uncommitted changes; commit or stash them first" >&2
    exit 1
fi
# Every name must parse and be known before hours of training start.
for name in "${names[@]}"; do
    seed="${name##*-s}"
    configuration="${name%-s*}"
    if [[ ! "$seed" =~ ^[0-9]+$ ]] || { [[ ! " ${CONFIGURATIONS[*]} " == *" $configuration "* ]] \
        && [[ ! "$configuration" =~ ^full-mtl-((tw|temp|lr)[0-9]+(\.[0-9]+)?(e-[0-9]+)?|e[1-9][0-9]*)$ ]]; }; then
        echo "unknown run name $name: expected <configuration>-s<seed>, configuration one of ${CONFIGURATIONS[*]} full-mtl-tw<weight> full-mtl-temp<temperature> full-mtl-lr<learning rate> full-mtl-e<epochs>" >&2
        exit 1
    fi
done
# The peers' Trainer needs accelerate (the `bench` extra, which `make full-data` installs): find out now,
# not after the first hour of training
if [[ " ${names[*]}" == *" hf-"* ]] && [ "${DRY_RUN:-0}" != 1 ] && ! "$PY" -c "import accelerate" 2>/dev/null; then
    echo "the Hugging Face peers need accelerate: $PY -m pip install -e '.[bench]' (make full-data installs it)" >&2
    exit 1
fi
mkdir -p "$RESULTS_DIR"
[ -z "${LOG_DIR:-}" ] || mkdir -p "$LOG_DIR"

restore() {
    # back to the committed pipeline state (the experiments stay in `dvc exp show` and MLflow); the
    # committed outputs come back from the DVC cache if `make run` put them there, else `dvc repro` rebuilds them
    git checkout -- params.yaml dvc.lock metrics
    dvc checkout --quiet || echo "the committed outputs are not in the DVC cache: run dvc repro to rebuild them" >&2
    # export.json is not cached (dvc.yaml says why), so checkout leaves the last experiment's stamp behind:
    # re-export the committed models (their registered versions are reused) so that dvc status is clean
    dvc repro --quiet export@real export@example || echo "re-export failed: run dvc repro" >&2
}
[ "${DRY_RUN:-0}" = 1 ] || trap restore EXIT

# run NAME CMD...: CMD with its output also in LOG_DIR/NAME.log, stopped at DEADLINE if one is set
run() {
    local name="$1"
    shift
    local log="${LOG_DIR:+$LOG_DIR/$name.log}"
    if [ -n "${DEADLINE:-}" ]; then
        local left=$((DEADLINE - $(date +%s)))
        # timeout 0 would mean no limit at all
        set -- timeout --signal=TERM --kill-after=30 "$((left > 1 ? left : 1))" "$@"
    fi
    echo "== $name: $*"
    [ "${DRY_RUN:-0}" != 1 ] || return 0
    if [ -n "$log" ]; then "$@" 2>&1 | tee "$log"; else "$@"; fi
}

# the -S overrides of one of our configurations
pipeline_flags() {
    local configuration="$1" seed="$2"
    local epochs="$EPOCHS" sentence=1.0 token=1.0
    case "$configuration" in
        full-mtl-e*) epochs="${configuration#full-mtl-e}" ;;
        full-sentence-only) token=0 ;;
        full-token-only) sentence=0 ;;
        full-mtl-tw*) token="${configuration#full-mtl-tw}" ;;
    esac
    local flags=(-S prepare.sst2_train=null -S prepare.conll_train=null -S "train.epochs=$epochs" -S "train.seed=$seed")
    flags+=(-S "train.task_weights.sentence=$sentence" -S "train.task_weights.token=$token")
    case "$configuration" in
        full-mtl-temp*) flags+=(-S train.sampling=temperature -S "train.temperature=${configuration#full-mtl-temp}") ;;
        # DVC reads -S values as YAML 1.2, where 5e-5 is a float
        full-mtl-lr*) flags+=(-S "train.learning_rate=${configuration#full-mtl-lr}") ;;
    esac
    [ -z "${RAW_DIR:-}" ] || flags+=(-S "prepare.raw_dir=$RAW_DIR")
    [ -z "${PROCESSES:-}" ] || flags+=(-S "train.processes=$PROCESSES")
    printf '%s\n' "${flags[@]}"
}

# one run, by name; returns non-zero when it fails
run_one() {
    local name="$1"
    local seed="${name##*-s}" configuration="${name%-s*}"
    case "$configuration" in
        hf-sst2 | hf-conll)
            local peer=(--epochs "$EPOCHS" --seed "$seed" --run-name "$name" --out "$RESULTS_DIR/$name.json")
            [ -z "${RAW_DIR:-}" ] || peer+=(--data-dir "$RAW_DIR")
            run "$name" "$PY" experiments/hf_peer.py "${configuration#hf-}" "${peer[@]}"
            ;;
        *)
            local force=()
            if [ "${DRY_RUN:-0}" != 1 ] && dvc exp list --name-only 2>/dev/null | grep -qx "$name"; then
                # dvc finds the clash only after the whole run: check before it starts
                if [ "${FORCE:-0}" != 1 ]; then
                    echo "DVC experiment $name exists already: FORCE=1 re-runs it, or dvc exp remove $name" >&2
                    return 1
                fi
                force=(-f)
            fi
            local flags
            mapfile -t flags < <(pipeline_flags "$configuration" "$seed")
            run "$name" dvc exp run "${force[@]}" -n "$name" "${flags[@]}" || return 1
            [ "${DRY_RUN:-0}" = 1 ] || "$PY" experiments/results.py --results-dir "$RESULTS_DIR" collect "$name"
            ;;
    esac
}

failed=()
skipped=()
for name in "${names[@]}"; do
    if [ "${RESUME:-0}" = 1 ] && [ -f "$RESULTS_DIR/$name.json" ]; then
        echo "== $name: done already ($RESULTS_DIR/$name.json), skipped (RESUME=1)"
        continue
    fi
    if [ -n "${DEADLINE:-}" ] && [ "$(($(date +%s) + MIN_RUN_S))" -gt "$DEADLINE" ]; then
        skipped+=("$name")
        continue
    fi
    run_one "$name" || failed+=("$name")
done

[ "${DRY_RUN:-0}" = 1 ] && exit 0
echo
"$PY" experiments/results.py --results-dir "$RESULTS_DIR" table || true
# an incomplete comparison is not a success: say which runs are missing and exit 1
[ "${#skipped[@]}" -eq 0 ] || echo "not started (time budget): ${skipped[*]}" >&2
[ "${#failed[@]}" -eq 0 ] || echo "failed or stopped at the deadline: ${failed[*]}" >&2
[ "${#skipped[@]}" -eq 0 ] && [ "${#failed[@]}" -eq 0 ]
