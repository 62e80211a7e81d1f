"""Runtimes: the exported ONNX graph against PyTorch, the runtime option everywhere, and its errors."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from mlflow.exceptions import MlflowException

from mtl.config.options import RUNTIMES, check_runtime
from mtl.evaluation.evaluate import evaluate_table
from mtl.inference.predict import predict_texts
from mtl.model.multitask import MultiTaskModel
from mtl.runtime.batching import length_sorted, pad_ids, run_batches
from mtl.runtime.engines import ONNX_FILES, RUNTIME_ENV, batch_forward

VALID = "choose one of torch, onnx, onnx-int8"
# Different lengths, so every batch of several has padding; one sentence is cut by max_length=64.
SENTENCES = [
    "Apple unveiled a new iPhone in California",
    "ok",
    "The weather in Paris is terrible today",
    "Kubernetes makes it easy to deploy Python services on a cluster of machines",
    "Rain",
    " ".join(["word"] * 80),
    "Heavy rain and strong winds are expected this weekend in the north of England",
]


@pytest.fixture(scope="module")
def exported(make_tiny_model, tmp_path_factory):
    """A saved tiny model with both ONNX graphs built beside it, loaded back (as ``mtl export-onnx`` leaves it)."""
    from mtl.inference.onnx import build_onnx

    directory = tmp_path_factory.mktemp("exported")
    make_tiny_model().save(directory)
    report = build_onnx(directory)
    return MultiTaskModel.load(directory), report


def _outputs(model, runtime, sentences):
    """Every output of one padded batch of ``sentences`` on ``runtime`` (all the model's inputs, as prediction makes them), with its attention mask."""
    from mtl.inference.onnx import sample_inputs

    inputs = sample_inputs(model, sentences)
    with batch_forward(model, model.OUTPUTS, runtime) as forward:
        return forward(**inputs), inputs["attention_mask"].astype(bool)


@pytest.mark.parametrize("batch", [1, 7])
def test_exported_graph_equals_the_pytorch_model(exported, batch):
    model, report = exported
    assert report["onnx-int8"]["per_channel"] and not report["onnx"]["fused"], report
    sentences = SENTENCES[:batch] if batch > 1 else SENTENCES[3:4]
    graph, real = _outputs(model, "onnx", sentences)
    reference, _ = _outputs(model, "torch", sentences)
    assert real.shape[0] == batch and (batch == 1 or not real.all()), "the batch of 7 must have padding"
    for name in model.OUTPUTS:
        a, b = graph[name], reference[name]
        assert a.shape == b.shape and a.dtype == np.float32
        if a.ndim == 3:  # per-token outputs: padded positions are never read
            a, b = a[real], b[real]
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=0, err_msg=name)


@pytest.mark.parametrize("pooling, fused", [("max", False), ("cls", False), ("mean", True)])
def test_every_pooling_mode_and_the_fused_graph_export_equal(make_tiny_model, tmp_path, pooling, fused):
    from mtl.inference.onnx import export_onnx

    model = make_tiny_model(pooling=pooling)
    report = export_onnx(model, tmp_path / "model.onnx", fused=fused)  # raises if any output differs by more than 1e-4
    assert max(report["max_abs_diff"].values()) < 1e-4
    assert bool(report["fused"]) == fused


