"""The team set-up, for real: PostgreSQL, `mlflow server` on it with served artifacts, the pipeline, `mlflow models serve`.

Opt-in (`make test-postgres` sets MTL_TEST_POSTGRES=1): it starts a database cluster and two servers.
Everything binds 127.0.0.1. The pipeline learns where to track from MLFLOW_TRACKING_URI alone.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests

from tests.conftest import BIN, free_port, run_ok, wait_until_up

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("MTL_TEST_POSTGRES") != "1", reason="opt-in: run `make test-postgres`"),
]

MODEL_NAME = "mtl-pipeline"
# outputs of the pipeline this test reads (per data source after the lead's issue 8)
REGISTERED = "models/real/registered.json"  # the real-data model's registration record
# PostgreSQL refuses to run as root: as root, the cluster runs as this (existing) user
PG_USER = "postgres"
DB_ROLE = "mtl"


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        pytest.fail(f"{name} not found: install PostgreSQL (Debian: apt-get install postgresql), or run `make test-postgres` as root")
    return found


def _as_db_user(cmd: list[str]) -> list[str]:
    """``cmd`` run as PG_USER when we are root (initdb and postgres refuse root), else as is."""
    if os.geteuid() != 0:
        return cmd
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        pytest.fail(f"running as root and there is no user {PG_USER!r} to run PostgreSQL as (useradd --system {PG_USER})")
    return ["runuser", "-u", PG_USER, "--", *cmd]


@pytest.fixture(scope="module")
def postgres():
    """A fresh PostgreSQL cluster on 127.0.0.1 with a database ``mlflow``; its URI; stopped and deleted afterwards."""
    home = Path(tempfile.mkdtemp(prefix="mtl-pg-"))
    if os.geteuid() == 0:
        shutil.chown(home, PG_USER)
    data, port = home / "data", free_port()
    run_ok(_as_db_user([_pg_bin("initdb"), "-D", str(data), "-U", DB_ROLE, "--auth=trust", "-E", "UTF8"]), home, dict(os.environ))
    # -k: the socket lives in the cluster's own folder; -h: TCP on 127.0.0.1 only
    options = f"-p {port} -h 127.0.0.1 -k {home}"
    run_ok(_as_db_user([_pg_bin("pg_ctl"), "-D", str(data), "-l", str(home / "server.log"), "-o", options, "-w", "start"]), home, dict(os.environ))
    try:
        psql = [_pg_bin("psql"), "-h", "127.0.0.1", "-p", str(port), "-U", DB_ROLE, "-v", "ON_ERROR_STOP=1"]
        run_ok([*psql, "-d", "postgres", "-c", "CREATE DATABASE mlflow"], home, dict(os.environ))
        yield f"postgresql://{DB_ROLE}@127.0.0.1:{port}/mlflow", [*psql, "-d", "mlflow", "-tA"]
    finally:
        subprocess.run(_as_db_user([_pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]), capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def _start(cmd: list[str], env: dict, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=60)


@pytest.fixture(scope="module")
def tracking_server(postgres, tmp_path_factory):
    """`mlflow server` on the PostgreSQL store, serving artifacts from a folder; its URL and that folder."""
    uri, _ = postgres
    artifacts = tmp_path_factory.mktemp("artifacts")
    port = free_port()
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "MLFLOW_DISABLE_TELEMETRY": "true"}
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        env.pop(name, None)
    server = _start(
        ["mlflow", "server", "--backend-store-uri", uri, "--artifacts-destination", str(artifacts), "--serve-artifacts",
         "-h", "127.0.0.1", "-p", str(port), "--workers", "1"],
        env, artifacts,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/health", server, seconds=180)
        yield url, artifacts
    finally:
        _stop(server)


def test_pipeline_tracks_registers_and_serves_through_the_team_server(project, postgres, tracking_server, tmp_path_factory):
    from mlflow.tracking import MlflowClient

    source, project_env = project
    url, artifacts = tracking_server
    _, query = postgres
    root = tmp_path_factory.mktemp("team") / "repo"
    shutil.copytree(source, root, symlinks=True)
    shutil.rmtree(root / "mlruns", ignore_errors=True)
    # the only switch: MLFLOW_TRACKING_URI names the server (no local store, no artifact path)
    env = {**project_env, "MLFLOW_TRACKING_URI": url, "MLFLOW_REGISTRY_URI": url}
    run_ok(["dvc", "repro", "--force"], root, env, timeout=900)

    registered = json.loads((root / REGISTERED).read_text())
    run_id = registered["run_id"]
    client = MlflowClient(tracking_uri=url, registry_uri=url)
    champion = client.get_model_version_by_alias(MODEL_NAME, "champion")
    assert champion.run_id == run_id and str(champion.version) == registered["version"]
    run = client.get_run(run_id)
    assert run.info.artifact_uri.startswith("mlflow-artifacts:"), run.info.artifact_uri
    assert "val_score" in run.data.metrics and run.data.params["train.epochs"] == "1"
    # the rows are in PostgreSQL and the files in the served folder, not in the clone
    assert run_ok([*query, "-c", f"SELECT count(*) FROM runs WHERE run_uuid = '{run_id}'"], root, env).stdout.strip() == "1"
    assert run_ok([*query, "-c", f"SELECT name FROM registered_models WHERE name = '{MODEL_NAME}'"], root, env).stdout.strip() == MODEL_NAME
    assert any(p.name == "MLmodel" for p in artifacts.rglob("MLmodel"))
    assert not (root / "mlruns" / "mlflow.db").exists()

    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    serve_env = {**clean, "PATH": f"{BIN}:{os.environ['PATH']}", "MLFLOW_TRACKING_URI": url, "MLFLOW_REGISTRY_URI": url, "MLFLOW_DISABLE_TELEMETRY": "true"}
    served = _start(
        ["mlflow", "models", "serve", "-m", f"models:/{MODEL_NAME}@champion", "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
        serve_env, tmp_path_factory.mktemp("serve"),
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/ping", served, seconds=180)
        response = requests.post(f"http://127.0.0.1:{port}/invocations", json={"inputs": ["Apple opened a store in Berlin"]}, timeout=60)
        assert response.status_code == 200, response.text
        prediction = response.json()["predictions"][0]
        assert prediction["sentence_label"] in ("negative", "positive")
        assert [w["word"] for w in prediction["words"]] == ["Apple", "opened", "a", "store", "in", "Berlin"]
    finally:
        _stop(served)
