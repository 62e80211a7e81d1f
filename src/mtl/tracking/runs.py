"""What every MLflow run records so that a model traces back to its code, data and experiment, and how a run is found again.

One MLflow run per trained model. Train opens it and tags it with the saved model's content hash; evaluate
and export find it again by that hash. So no run id lives in a DVC-tracked file (``dvc.lock`` stays the
same across clean runs), and a stage never logs into the run of another model after ``dvc exp apply``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mlflow
from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from mtl.config.paths import project_root

# One MLflow experiment per data source, so the runs table never mixes models of different tasks.
MODEL_HASH_TAG = "mtl.model_hash"
SOURCE_TAG = "mtl.source"
# `mtl fine-tune` runs: their own experiment, each tagged with the directory its model was saved to, so the
# app lists every CLI model from MLflow
CLI_EXPERIMENT = "mtl-cli"
MODEL_DIR_TAG = "mtl.model_dir"


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"train": {"epochs": 3}}`` → ``{"train.epochs": 3}``."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def git_commit(root: str | Path | None = None) -> str | None:
    """The checked-out commit of the project, or None outside a git repository."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root or project_root(), capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def run_name() -> str:
    """A run's name: the DVC experiment's (``dvc exp run``), else ``repro-<short commit>``, so runs are never random names."""
    name = os.environ.get("DVC_EXP_NAME")
    if name:
        return name
    commit = git_commit()
    return f"repro-{commit[:7]}" if commit else "repro"


def data_fingerprints(stage: str, lock_path: str | Path = "dvc.lock") -> dict[str, str]:
    """The md5 of each data dependency of ``stage`` recorded in dvc.lock (empty when there is no lock yet)."""
    import yaml

    path = Path(lock_path)
    if not path.exists():
        return {}
    lock = yaml.safe_load(path.read_text()) or {}
    deps = lock.get("stages", {}).get(stage, {}).get("deps", [])
    return {f"data.{d['path']}": d["md5"] for d in deps if "md5" in d and d["path"].startswith("data")}


def run_tags(source: str) -> dict[str, str]:
    """Tags that trace a run back to code, experiment and data: git commit, DVC experiment, data md5s."""
    tags = {SOURCE_TAG: source}
    commit = git_commit()
    if commit:
        tags["mlflow.source.git.commit"] = commit
        tags["git_commit"] = commit
    for variable, tag in (("DVC_EXP_NAME", "dvc_exp_name"), ("DVC_EXP_BASELINE_REV", "dvc_exp_baseline")):
        if os.environ.get(variable):
            tags[tag] = os.environ[variable]
    tags.update(data_fingerprints(f"align@{source}"))
    return tags


def find_run(model_hash: str) -> Run:
    """The newest MLflow run that trained the model with content hash ``model_hash``.

    Raises ``LookupError`` with what to do when the store has none (e.g. a model pulled without its runs).
    """
    client = MlflowClient()
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(experiments, f"tags.`{MODEL_HASH_TAG}` = '{model_hash}'", order_by=["attributes.start_time DESC"], max_results=1)
    if not runs:
        raise LookupError(
            f"no MLflow run in {mlflow.get_tracking_uri()} trained the model with hash {model_hash}; "
            "re-train it with `dvc repro --force <train stage>` or point MLFLOW_TRACKING_URI at the store that has it"
        )
    return runs[0]