def test_predictions_and_embeddings_agree_across_runtimes(exported):
    model, _ = exported
    torch_answers = predict_texts(model, SENTENCES, batch_size=3, return_embeddings=True)
    onnx_answers = predict_texts(model, SENTENCES, batch_size=3, return_embeddings=True, runtime="onnx")
    int8_answers = predict_texts(model, SENTENCES, batch_size=3, return_embeddings=True, runtime="onnx-int8")
    for a, b, c in zip(torch_answers, onnx_answers, int8_answers):
        assert a["sentence_label"] == b["sentence_label"]
        assert [w["tag"] for w in a["words"]] == [w["tag"] for w in b["words"]]
        assert (a["truncated_words"], a["truncated_start"]) == (c["truncated_words"], c["truncated_start"])
        assert [w["word"] for w in a["words"]] == [w["word"] for w in c["words"]]
        np.testing.assert_allclose(list(a["sentence_probs"].values()), list(b["sentence_probs"].values()), atol=1e-5)
        np.testing.assert_allclose(a["embedding"], b["embedding"], atol=1e-5)
        assert c["words"] and np.linalg.norm(c["embedding"]) == pytest.approx(1.0, abs=1e-4)
    torch_vectors = model.encoder.encode(SENTENCES, batch_size=2)
    onnx_vectors = model.encoder.encode(SENTENCES, batch_size=2, runtime="onnx")
    np.testing.assert_allclose(onnx_vectors, torch_vectors, atol=1e-5)


def test_int8_graph_is_quantised_and_not_the_same_numbers(exported):
    import onnx

    model, _ = exported
    graph = onnx.load(str(model.encoder.onnx_dir / ONNX_FILES["onnx-int8"]))
    ops = {node.op_type for node in graph.graph.node}
    assert ops & {"QAttention", "DynamicQuantizeMatMul", "MatMulInteger"}, ops
    int8, _ = _outputs(model, "onnx-int8", SENTENCES)
    fp32, _ = _outputs(model, "onnx", SENTENCES)
    assert not np.array_equal(int8["embeddings"], fp32["embeddings"])


def test_quantising_logs_no_per_node_notes_and_leaves_the_root_logger_as_it_was(exported, tmp_path, caplog):
    """The quantiser logs a line per node on the root logger; an export stage's log shows none of them."""
    import logging

    from mtl.inference.onnx import quantize_onnx

    model, _ = exported
    caplog.set_level(logging.INFO)
    filters = list(logging.getLogger().filters)
    quantize_onnx(model.encoder.onnx_dir / ONNX_FILES["onnx"], tmp_path / "q.onnx")
    assert (tmp_path / "q.onnx").is_file()
    noise = [r.getMessage() for r in caplog.records if "onnxruntime" in r.pathname]
    assert noise == []
    assert logging.getLogger().filters == filters
    # the filter only hides the quantiser: a record from anywhere else still gets through
    logging.getLogger().info("after quantising")
    assert caplog.records[-1].getMessage() == "after quantising"


def test_two_exports_are_byte_identical(make_tiny_model, tmp_path):
    from mtl.inference.onnx import build_onnx

    make_tiny_model().save(tmp_path / "m")
    for out in ("a", "b"):
        build_onnx(tmp_path / "m", tmp_path / out)
    for name in ONNX_FILES.values():
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_evaluate_table_scores_each_runtime(exported, tokenizer):
    import pandas as pd

    from mtl.data.align import align_table

    model, _ = exported
    table = pd.DataFrame(
        {
            "words": [s.split() for s in SENTENCES],
            "word_tags": [["O"] * len(s.split()) for s in SENTENCES],
            "sentence_label": ["Weather"] * len(SENTENCES),
        }
    )
    encoded, _ = align_table(table, tokenizer, model.config.sentence_labels, model.config.token_labels, max_length=64)
    scores = {runtime: evaluate_table(model, encoded, batch_size=4, runtime=runtime) for runtime in RUNTIMES}
    assert scores["onnx"]["sentence"]["accuracy"] == scores["torch"]["sentence"]["accuracy"]
    assert scores["onnx"]["token"]["f1"] == scores["torch"]["token"]["f1"]
    assert set(scores["onnx-int8"]) == {"sentence", "token"}


def test_length_sorted_batches_cover_every_row_once_longest_first():
    batches = length_sorted([3, 9, 1, 9, 5], batch_size=2)
    assert [list(b) for b in batches] == [[1, 3], [4, 0], [2]]
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        length_sorted([1], 0)


