"""MLflow tracking: where runs live, what every run records, and the per-epoch hook.

One MLflow run per pipeline run, shared by train, evaluate and export: train opens it and writes its id
to a small file the later stages read.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mlflow
from mlflow.tracking import MlflowClient

from mtl.evaluation import headline
from mtl.files import write_json
from mtl.train import EpochResult

DEFAULT_STORE = Path("mlruns")
EXPERIMENT = "mtl-pipeline"


def tracking_uri(root: str | Path = ".") -> str:
    """``MLFLOW_TRACKING_URI`` if set (a team's server), else SQLite in ``<root>/mlruns/mlflow.db``."""
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    return f"sqlite:///{(Path(root) / DEFAULT_STORE / 'mlflow.db').resolve()}"


def configure(root: str | Path = ".") -> str:
    """Point MLflow at the project's store and turn telemetry off; returns the tracking URI."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    uri = tracking_uri(root)
    (Path(root) / DEFAULT_STORE).mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def ensure_experiment(name: str = EXPERIMENT, root: str | Path = ".") -> str:
    """The experiment's id, creating it with artifacts under ``<root>/mlruns/artifacts`` when it is new."""
    client = MlflowClient()
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = None
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        location = (Path(root) / DEFAULT_STORE / "artifacts").resolve().as_uri()
    return client.create_experiment(name, artifact_location=location)


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


def git_commit(root: str | Path = ".") -> str | None:
    """The checked-out commit, or None outside a git repository."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def data_fingerprints(lock_path: str | Path = "dvc.lock", stage: str = "align") -> dict[str, str]:
    """The md5 of each data dependency of ``stage`` recorded in dvc.lock (empty when there is no lock yet)."""
    import yaml

    path = Path(lock_path)
    if not path.exists():
        return {}
    lock = yaml.safe_load(path.read_text()) or {}
    deps = lock.get("stages", {}).get(stage, {}).get("deps", [])
    return {f"data.{d['path']}": d["md5"] for d in deps if "md5" in d and d["path"].startswith("data")}


def run_tags(root: str | Path = ".") -> dict[str, str]:
    """Tags that trace a run back to code, experiment and data: git commit, DVC experiment name, data md5s."""
    tags = {"mtl.source": "dvc"}
    commit = git_commit(root)
    if commit:
        tags["mlflow.source.git.commit"] = commit
        tags["git_commit"] = commit
    if os.environ.get("DVC_EXP_NAME"):
        tags["dvc_exp_name"] = os.environ["DVC_EXP_NAME"]
    tags.update(data_fingerprints(Path(root) / "dvc.lock"))
    return tags


def epoch_metrics(result: EpochResult) -> dict[str, float]:
    """Flat MLflow metrics for one epoch: training losses, speed, and each validation set's headline."""
    metrics = {
        "train_loss": result.train_loss,
        "train_seconds": result.train_seconds,
        "sentences_per_second": result.sentences_per_second,
        "val_score": result.score,
    }
    metrics.update({f"train_{task}_loss": value for task, value in result.task_losses.items()})
    for name, per_set in result.validation.items():
        metrics.update({f"val_{name}_{key}": value for key, value in headline(per_set).items()})
    return metrics


def log_epoch(result: EpochResult) -> None:
    """The training callback: log one epoch's metrics to the active run, at step = epoch."""
    mlflow.log_metrics(epoch_metrics(result), step=result.epoch)


def write_run_ref(path: str | Path, run_id: str, experiment_id: str) -> None:
    """Record the pipeline run's id for the stages after train."""
    write_json(path, {"run_id": run_id, "experiment_id": experiment_id, "tracking_uri": mlflow.get_tracking_uri()})


def read_run_ref(path: str | Path) -> str:
    """The run id recorded by ``write_run_ref``."""
    return json.loads(Path(path).read_text())["run_id"]


def set_alias(name: str, version: str | int, alias: str) -> None:
    """Point ``models:/name@alias`` at ``version``."""
    MlflowClient().set_registered_model_alias(name, alias, str(version))
