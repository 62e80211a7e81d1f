"""Which engine runs the forward pass: PyTorch, or ONNX Runtime on the exported graph (float32 or int8).

- ``torch`` (the default): the model itself, under ``inference_mode`` (and bf16 autocast if asked).
- ``onnx``: the exported float32 graph ``model.onnx`` (``mtl.inference.onnx``), with ONNX Runtime's fused
  BERT kernels, one batch per thread. It gives the same outputs as PyTorch (embeddings at cosine >= 0.99999) and is faster.
- ``onnx-int8``: ``model.int8.onnx``, the same graph with int8 weights (dynamic quantisation). Faster
  still, with *different* outputs: opt in only after checking its task scores (``experiments/precision.py``).

Every runtime sits below the same length-sorted batching loop (``mtl.runtime.batching``): callers choose a
runtime with a string, and only ``batch_forward`` differs between them. The ONNX files live in the saved
model directory (the MLflow model carries them); ``mtl export-onnx --model_path DIR`` writes them there.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from mtl.config.options import check_runtime, check_runtime_precision
from mtl.runtime.batching import Forward
from mtl.runtime.precision import autocast

ONNX_FILES: dict[str, str] = {"onnx": "model.onnx", "onnx-int8": "model.int8.onnx"}
# The served model's default runtime when a request does not name one (``mlflow models serve``).
RUNTIME_ENV = "MTL_RUNTIME"
INPUTS = ("input_ids", "attention_mask")
# Inputs a model (and its graph) may take beyond INPUTS, and the outputs each one changes: a caller that
# wants none of those outputs may leave the input out, and gets zeros ("nothing here") fed for it. So
# ``encode`` on the graph of a model with the case feature needs no case ids: they change no embedding.
EXTRA_INPUTS: dict[str, tuple[str, ...]] = {"case_ids": ("token_logits",)}


def default_runtime() -> str:
    """``$MTL_RUNTIME`` if set (checked), else ``torch``."""
    value = os.environ.get(RUNTIME_ENV, "torch")
    try:
        return check_runtime(value)
    except ValueError as err:
        raise ValueError(f"{RUNTIME_ENV}: {err}") from None


def build_hint(directory: str | Path | None) -> str:
    """How to build the missing ONNX files for a saved model directory."""
    where = directory if directory is not None else "DIR"
    return f"build it with `mtl export-onnx --model_path {where}` (the pipeline's export stage builds it into the registered MLflow model)"


def onnx_path(module: nn.Module, runtime: str) -> Path:
    """The ONNX file for ``runtime`` beside the saved model ``module`` was loaded from; a clear error if absent."""
    encoder = getattr(module, "encoder", module)
    directory = getattr(encoder, "onnx_dir", None)
    if directory is None:
        raise FileNotFoundError(
            f"runtime {runtime!r} needs the model's ONNX graph, and this model was not loaded from a directory: "
            f"save it, {build_hint(None)}, then load it with MultiTaskModel.load (or call mtl.runtime.engines.attach_onnx)"
        )
    path = Path(directory) / ONNX_FILES[runtime]
    if not path.is_file():
        raise FileNotFoundError(f"runtime {runtime!r} needs {path}, which does not exist: {build_hint(directory)}")
    return path


def attach_onnx(module: nn.Module, directory: str | Path) -> nn.Module:
    """Tell a model (or a bare encoder) where its ONNX files are; returns ``module``."""
    getattr(module, "encoder", module).onnx_dir = Path(directory)
    return module


def session_options(threads: int = 1):
    """ONNX Runtime settings: ``threads`` intra-op threads, one inter-op thread, all graph optimisations.

    Spinning is turned off under ``OMP_WAIT_POLICY=PASSIVE``, the same switch that stops PyTorch's
    OpenMP threads spinning (on a busy shared machine spinning threads slow everyone down).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE":
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # warnings about unused initialisers etc. are noise to a user
    return options


@functools.lru_cache(maxsize=8)
def _cached_session(path: str, mtime_ns: int, threads: int, passive: bool):
    import onnxruntime as ort

    return ort.InferenceSession(path, session_options(threads), providers=["CPUExecutionProvider"])


def load_session(path: str | Path, threads: int = 1):
    """An ONNX Runtime session for ``path`` with ``threads`` intra-op threads (cached per file version)."""
    path = Path(path).resolve()
    passive = os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE"
    return _cached_session(str(path), path.stat().st_mtime_ns, threads, passive)