def _row_sums(workers: int, seen_threads: set[str] | None = None, fail_on: int | None = None):
    """A forward that returns each padded row's id sum (and records which thread ran it)."""
    import threading
    import time

    def forward(input_ids, attention_mask):
        if seen_threads is not None:
            seen_threads.add(threading.current_thread().name)
        time.sleep(0.01 * input_ids.shape[1])  # longer batches finish later: out-of-order completion
        if fail_on is not None and fail_on in input_ids:
            raise RuntimeError(f"batch with {fail_on} failed")
        return {"sums": (input_ids * attention_mask).sum(1).astype(np.float32)}

    forward.workers = workers
    return forward


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_batches_in_flight_come_back_in_order_with_every_row_once(workers):
    rows = [[1] * n for n in (3, 9, 1, 9, 5, 2, 7)]
    threads: set[str] = set()
    got = np.full(len(rows), -1.0)
    order = []
    for idx, out in run_batches(_row_sums(workers, threads), rows, batch_size=2, pad_id=0):
        order.append(list(idx))
        got[idx] = out["sums"]
    assert got.tolist() == [float(len(r)) for r in rows]  # padding never counted, every row exactly once
    assert [i for batch in order for i in batch] == [1, 3, 6, 4, 0, 5, 2]  # longest first, as with one worker
    assert len(threads) == (1 if workers == 1 else workers)


def test_few_rows_are_split_so_every_worker_gets_a_batch_and_errors_propagate():
    sizes = [len(idx) for idx, _ in run_batches(_row_sums(2), [[1]] * 5, batch_size=32, pad_id=0)]
    assert sizes == [3, 2]
    with pytest.raises(RuntimeError, match="batch with 7 failed"):
        list(run_batches(_row_sums(2, fail_on=7), [[1], [7], [1, 1], [1]], batch_size=1, pad_id=0))


def test_unknown_runtime_is_a_value_error_listing_the_valid_ones(tiny_model):
    assert check_runtime("onnx") == "onnx"
    for call in (
        lambda: check_runtime("tensorrt"),
        lambda: predict_texts(tiny_model, SENTENCES, runtime="openvino"),
        lambda: tiny_model.encoder.encode(SENTENCES, runtime="ONNX"),
    ):
        with pytest.raises(ValueError, match=VALID):
            call()


def test_bf16_is_torch_only(exported):
    model, _ = exported
    with pytest.raises(ValueError, match="precision 'bf16' needs runtime 'torch'"):
        predict_texts(model, SENTENCES, precision="bf16", runtime="onnx")


def test_missing_onnx_file_says_how_to_build_it(make_tiny_model, tmp_path):
    make_tiny_model().save(tmp_path / "m")
    model = MultiTaskModel.load(tmp_path / "m")
    with pytest.raises(FileNotFoundError, match=re.escape(f"mtl export-onnx --model_path {tmp_path / 'm'}`")):
        predict_texts(model, SENTENCES, runtime="onnx")
    with pytest.raises(FileNotFoundError, match="was not loaded from a directory.*mtl export-onnx"):
        make_tiny_model().encoder.encode(SENTENCES, runtime="onnx-int8")


