"""MLflow tracking: where runs live, what every run records, and the per-epoch hook.

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

from mtl.config import project_root
from mtl.evaluation import headline
from mtl.splits import SHORT, check_split
from mtl.train import EpochResult

DEFAULT_STORE = Path("mlruns")
MODEL_HASH_TAG = "mtl.model_hash"
SOURCE_TAG = "mtl.source"


def tracking_uri(root: str | Path | None = None) -> str:
    """``MLFLOW_TRACKING_URI`` if set (a team's server), else SQLite in ``<root>/mlruns/mlflow.db``.

    ``root`` defaults to the project root (``mtl.config.project_root``).
    """
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    return f"sqlite:///{Path(root or project_root()).resolve() / DEFAULT_STORE / 'mlflow.db'}"


def configure(root: str | Path | None = None) -> str:
    """Point MLflow at the project's store (under ``root``, default the project root) and turn telemetry off."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    # a progress bar per artifact download is noise in stage logs
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    uri = tracking_uri(root)
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def ensure_experiment(name: str, root: str | Path | None = None) -> str:
    """The experiment's id, creating it when new; with the local store its artifacts go to ``mlruns/artifacts``.

    With a tracking server (``MLFLOW_TRACKING_URI``) the server decides where artifacts go.
    """
    client = MlflowClient()
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = None
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        location = (Path(root or project_root()).resolve() / DEFAULT_STORE / "artifacts").as_uri()
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


def epoch_metrics(result: EpochResult) -> dict[str, float]:
    """Flat MLflow metrics for one epoch: training losses, speed, the selection score (``val_score``) and
    each selection set's headline as ``val_<dataset>_<split>_<metric>`` (``val_sst2_dev_sentence_accuracy``)."""
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


def headline_metrics(metrics: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, float]:
    """The few scores the MLflow runs table compares, under names that are the same for every data source.

    ``metrics`` is ``scores.json``'s shape: ``{dataset: {split: {metric: value}}}``. Each name is the split's
    short name and the metric (``mtl.splits.SHORT``): ``dev_sentence_accuracy`` (SST-2 dev, which chooses),
    ``val_sentence_accuracy`` (SST-2 validation, held out), ``val_entity_f1`` and ``test_entity_f1``
    (CoNLL-2003). Each data set labels one task, so no two data sets share a name.
    """
    flat: dict[str, float] = {}
    for splits in metrics.values():
        for split, scores in splits.items():
            if split == "train":
                continue
            for key in ("sentence_accuracy", "entity_f1", "served_entity_f1"):
                if key in scores:
                    flat[f"{SHORT[check_split(split)]}_{key}"] = float(scores[key])
    return flat


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
