"""Export a model to ONNX for ``mtl.runtime.engines``: one float32 graph, and an int8 copy of it.

- ``model.onnx``: the whole model (encoder, pooling, both heads) with dynamic batch and length axes
  (and a ``case_ids`` input for a model with the case feature, ``MultiTaskModel.input_names``), exported by ``torch.onnx.export`` (TorchScript exporter) with eager attention. ONNX Runtime fuses it
  when a session loads it (``ORT_ENABLE_ALL``, ``mtl.runtime.engines``). The offline BERT fusions of
  ``onnxruntime.transformers.optimizer`` (one ``Attention`` kernel per layer, ``EmbedLayerNormalization``)
  were slower here than the session's own (two alternating runs on 1,000 SST-2 sentences, 2 threads:
  12% and 14% slower), so ``fused=True`` is there but not the default. ``export_onnx`` checks the graph
  against PyTorch before it returns.
- ``model.int8.onnx``: ``quantize_dynamic`` of that same float32 graph: int8 weights per output
  channel in every weight MatMul (36 for MiniLM-L6), activations quantised per batch at run time; the
  attention score products (activation by activation) stay float32. Its outputs differ from float32;
  it is judged on task scores (``experiments/precision.py``). Quantising the plain graph rather than the
  offline-fused one (``fused=True``, one ``Attention`` kernel per layer) was both faster and closer to
  float32 here: 3.2-3.5x against 2.5x ``SentenceTransformer.encode`` (2,000 SST-2 sentences, best of
  3, 2 threads), min cosine to float32 0.978 against 0.961. Per-tensor weights lost 2.4 points of CoNLL
  F1 and keeping the token head in float32 changed nothing, so every weight MatMul is quantised, per channel.

``mtl export-onnx --model_path DIR`` and the pipeline's export stage (``onnx_model_dir``) call these.
The graphs are written only where DVC does not hash them: beside the model in a copy that MLflow logs,
or in a model directory a user exports into (``.dvcignore`` lists the two names).
"""

from __future__ import annotations

import contextlib
import copy
import logging
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from mtl.runtime.batching import pad_extra, pad_ids
from mtl.runtime.engines import INPUTS, ONNX_FILES, load_session, onnx_forward
from mtl.text.words import split_words

OPSET = 17
# Relative tolerance of the float32 graph against PyTorch, checked at export: fused kernels reorder sums,
# nothing more, so the largest difference stays far below this (about 1e-6 for MiniLM).
EXPORT_TOLERANCE = 1e-4
# Sentences the export check runs: different lengths, so the batch has padding.
CHECK_SENTENCES = (
    "Peter Blackburn flew from Brussels to New York on Monday .",
    "a gorgeous , witty , seductive movie .",
    "EU rejects German call to boycott British lamb .",
    "ok",
    "The weather in Paris is terrible today, and the forecast for the weekend says it will not get better",
)

log = logging.getLogger("mtl")


