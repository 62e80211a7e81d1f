"""Security bits: servers bind 127.0.0.1 unless told otherwise, and no secret from the environment is stored."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import FAKE_HF_TOKEN, REPO

# Where a pipeline run writes what it keeps (MLflow's SQLite store and artifacts, DVC's cache, the model).
STORED = ("mlruns", "models", "metrics", ".dvc/cache")


def _make_dry_run(*args: str) -> str:
    """The commands ``make`` would run, without running them (the install step is taken as done)."""
    done = subprocess.run(["make", "-n", "-o", ".venv/.installed", *args], cwd=REPO, capture_output=True, text=True, check=True)
    return done.stdout


@pytest.mark.parametrize("target, marker", [("serve", "mlflow models serve"), ("ui", "mlflow ui"), ("app", "run_streamlit.sh")])
def test_servers_bind_localhost_by_default(target, marker):
    [line] = [line for line in _make_dry_run(target).splitlines() if marker in line]
    assert "127.0.0.1" in line and "0.0.0.0" not in line


def test_the_app_script_binds_what_make_passes_and_localhost_alone():
    script = (REPO / "run_streamlit.sh").read_text()
    assert '--server.address "${HOST:-127.0.0.1}"' in script


def test_make_serve_passes_workers_host_and_port_through():
    [line] = [line for line in _make_dry_run("serve", "WORKERS=2", "HOST=0.0.0.0", "PORT=6001").splitlines() if "models serve" in line]
    assert "--workers 2" in line and "-h 0.0.0.0" in line and "-p 6001" in line
    # no download progress bar in the server's log (Makefile says why)
    assert "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR=false mlflow models serve" in line


@pytest.mark.slow
def test_hf_token_from_the_environment_is_stored_nowhere(project):
    """The project's pipeline ran (train, evaluate, export) with a fake HF_TOKEN in its environment."""
    root, env = project
    assert env["HF_TOKEN"] == FAKE_HF_TOKEN
    needle = FAKE_HF_TOKEN.encode()
    scanned = 0
    for top in STORED:
        for path in (root / top).rglob("*"):
            if path.is_file():
                scanned += 1
                assert needle not in path.read_bytes(), f"{path.relative_to(root)} holds the HF_TOKEN value"
    assert (root / "mlruns" / "mlflow.db").is_file() and scanned > 10
