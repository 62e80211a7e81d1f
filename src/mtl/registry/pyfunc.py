"""The MLflow pyfunc model: one artifact that serves sentence labels, word tags, entities and embeddings.

The model directory travels as an artifact and is loaded in ``load_context``; the Python model itself is
logged "from code" (``pyfunc_entry.py``), so no weights and no pickled objects go into the MLflow model.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.types import ParamSchema, ParamSpec

from mtl.config.options import check_precision, check_runtime, check_runtime_precision
from mtl.inference.onnx import onnx_model_dir
from mtl.inference.predict import predict_texts
from mtl.inference.samples import SAMPLE_SENTENCES
from mtl.model.multitask import MultiTaskModel
from mtl.runtime.engines import RUNTIME_ENV, default_runtime, onnx_path

INPUT_COLUMN = "text"
MAX_BATCH = 256  # sentences per request; bigger requests are refused rather than risking the server's memory
MAX_CHARS = 100_000  # characters per request, all sentences together; MTL_MAX_CHARS changes it at serve time
MAX_CHARS_ENV = "MTL_MAX_CHARS"
# Only the params carry a schema. MLflow's column schemas either refuse a plain list of sentences in
# process (a named column) or silently keep the first column of a wider frame (an unnamed one);
# ``texts_from_input`` accepts a list and any one-column frame alike and refuses the rest with a 400.
# ``runtime``: "default" is the server's choice ($MTL_RUNTIME when it started, else torch).
SERVER_DEFAULT = "default"
SIGNATURE = ModelSignature(
    inputs=None,
    params=ParamSchema(
        [
            ParamSpec("return_embeddings", "boolean", False),
            ParamSpec("batch_size", "long", 32),
            ParamSpec("precision", "string", "fp32"),
            ParamSpec("runtime", "string", SERVER_DEFAULT),
            # entities scoring below it are dropped whole (mtl.text.entities.keep_confident); 0 keeps them all
            ParamSpec("threshold", "double", 0.0),
        ]
    ),
)
ENTRY = Path(__file__).with_name("pyfunc_entry.py")
MODEL_ARTIFACT = "model"  # the saved model directory's name among the MLflow model's artifacts
# The whole package ships with every logged model (``code_paths``), so a served model runs the code it was logged with.
PACKAGE = Path(__file__).resolve().parents[1]
# Logged with every model: MLflow shows it (and a ready request body, serving_input_example.json) on the
# model's page, and predicts it through the serving path once before the version is registered.
INPUT_EXAMPLE = list(SAMPLE_SENTENCES)


class BadInput(MlflowException):
    """A 400 whose message stays as written.

    MLflow's scoring server rewrites the message of any ``MlflowException`` from ``predict`` to
    "Failed to predict data '<the whole input>'. Error: ...", so 257 sentences gave a 12 KB message
    that repeated every one of them. This message keeps its first value and ignores later ones.
    """

    @property
    def message(self) -> str:
        return self._message

    @message.setter
    def message(self, value: str) -> None:
        if not hasattr(self, "_message"):
            self._message = value


def bad_input(message: str) -> MlflowException:
    """An error the scoring server turns into HTTP 400 with exactly ``message``."""
    return BadInput(message, error_code=INVALID_PARAMETER_VALUE)


def max_chars_from_env() -> int:
    """The character budget per request: ``MTL_MAX_CHARS`` when set at serve time, else MAX_CHARS."""
    raw = os.environ.get(MAX_CHARS_ENV, "")
    try:
        value = int(raw) if raw.strip() else MAX_CHARS
    except ValueError:
        raise ValueError(f"{MAX_CHARS_ENV} must be a positive integer, got {raw!r}") from None
    if value < 1:
        raise ValueError(f"{MAX_CHARS_ENV} must be a positive integer, got {raw!r}")
    return value


def texts_from_input(model_input: Any, max_chars: int = MAX_CHARS) -> list[str]:
    """The sentences in a request: a one-column frame (``text`` or any single column), a flat list or a Series.

    Anything else is refused with a short message naming the rule it breaks: several columns, nested
    lists, a non-string or empty sentence, more than MAX_BATCH sentences or ``max_chars`` characters.
    """
    if isinstance(model_input, pd.DataFrame):
        if model_input.shape[1] != 1:
            raise bad_input(f"expected one column (named {INPUT_COLUMN!r}), got {model_input.shape[1]} columns: {list(model_input.columns)[:5]}")
        values = list(model_input.iloc[:, 0])
    elif isinstance(model_input, pd.Series):
        values = list(model_input)
    elif isinstance(model_input, np.ndarray):
        if model_input.ndim > 1:
            raise bad_input(f"expected a flat list of sentences, got nested lists (shape {list(model_input.shape)})")
        # MLflow parses {"inputs": [...]} with numpy: ["ok", 5] arrives as the strings ["ok", "5"], [5] as a number.
        # A string is a sentence ("1984" is a novel), so a number numpy has already made text is one too.
        values = np.atleast_1d(model_input).tolist()
    elif isinstance(model_input, dict):
        if set(model_input) != {INPUT_COLUMN}:
            raise bad_input(f"expected one key {INPUT_COLUMN!r}, got keys {list(model_input)[:5]}")
        value = model_input[INPUT_COLUMN]
        return texts_from_input([value] if isinstance(value, str) else value, max_chars)
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
    total = 0
    for i, value in enumerate(values):
        if isinstance(value, list | tuple | np.ndarray | dict):
            raise bad_input(f"expected a flat list of sentences, sentence {i} is a {type(value).__name__}")
        if not isinstance(value, str):
            raise bad_input(f"sentence {i} is {type(value).__name__} {_short(value)}, expected a string")
        if not value.strip():
            raise bad_input(f"sentence {i} is empty")
        total += len(value)
        if total > max_chars:
            raise bad_input(f"the request has more than {max_chars} characters (the limit, {MAX_CHARS_ENV}); send fewer or shorter sentences")
    return values


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class MultiTaskPyfunc(mlflow.pyfunc.PythonModel):
    """Serves ``predict_texts`` over MLflow's REST protocol, on the runtime a request (or the server) chooses."""

    # No type hints on predict: MLflow 3 reads them as an input schema, and ours is the explicit SIGNATURE.
    # Without them MLflow warns at class creation, in every export and every server start, and no filter of
    # ours can stop it (MLflow wraps the check in its own filter context). This is MLflow's switch for
    # classes that validate their own input, as its ChatModel does; with it, predict stays unwrapped,
    # which is what the wrapper does without hints anyway. tests/test_inference_serving.py checks the warning is gone.
    _skip_type_hint_validation = True

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        """Load the model directory logged as the ``model`` artifact (its ONNX graphs sit beside the weights).

        The server's default runtime is ``$MTL_RUNTIME`` (else ``torch``); an ONNX default whose graph is
        missing fails here, at start-up, rather than on every request.
        """
        self.model = MultiTaskModel.load(context.artifacts[MODEL_ARTIFACT])
        self.max_chars = max_chars_from_env()
        self.default_runtime = default_runtime()
        if self.default_runtime != "torch":
            onnx_path(self.model, self.default_runtime)

    def runtime_of(self, params: dict) -> str:
        """The request's ``runtime`` param (checked), or the server's default."""
        runtime = str(params.get("runtime") or SERVER_DEFAULT)
        if runtime == SERVER_DEFAULT:
            return getattr(self, "default_runtime", "torch")
        try:
            return check_runtime(runtime)
        except ValueError as err:
            raise bad_input(f"{err} (or {SERVER_DEFAULT!r}: the server's {RUNTIME_ENV})") from err

    def predict(self, context, model_input, params=None):  # noqa: ANN001, ANN201
        """One answer (dict) per sentence (see ``mtl.inference.predict.predict_texts``).

        ``model_input``: a one-column frame, a list or a Series of sentences; ``params``: return_embeddings,
        batch_size, precision (fp32 or bf16, see ``mtl.runtime.precision``), runtime (torch, onnx, onnx-int8 or
        default, see ``mtl.runtime.engines``), threshold (entities scoring below it are dropped whole).
        """
        params = params or {}
        texts = texts_from_input(model_input, getattr(self, "max_chars", MAX_CHARS))
        batch_size = int(params.get("batch_size", 32))
        if batch_size < 1:
            raise bad_input(f"batch_size must be >= 1, got {batch_size}")
        runtime = self.runtime_of(params)
        threshold = float(params.get("threshold", 0.0))
        if not 0.0 <= threshold <= 1.0:
            raise bad_input(f"threshold must be between 0 and 1, got {threshold}")
        try:
            precision = check_precision(str(params.get("precision", "fp32")))
            check_runtime_precision(runtime, precision)
            if runtime != "torch":
                onnx_path(self.model, runtime)  # missing: the message says how to build it
        except (ValueError, FileNotFoundError) as err:
            raise bad_input(str(err)) from err
        return predict_texts(
            self.model,
            texts,
            batch_size=batch_size,
            return_embeddings=bool(params.get("return_embeddings", False)),
            precision=precision,
            runtime=runtime,
            threshold=threshold,
        )


