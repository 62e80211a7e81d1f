"""Where MLflow runs and registered models live: the project's SQLite store, or a team's server.

With no ``MLFLOW_TRACKING_URI``, runs and the registry go to ``<project>/mlruns/mlflow.db`` and artifacts to
``<project>/mlruns/artifacts``; every stage, the CLI and the app resolve the same store (``mtl.config.paths``).
"""

from __future__ import annotations

import functools
import os
import sqlite3
from contextlib import closing
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


class StoreVersionError(LookupError):
    """The project's SQLite store has another MLflow's schema than the MLflow installed here."""


@functools.cache
def _mlflow_schema() -> tuple[str, frozenset[str]]:
    """The installed MLflow's store schema: its head revision and every revision it knows (its migrations)."""
    import mlflow.store.db_migrations as migrations
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(Path(migrations.__file__).parent))
    return script.get_current_head(), frozenset(r.revision for r in script.walk_revisions())


def check_store_schema(uri: str) -> None:
    """Refuse a local SQLite store whose schema is not the installed MLflow's, before MLflow opens it.

    MLflow 3 migrates an older store in place as it opens it, and one way: a store of MLflow 2.17.2 opened once
    by `mtl summary` became unreadable to MLflow 2.17.2 ("Can't locate revision identified by 'dc11669786a5'").
    Stopping first lets the user keep a copy. A store of a newer MLflow cannot be opened at all.
    """
    if not uri.startswith("sqlite:///"):
        return  # a tracking server migrates its own database
    path = Path(uri.removeprefix("sqlite:///"))
    if not path.is_file():
        return
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        try:
            row = db.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.Error:
            return  # no MLflow tables yet: MLflow creates them
    head, known = _mlflow_schema()
    found = row[0] if row else None
    if found in (None, head):
        return
    if found in known:
        raise StoreVersionError(
            f"{path} was written by an older MLflow (schema {found}; MLflow {mlflow.__version__} has {head}). Opening it "
            f"migrates it in place, and the older MLflow can no longer read it: keep a copy, then upgrade it: "
            f"cp -r {path.parent} {path.parent}.backup && mlflow db upgrade {uri}"
        )
    raise StoreVersionError(
        f"{path} was written by a newer MLflow (schema {found} is unknown to MLflow {mlflow.__version__}): "
        "install the MLflow that wrote it (pip install -U mlflow), or point MLFLOW_TRACKING_URI at another store"
    )


def configure(root: str | Path | None = None) -> str:
    """Point MLflow at the project's store (under ``root``, default the project root) and turn telemetry off.
    Raises ``StoreVersionError`` for a local store of another MLflow version (``check_store_schema``)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    # a progress bar per artifact download is noise in stage logs
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    uri = tracking_uri(root)
    check_store_schema(uri)
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


if __name__ == "__main__":  # `python -m mtl.tracking.store`: make serve and make ui check the store before MLflow opens it
    import sys

    try:
        check_store_schema(tracking_uri())
    except StoreVersionError as err:
        sys.exit(f"error: {err}")
