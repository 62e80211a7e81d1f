"""Where MLflow runs and registered models live: the project's SQLite store, or a team's server.

With no ``MLFLOW_TRACKING_URI``, runs and the registry go to ``<project>/mlruns/mlflow.db`` and artifacts to
``<project>/mlruns/artifacts``; every stage, the CLI and the app resolve the same store (``mtl.config.paths``).
"""

from __future__ import annotations

import os
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

from mtl.config.paths import project_root
from mtl.tracking.ui import experiment_tags

DEFAULT_STORE = Path("mlruns")


def tracking_uri(root: str | Path | None = None) -> str:
    """``MLFLOW_TRACKING_URI`` if set (a team's server), else SQLite in ``<root>/mlruns/mlflow.db``.

    ``root`` defaults to the project root (``mtl.config.paths.project_root``).
    """
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    return f"sqlite:///{Path(root or project_root()).resolve() / DEFAULT_STORE / 'mlflow.db'}"


def has_store(root: str | Path | None = None) -> bool:
    """Whether the project under ``root`` has a tracking store to look in (a server always counts as one)."""
    uri = tracking_uri(root)
    return not uri.startswith("sqlite:///") or Path(uri[len("sqlite:///") :]).is_file()


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

    With a tracking server (``MLFLOW_TRACKING_URI``) the server decides where artifacts go. Either way the
    experiment is marked as model training and gets the "Headline scores" view (``mtl.tracking.ui``).
    """
    client = MlflowClient()
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        for key, value in experiment_tags(experiment.tags).items():  # an experiment made before these existed
            client.set_experiment_tag(experiment.experiment_id, key, value)
        return experiment.experiment_id
    location = None
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        location = (Path(root or project_root()).resolve() / DEFAULT_STORE / "artifacts").as_uri()
    return client.create_experiment(name, artifact_location=location, tags=experiment_tags())