def pip_requirements() -> list[str]:
    """What the served model needs, pinned to the versions it was built with.

    Given explicitly: MLflow's inference leaves torch out for a custom pyfunc.
    """
    names = ("mlflow", "torch", "transformers", "safetensors", "numpy", "pandas", "tokenizers", "onnxruntime")
    return [f"{name}=={version(name)}" for name in names]


# The layers that turn a model and a table into scores: a version scored by other code than these is re-scored
# before the gate compares it (mtl.registry.promotion).
SCORING_LAYERS: tuple[str, ...] = ("config", "text", "data", "runtime", "model", "inference", "evaluation")


def code_hash(layers: tuple[str, ...] | None = None) -> str:
    """md5 of the package's Python sources (the code every logged model ships, ``code_paths``), or of ``layers`` only."""
    package = PACKAGE
    digest = hashlib.md5()
    for file in sorted(package.rglob("*.py")):
        relative = file.relative_to(package)
        if layers is None or relative.parts[0] in layers:
            digest.update(relative.as_posix().encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def scoring_hash() -> str:
    """md5 of the scoring code (``SCORING_LAYERS``): recorded on every version, so the gate knows how its scores were made."""
    return code_hash(SCORING_LAYERS)


def log_pyfunc(
    model_dir: str | Path, registered_model_name: str | None = None, name: str = "model", onnx: bool = True
) -> mlflow.models.model.ModelInfo:
    """Log ``model_dir`` as a pyfunc model in the active run (and register it if a name is given).

    With ``onnx`` (the default) the logged copy of the directory also carries ``model.onnx`` and
    ``model.int8.onnx`` (``mtl.inference.onnx``), built in a temporary copy so ``model_dir`` itself, a DVC
    output, is left as training wrote it.
    """
    with contextlib.ExitStack() as stack:
        logged = stack.enter_context(onnx_model_dir(model_dir)) if onnx else Path(model_dir)
        return mlflow.pyfunc.log_model(
            name=name,
            python_model=str(ENTRY),
            artifacts={MODEL_ARTIFACT: str(logged)},
            code_paths=[str(PACKAGE)],
            signature=SIGNATURE,
            input_example=INPUT_EXAMPLE,
            pip_requirements=pip_requirements(),
            registered_model_name=registered_model_name,
        )