class _QuietLibrary(logging.Filter):
    """Drops what one library logs on the root logger below WARNING, and its warnings that start with ``known``."""

    def __init__(self, path_part: str, known: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.path_part = path_part
        self.known = known

    def filter(self, record: logging.LogRecord) -> bool:
        if self.path_part not in record.pathname.replace("\\", "/"):
            return True
        return record.levelno >= logging.WARNING and not str(record.msg).startswith(self.known)


class _Outputs(nn.Module):
    """The module's forward as a plain tuple of tensors, in ``module.OUTPUTS`` order (what the exporter wants)."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self.module(*inputs))


def _backbone(module: nn.Module) -> nn.Module:
    return getattr(module, "encoder", module).backbone


def _eager_copy(module: nn.Module) -> nn.Module:
    """A copy of ``module`` in eval mode with eager attention (the pattern ONNX Runtime's optimizer fuses)."""
    clone = copy.deepcopy(module).eval().cpu()
    backbone = _backbone(clone)
    if hasattr(backbone, "set_attn_implementation"):
        backbone.set_attn_implementation("eager")
    else:  # older transformers
        backbone.config._attn_implementation = "eager"
    return clone


def input_names(module: nn.Module) -> tuple[str, ...]:
    """The graph's inputs: the module's (``case_ids`` too for a model with the case feature)."""
    return tuple(getattr(module, "input_names", INPUTS))


def sample_inputs(module: nn.Module, sentences: Sequence[str] = CHECK_SENTENCES) -> dict[str, np.ndarray]:
    """A padded batch of ``sentences`` with every input the module takes, made as prediction makes them.

    The sentences are split into words and tokenised as words (``mtl.inference.predict.predict_texts`` does the
    same), so a model with the case feature gets its case ids from the words' original case.
    """
    encoder = getattr(module, "encoder", module)
    words = [split_words(s)[0] for s in sentences]
    encoded = encoder.tokenizer(words, is_split_into_words=True, truncation=True, max_length=encoder.max_length)
    ids, mask = pad_ids(encoded["input_ids"], encoder.tokenizer.pad_token_id or 0)
    inputs = {"input_ids": ids, "attention_mask": mask}
    if hasattr(module, "extra_inputs"):
        extra = module.extra_inputs(words, [encoded.word_ids(i) for i in range(len(words))])
        inputs.update(pad_extra(extra, ids.shape[1]))
    return inputs


def export_raw(module: nn.Module, path: str | Path) -> Path:
    """``torch.onnx.export`` of ``module`` (``MultiTaskModel`` or ``SentenceEncoder``), unfused, opset 17."""
    path = Path(path)
    inputs = sample_inputs(module)
    names = list(module.OUTPUTS)
    axes = {name: {0: "batch", 1: "sequence"} for name in input_names(module)}
    for name in names:
        axes[name] = {0: "batch", 1: "sequence"} if name in ("token_logits", "token_states") else {0: "batch"}
    with warnings.catch_warnings():
        # tracer and deprecation warnings about the TorchScript exporter: it is still the supported path for us
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Outputs(_eager_copy(module)),
            tuple(torch.from_numpy(inputs[name]) for name in input_names(module)),
            str(path),
            input_names=list(input_names(module)),
            output_names=names,
            dynamic_axes=axes,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    return path


def fuse(source: str | Path, path: str | Path, num_heads: int, hidden_size: int) -> dict[str, int]:
    """ONNX Runtime's BERT fusions on ``source``, written to ``path``; returns the fused operator counts."""
    from onnxruntime.transformers import optimizer

    logging.getLogger("onnxruntime.transformers").setLevel(logging.WARNING)
    # opt_level 1 (the default for bert): only hardware-independent ORT rewrites are baked into the file;
    # the session applies the CPU-specific ones when it loads the graph.
    model = optimizer.optimize_model(str(source), model_type="bert", num_heads=num_heads, hidden_size=hidden_size, opt_level=1)
    model.save_model_to_file(str(path))
    return {k: v for k, v in model.get_fused_operator_statistics().items() if v}


def compare_with_torch(module: nn.Module, path: str | Path, sentences: Sequence[str] = CHECK_SENTENCES) -> dict[str, dict[str, float]]:
    """Per output: the largest absolute difference between the graph at ``path`` and ``module`` on a padded
    batch of ``sentences``, and the largest absolute value (the output's scale).

    Only real (unpadded) positions count for per-token outputs; padded positions are never read.
    """
    from mtl.runtime.engines import batch_forward

    inputs = sample_inputs(module, sentences)
    graph = onnx_forward(load_session(path), module.OUTPUTS)(**inputs)
    with batch_forward(module, module.OUTPUTS) as forward:
        reference = forward(**inputs)
    real = inputs["attention_mask"].astype(bool)
    result = {}
    for name in module.OUTPUTS:
        a, b = graph[name], reference[name]
        if a.ndim == 3:
            a, b = a[real], b[real]
        result[name] = {"max_abs_diff": float(np.abs(a - b).max(initial=0.0)), "max_abs": float(np.abs(b).max(initial=0.0))}
    return result


def export_onnx(module: nn.Module, path: str | Path, fused: bool = False) -> dict:
    """Write the float32 graph of ``module`` to ``path`` (with the offline BERT fusions if ``fused``), checked.

    Raises ``RuntimeError`` if any output differs from PyTorch by more than ``EXPORT_TOLERANCE`` times
    its scale (at least 1). Returns what was done: fused operators, differences, seconds.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    config = _backbone(module).config
    started = time.perf_counter()
    fusions: dict[str, int] = {}
    if fused:
        with tempfile.TemporaryDirectory() as tmp:
            raw = export_raw(module, Path(tmp) / "raw.onnx")
            fusions = fuse(raw, path, config.num_attention_heads, config.hidden_size)
    else:
        export_raw(module, path)
    diffs = compare_with_torch(module, path)
    bad = {k: d for k, d in diffs.items() if d["max_abs_diff"] > EXPORT_TOLERANCE * max(1.0, d["max_abs"])}
    if bad:
        path.unlink()
        raise RuntimeError(f"{path}: the exported graph differs from the PyTorch model: {bad}")
    return {
        "path": str(path),
        "fused": fusions,
        "max_abs_diff": {k: d["max_abs_diff"] for k, d in diffs.items()},
        "seconds": round(time.perf_counter() - started, 1),
    }


def quantize_onnx(source: str | Path, path: str | Path, per_channel: bool = True, exclude: Sequence[str] = ()) -> dict:
    """Dynamic int8 quantisation of the float32 graph ``source`` (its weight MatMuls, and attention kernels of a fused graph) to ``path``.

    ``exclude``: parts of node names (e.g. ``"token_head"``, ``"layer.5/"``); matching nodes stay float32.
    """
    import onnx
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    started = time.perf_counter()
    graph = onnx.load(str(source), load_external_data=False).graph
    # a one-task model's other head has a weight with no outputs (mtl.model.multitask): nothing to quantise there
    empty = {t.name for t in graph.initializer if 0 in t.dims}
    kept = [n.name for n in graph.node if any(part in n.name for part in exclude) or empty.intersection(n.input)]
    # the quantiser first rewrites each Gemm as a MatMul named <gemm>_MatMul (and an Add): exclude that one too
    kept += [f"{n.name}_MatMul" for n in graph.node if n.op_type == "Gemm" and n.name in kept]
    # the quantiser logs a line per node on the root logger (about 90 for MiniLM: "Ignore MatMul due to non
    # constant B", "Quantization parameters ... not specified") and warns to run its shape-inference
    # pre-processing, which changed nothing here: noise in every export stage's log. Other warnings get through.
    quiet = _QuietLibrary("onnxruntime/quantization/", known=("Please consider to run pre-processing",))
    logging.getLogger().addFilter(quiet)
    try:
        quantize_dynamic(
            str(source),
            str(path),
            per_channel=per_channel,
            reduce_range=False,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=kept,
            # MatMulConstBOnly: only products with a weight; the attention scores (activation by activation) stay
            # float32. DefaultTensorType: shape inference cannot type fused com.microsoft kernels' outputs (float32).
            extra_options={"DefaultTensorType": TensorProto.FLOAT, "MatMulConstBOnly": True},
        )
    finally:
        logging.getLogger().removeFilter(quiet)
    return {"path": str(path), "per_channel": per_channel, "excluded": kept, "seconds": round(time.perf_counter() - started, 1)}


def build_onnx(model_dir: str | Path, out_dir: str | Path | None = None, int8: bool = True) -> dict:
    """Export the saved model in ``model_dir`` as ``model.onnx`` (and ``model.int8.onnx``) into ``out_dir``.

    ``out_dir`` defaults to ``model_dir``, where ``MultiTaskModel.load`` looks for the graphs.
    """
    from mtl.model.multitask import MultiTaskModel

    out = Path(out_dir or model_dir)
    model = MultiTaskModel.load(model_dir)
    report = {"onnx": export_onnx(model, out / ONNX_FILES["onnx"])}
    if int8:  # the int8 graph is the float32 graph just written and checked, quantised
        report["onnx-int8"] = quantize_onnx(out / ONNX_FILES["onnx"], out / ONNX_FILES["onnx-int8"])
    return report


@contextlib.contextmanager
def onnx_model_dir(model_dir: str | Path, int8: bool = True) -> Iterator[Path]:
    """A temporary copy of ``model_dir`` with the ONNX graphs added, for logging to MLflow.

    The saved model itself is left untouched, so its DVC hash stays what training wrote.
    """
    with tempfile.TemporaryDirectory(prefix="mtl-onnx-") as tmp:
        copy_dir = Path(tmp) / Path(model_dir).name
        shutil.copytree(model_dir, copy_dir)
        report = build_onnx(copy_dir, int8=int8)
        log.info("ONNX graphs built: %s", {k: v["seconds"] for k, v in report.items()})
        yield copy_dir