def complete_inputs(given: dict[str, np.ndarray], needed: Sequence[str], outputs: Sequence[str], where: str) -> dict[str, np.ndarray]:
    """``given`` with every input in ``needed``; refuses inputs that are not needed, and missing ones that matter.

    A missing input of ``EXTRA_INPUTS`` gets zeros when none of the ``outputs`` asked for depends on it.
    Any other missing input is an error: zeros would silently change the answer.
    """
    unknown = sorted(set(given) - set(needed))
    if unknown:
        raise ValueError(f"{where} takes no input {unknown}: it takes {', '.join(needed)}")
    complete = dict(given)
    for name in needed:
        if name in complete:
            continue
        changes = EXTRA_INPUTS.get(name)
        if changes is None or set(changes) & set(outputs):
            raise ValueError(f"{where} needs input {name!r} for {', '.join(outputs)}")
        complete[name] = np.zeros_like(given["input_ids"])
    return complete


def onnx_forward(session, outputs: Sequence[str], workers: int = 1) -> Forward:
    """The per-batch forward of an ONNX Runtime session: padded int64 arrays in, named float32 arrays out.

    ``workers``: how many batches the batching loop may run through the session at once (``Session.run``
    is thread-safe and releases the GIL); see ``batch_forward`` for why.
    """
    available = {o.name for o in session.get_outputs()}
    missing = [name for name in outputs if name not in available]
    if missing:
        raise ValueError(f"the ONNX graph has no output {missing}; it has {sorted(available)}")
    names = list(outputs)
    needed = [i.name for i in session.get_inputs()]
    # a graph whose inputs differ from the model's was built from another version of it
    where = "the ONNX graph (if the model changed since it was exported, export it again: `mtl export-onnx`)"

    def forward(input_ids: np.ndarray, attention_mask: np.ndarray, **extra: np.ndarray) -> dict[str, np.ndarray]:
        feed = complete_inputs({"input_ids": input_ids, "attention_mask": attention_mask, **extra}, needed, names, where)
        return dict(zip(names, session.run(names, feed)))

    forward.workers = workers  # type: ignore[attr-defined]  # read by mtl.runtime.batching.concurrency
    return forward


@contextlib.contextmanager
def batch_forward(module: nn.Module, outputs: Sequence[str], runtime: str = "torch", precision: str = "fp32") -> Iterator[Forward]:
    """The forward pass of ``module`` (a ``MultiTaskModel`` or a ``SentenceEncoder``) on ``runtime``, for one loop.

    The yielded function maps padded ``(input_ids, attention_mask, **extra)`` arrays to the named
    ``outputs`` (any of ``module.OUTPUTS``) as float32 arrays; ``extra`` holds the module's further
    inputs (``case_ids`` of a model with the case feature). Under ``torch`` the module is in eval mode
    and ``inference_mode`` for the duration (restored afterwards).
    """
    check_runtime_precision(runtime, precision)
    unknown = [name for name in outputs if name not in module.OUTPUTS]
    if unknown:
        raise ValueError(f"unknown outputs {unknown}: {type(module).__name__} gives {', '.join(module.OUTPUTS)}")
    if runtime != "torch":
        # One batch per thread, each on a single-threaded session, instead of every matrix product split
        # over all threads: a batch of 32 short sentences is too small to split without the threads
        # waiting on each other at every operator. 2,000 SST-2 sentences, 2 threads, best of 3: float32
        # 4.81 s against 5.58 s, int8 2.13 s against 2.64 s.
        workers = torch.get_num_threads()
        yield onnx_forward(load_session(onnx_path(module, runtime), threads=1), outputs, workers=workers)
        return
    device = next(module.parameters()).device
    was_training = module.training
    module.eval()
    needed = getattr(module, "input_names", INPUTS)

    def forward(input_ids: np.ndarray, attention_mask: np.ndarray, **extra: np.ndarray) -> dict[str, np.ndarray]:
        given = {"input_ids": input_ids, "attention_mask": attention_mask, **extra}
        inputs = complete_inputs(given, needed, outputs, type(module).__name__)
        result = dict(zip(module.OUTPUTS, module(*(torch.from_numpy(inputs[name]).to(device) for name in needed))))
        return {name: result[name].float().cpu().numpy() for name in outputs}

    try:
        with torch.inference_mode(), autocast(precision, device):
            yield forward
    finally:
        module.train(was_training)
