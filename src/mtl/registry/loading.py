"""Loading a trained model by what a user names: a model directory, or a registered version or alias.

One lookup of ``@champion`` (``mtl.registry.versions.aliased``) serves ``mtl predict``, ``mtl demo`` and the
web app, so they all answer with the model ``make serve`` serves.
"""

from __future__ import annotations

from pathlib import Path

from mtl.model.multitask import MultiTaskModel
from mtl.registry.pyfunc import MODEL_ARTIFACT
from mtl.registry.versions import CHAMPION, aliased
from mtl.tracking.store import configure, has_store

REGISTERED_MODEL = "mtl-pipeline"  # the real-data model's registered name (params.yaml: export.models.real.name)
# the pipeline's saved real-data model, used when no champion is registered yet
DEFAULT_MODEL_DIRS = (Path("models/real/model"),)


def load_registered(uri: str) -> MultiTaskModel:
    """The multi-task model inside a registered MLflow model (``models:/NAME/VERSION`` or ``models:/NAME@ALIAS``).

    It is loaded from the version's saved model directory with this package's code, as ``mlflow models
    serve`` loads it with the version's own copy: the same weights and settings. Running the copy here
    instead would fail for a version registered before a module moved, since a process that has imported
    this package cannot import a second one under the same name.
    """
    import mlflow
    from mlflow.models import Model

    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
    artifacts = Model.load(local).flavors["python_function"]["artifacts"]
    return MultiTaskModel.load(local / artifacts[MODEL_ARTIFACT]["path"])


def champion_model(name: str = REGISTERED_MODEL, root: str | Path = ".") -> tuple[MultiTaskModel, str] | None:
    """``models:/name@champion`` from the project's MLflow store, or None when there is no store or no champion."""
    if not has_store(root):
        return None  # no store yet: do not create one just to look
    configure(root)
    version = aliased(name, CHAMPION)
    if version is None:
        return None
    reference = f"models:/{name}/{version.version}"
    return load_registered(reference), f"{reference} (@{CHAMPION})"


def find_trained_model(model_path: Path | None, root: str | Path = ".") -> tuple[MultiTaskModel, str] | None:
    """The model to answer with: ``model_path``, else the real-data champion, else a saved pipeline model; None if none exists."""
    if model_path is not None:
        return MultiTaskModel.load(model_path), str(model_path)
    found = champion_model(root=root)
    if found is not None:
        return found
    for directory in DEFAULT_MODEL_DIRS:
        if (Path(root) / directory / "config.json").is_file():
            return MultiTaskModel.load(Path(root) / directory), str(directory)
    return None
