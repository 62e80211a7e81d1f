"""The MLflow pyfunc model: one artifact that serves sentence labels, word tags, entities and embeddings.

The model directory travels as an artifact and is loaded in ``load_context``; the Python model itself is
logged "from code" (``pyfunc_entry.py``), so no weights and no pickled objects go into the MLflow model.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.types import ParamSchema, ParamSpec

from mtl.inference import predict_texts
from mtl.model import MultiTaskModel
from mtl.precision import check_precision

INPUT_COLUMN = "text"
MAX_BATCH = 256  # sentences per request; bigger requests are refused rather than risking the server's memory
# Only the params carry a schema. MLflow's column schemas either refuse a plain list of sentences in
# process (a named column) or silently keep the first column of a wider frame (an unnamed one);
# ``texts_from_input`` accepts a list and any one-column frame alike and refuses the rest with a 400.
SIGNATURE = ModelSignature(
    inputs=None,
    params=ParamSchema(
        [ParamSpec("return_embeddings", "boolean", False), ParamSpec("batch_size", "long", 32), ParamSpec("precision", "string", "fp32")]
    ),
)
ENTRY = Path(__file__).with_name("pyfunc_entry.py")
# MLflow nags about predict's missing type hints; they are left out on purpose (see MultiTaskPyfunc.predict).
warnings.filterwarnings("ignore", message=".*type hints? .*predict", category=UserWarning)


def bad_input(message: str) -> MlflowException:
    """An error the scoring server turns into HTTP 400 with ``message``."""
    return MlflowException.invalid_parameter_value(message)


def texts_from_input(model_input: Any) -> list[str]:
    """The sentences in a request: a one-column frame (``text`` or any single column), a list or a Series.

    Anything else is refused with a message saying what was expected.
    """
    if isinstance(model_input, pd.DataFrame):
        if INPUT_COLUMN in model_input.columns:
            values = model_input[INPUT_COLUMN]
        elif model_input.shape[1] == 1:
            values = model_input.iloc[:, 0]
        else:
            raise bad_input(f"expected one column named {INPUT_COLUMN!r}, got columns {list(model_input.columns)}")
        values = list(values)
    elif isinstance(model_input, pd.Series | np.ndarray):
        values = list(np.ravel(model_input))
    elif isinstance(model_input, dict) and INPUT_COLUMN in model_input:
        values = model_input[INPUT_COLUMN]
        values = [values] if isinstance(values, str) else list(values)
    elif isinstance(model_input, str):
        values = [model_input]
    elif isinstance(model_input, Sequence):
        values = list(model_input)
    else:
        raise bad_input(f"expected a list of sentences or a frame with a {INPUT_COLUMN!r} column, got {type(model_input).__name__}")
    if not values:
        raise bad_input("no sentences in the request")
    if len(values) > MAX_BATCH:
        raise bad_input(f"{len(values)} sentences in one request; send at most {MAX_BATCH}")
    for i, value in enumerate(values):
        if not isinstance(value, str):
            raise bad_input(f"sentence {i} is {type(value).__name__} {value!r}, expected a string")
        if not value.strip():
            raise bad_input(f"sentence {i} is empty")
    return values


class MultiTaskPyfunc(mlflow.pyfunc.PythonModel):
    """Serves ``predict_texts`` over MLflow's REST protocol."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        """Load the model directory that was logged as the ``model`` artifact."""
        self.model = MultiTaskModel.load(context.artifacts["model"])

    # No type hints on predict: MLflow 3 reads them as an input schema, and ours is the explicit SIGNATURE.
    def predict(self, context, model_input, params=None):  # noqa: ANN001, ANN201
        """One answer (dict) per sentence (see ``mtl.inference.predict_texts``).

        ``model_input``: a one-column frame, a list or a Series of sentences; ``params``: return_embeddings,
        batch_size, precision (fp32 or bf16, see ``mtl.precision``).
        """
        params = params or {}
        texts = texts_from_input(model_input)
        batch_size = int(params.get("batch_size", 32))
        if batch_size < 1:
            raise bad_input(f"batch_size must be >= 1, got {batch_size}")
        try:
            precision = check_precision(str(params.get("precision", "fp32")))
        except ValueError as err:
            raise bad_input(str(err)) from err
        return predict_texts(
            self.model, texts, batch_size=batch_size, return_embeddings=bool(params.get("return_embeddings", False)), precision=precision
        )


def pip_requirements() -> list[str]:
    """What the served model needs, pinned to the versions it was built with.

    Given explicitly: MLflow's inference leaves torch out for a custom pyfunc.
    """
    return [f"{name}=={version(name)}" for name in ("mlflow", "torch", "transformers", "safetensors", "numpy", "pandas", "tokenizers")]


def code_hash() -> str:
    """md5 of the package's Python sources: the code every logged model ships (``code_paths``)."""
    package = Path(__file__).parent
    digest = hashlib.md5()
    for file in sorted(package.rglob("*.py")):
        digest.update(file.relative_to(package).as_posix().encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def log_pyfunc(model_dir: str | Path, registered_model_name: str | None = None, name: str = "model") -> mlflow.models.model.ModelInfo:
    """Log ``model_dir`` as a pyfunc model in the active run (and register it if a name is given)."""
    return mlflow.pyfunc.log_model(
        name=name,
        python_model=str(ENTRY),
        artifacts={"model": str(model_dir)},
        code_paths=[str(Path(__file__).parent)],
        signature=SIGNATURE,
        pip_requirements=pip_requirements(),
        registered_model_name=registered_model_name,
    )