def test_pyfunc_runtime_param_default_and_errors(exported, make_tiny_model, tmp_path, monkeypatch):
    from mtl.registry.pyfunc import MultiTaskPyfunc

    model, _ = exported
    served = MultiTaskPyfunc()
    served.model = model
    # int8 answers differ from torch's in the printed digits, so they show which runtime ran (fp32 ONNX would not)
    expected = predict_texts(model, SENTENCES, runtime="onnx-int8")
    assert expected != predict_texts(model, SENTENCES)
    assert served.predict(None, SENTENCES, params={"runtime": "onnx-int8"}) == expected
    assert served.predict(None, SENTENCES) == predict_texts(model, SENTENCES)  # no runtime param, no default set: torch
    for params, message in (
        ({"runtime": "tensorrt"}, f"unknown runtime 'tensorrt': {VALID}"),
        ({"runtime": "onnx", "precision": "bf16"}, "needs runtime 'torch'"),
    ):
        with pytest.raises(MlflowException) as err:
            served.predict(None, SENTENCES, params=params)
        assert message in err.value.message and err.value.get_http_status_code() == 400

    def context(directory):
        return type("Context", (), {"artifacts": {"model": str(directory)}})()

    monkeypatch.setenv(RUNTIME_ENV, "onnx-int8")
    served.load_context(context(model.encoder.onnx_dir))
    assert served.predict(None, SENTENCES) == expected  # the serve-time default
    assert served.predict(None, SENTENCES, params={"runtime": "default"}) == expected
    monkeypatch.setenv(RUNTIME_ENV, "fast")
    with pytest.raises(ValueError, match=f"{RUNTIME_ENV}: unknown runtime 'fast'"):
        served.load_context(context(model.encoder.onnx_dir))

    bare = tmp_path / "bare"  # a model directory without ONNX graphs
    make_tiny_model().save(bare)
    monkeypatch.setenv(RUNTIME_ENV, "torch")
    served.load_context(context(bare))
    with pytest.raises(MlflowException) as err:
        served.predict(None, SENTENCES, params={"runtime": "onnx-int8"})
    assert "mtl export-onnx --model_path" in err.value.message and err.value.get_http_status_code() == 400
    monkeypatch.setenv(RUNTIME_ENV, "onnx")
    with pytest.raises(FileNotFoundError, match="mtl export-onnx"):  # a server that cannot serve its default fails at start
        served.load_context(context(bare))


def test_logged_pyfunc_carries_the_graphs_and_serves_onnx(make_tiny_model, tmp_path, monkeypatch, capfd):
    import json

    import mlflow

    model_dir = tmp_path / "model"
    make_tiny_model().save(model_dir)
    monkeypatch.chdir(tmp_path)
    from mtl.registry.pyfunc import INPUT_EXAMPLE, log_pyfunc
    from mtl.tracking.store import configure, ensure_experiment

    # as export and fine-tune do: mtl.tracking.store.configure is what turns MLflow's download progress bar off
    monkeypatch.delenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", raising=False)
    configure(tmp_path)
    capfd.readouterr()
    with mlflow.start_run(experiment_id=ensure_experiment("runtime-test", tmp_path)):
        info = log_pyfunc(model_dir)
    logged = capfd.readouterr()
    # MLflow predicts the example through the served path before the version exists, without a progress bar
    assert "Downloading artifacts" not in logged.err + logged.out and "Failed to validate" not in logged.err + logged.out
    request = json.loads(Path(mlflow.artifacts.download_artifacts(info.model_uri, dst_path=str(tmp_path / "dl")), "serving_input_example.json").read_text())
    assert request == {"inputs": INPUT_EXAMPLE}
    assert sorted(p.name for p in model_dir.iterdir() if p.suffix == ".onnx") == [], "the saved model (a DVC output) stays untouched"
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    in_process = loaded.unwrap_python_model().model
    assert {ONNX_FILES["onnx"], ONNX_FILES["onnx-int8"]} <= {p.name for p in in_process.encoder.onnx_dir.iterdir()}
    answers = loaded.predict(SENTENCES[:3], params={"runtime": "onnx"})
    assert answers == predict_texts(in_process, SENTENCES[:3], runtime="onnx")
    assert [a["sentence_label"] for a in answers] == [a["sentence_label"] for a in predict_texts(in_process, SENTENCES[:3])]
    int8 = loaded.predict(SENTENCES[:3], params={"runtime": "onnx-int8"})  # differs from torch's digits: the param arrived
    assert int8 == predict_texts(in_process, SENTENCES[:3], runtime="onnx-int8") != predict_texts(in_process, SENTENCES[:3])


