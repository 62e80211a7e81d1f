"""Loading a trained model by what a user names: a model directory, or a registered version or alias.

One lookup of ``@champion`` (``mtl.registry.versions.aliased``) serves ``mtl predict``, ``mtl demo`` and the
web app, so they all answer with the model ``make serve`` serves.
"""

from __future__ import annotations

import re
from pathlib import Path

from mtl.config.paths import FINE_TUNED_DIR, Paths
from mtl.config.sources import DEFAULT_SOURCES, PIPELINE_MODEL
from mtl.model.multitask import MultiTaskModel
from mtl.registry.pyfunc import MODEL_ARTIFACT
from mtl.registry.versions import CHAMPION, aliased, resolve
from mtl.tracking.store import configure, has_store

# a registered model by name and alias, or name and version
MODEL_URI = re.compile(r"models:/([^/@]+)(?:@([\w-]+)|/(\d+))")
REGISTERED_MODEL = PIPELINE_MODEL  # mtl-pipeline, what `make serve` serves


def default_models(source: str) -> tuple[str, tuple[Path, ...]]:
    """What answers for ``source``'s data when no model is named: the registered name whose ``@champion`` comes
    first, then saved model directories. For the example data these are the pipeline's own model, then the
    user guide's ``fine_tune.py`` output; for real data, the pipeline's (after a run that failed the gate, the
    challenger, not what is served)."""
    dirs = (Paths(source).model, FINE_TUNED_DIR) if source == "example" else (Paths(source).model,)
    return DEFAULT_SOURCES[source].model, dirs


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


def registered_reference(text: str) -> tuple[str, str] | None:
    """``(name, "@alias" or "version")`` of ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``; None for anything else."""
    match = MODEL_URI.fullmatch(text)
    if match is None:
        return None
    name, alias, version = match.groups()
    return name, f"@{alias}" if alias else version


def load_reference(reference: str | Path, root: str | Path = ".") -> tuple[MultiTaskModel, str]:
    """A model by what a user names: a saved model directory, ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``
    (the project's store); returns it and where it came from, the alias resolved to its version."""
    parsed = registered_reference(str(reference))
    if parsed is None:
        return MultiTaskModel.load(reference), str(reference)
    name, ref = parsed
    configure(root)
    number = resolve(name, ref)
    where = f"models:/{name}/{number}" + (f" ({ref})" if ref.startswith("@") else "")
    return load_registered(f"models:/{name}/{number}"), where


def find_trained_model(model_path: str | Path | None, root: str | Path = ".", source: str = "real") -> tuple[MultiTaskModel, str] | None:
    """The model to answer with: ``model_path`` (a directory or a registered model URI, ``load_reference``), else
    ``source``'s champion, else a saved model of its data (``default_models``); None if none exists."""
    if model_path is not None:
        return load_reference(model_path, root)
    name, dirs = default_models(source)
    found = champion_model(name, root=root)
    if found is not None:
        return found
    for directory in dirs:
        if (Path(root) / directory / "config.json").is_file():
            return MultiTaskModel.load(Path(root) / directory), str(directory)
    return None