@pytest.fixture(scope="module")
def exported_cased(make_tiny_model, tmp_path_factory):
    """A saved tiny model with the case feature (a random case embedding, so case ids matter) and both graphs."""
    import torch

    from mtl.inference.onnx import build_onnx

    model = make_tiny_model(case_feature=True)
    with torch.no_grad():
        model.case_embedding.weight[1:] = 3 * torch.randn(model.case_embedding.weight[1:].shape, generator=torch.Generator().manual_seed(1))
    directory = tmp_path_factory.mktemp("exported-cased")
    model.save(directory)
    build_onnx(directory)  # raises if the float32 graph differs from PyTorch
    return MultiTaskModel.load(directory)


def test_the_case_feature_is_a_graph_input_and_every_runtime_uses_it(exported_cased):
    from mtl.runtime.engines import load_session

    model = exported_cased
    for runtime in ("onnx", "onnx-int8"):
        session = load_session(model.encoder.onnx_dir / ONNX_FILES[runtime])
        assert [i.name for i in session.get_inputs()] == ["input_ids", "attention_mask", "case_ids"]
    cased = [s if i % 2 else s.upper() for i, s in enumerate(SENTENCES)]  # UPPER and mixed shapes too
    torch_answers = predict_texts(model, cased, batch_size=3)
    onnx_answers = predict_texts(model, cased, batch_size=3, runtime="onnx")
    int8_answers = predict_texts(model, cased, batch_size=3, runtime="onnx-int8")
    for a, b, c in zip(torch_answers, onnx_answers, int8_answers, strict=True):
        assert [w["tag"] for w in a["words"]] == [w["tag"] for w in b["words"]]
        np.testing.assert_allclose([w["score"] for w in a["words"]], [w["score"] for w in b["words"]], atol=1e-5)
        assert [w["word"] for w in a["words"]] == [w["word"] for w in c["words"]]
    from mtl.registry.pyfunc import MultiTaskPyfunc

    served = MultiTaskPyfunc()
    served.model = model
    assert served.predict(None, cased, params={"runtime": "onnx", "batch_size": 3}) == onnx_answers
    lower = predict_texts(model, [s.lower() for s in cased], batch_size=3, runtime="onnx")
    assert [[w["score"] for w in a["words"]] for a in lower] != [[w["score"] for w in a["words"]] for a in onnx_answers]
    # embeddings do not depend on case: encode needs no case ids, on any runtime
    np.testing.assert_allclose(model.encoder.encode(SENTENCES, runtime="onnx"), model.encoder.encode(SENTENCES), atol=1e-5)


def test_a_missing_or_unknown_case_input_is_refused(exported_cased, make_tiny_model, tmp_path):
    from mtl.inference.onnx import export_onnx
    from mtl.runtime.engines import attach_onnx

    ids = exported_cased.tokenizer(SENTENCES[:2], truncation=True, max_length=64)["input_ids"]
    input_ids, mask = pad_ids(ids, 0)
    for runtime in ("torch", "onnx"):
        with batch_forward(exported_cased, ("token_logits",), runtime) as forward:
            with pytest.raises(ValueError, match="needs input 'case_ids' for token_logits"):
                forward(input_ids, mask)
        with batch_forward(exported_cased, ("embeddings",), runtime) as forward:
            assert forward(input_ids, mask)["embeddings"].shape == (2, 32)  # case ids change no embedding
    plain = make_tiny_model(case_feature=False)
    export_onnx(plain, tmp_path / ONNX_FILES["onnx"])
    attach_onnx(plain, tmp_path)
    for runtime in ("torch", "onnx"):
        with batch_forward(plain, ("token_logits",), runtime) as forward:
            assert forward(input_ids, mask)["token_logits"].shape[:2] == input_ids.shape
            with pytest.raises(ValueError, match=r"takes no input \['case_ids'\]"):
                forward(input_ids, mask, case_ids=np.zeros_like(input_ids))
