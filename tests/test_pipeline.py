"""The whole pipeline, for real: DVC, an MLflow store and registry, and a `mlflow models serve` process.

Runs in a temporary git clone of the working tree with tiny params (a tiny random backbone saved to a
directory, a few dozen real rows, one epoch), so it checks wiring, not model quality.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pandas as pd
import pytest
import requests

from tests.conftest import free_port, run_ok, wait_until_up

pytestmark = pytest.mark.slow


def _client(env):
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    mlflow.set_registry_uri(env["MLFLOW_TRACKING_URI"])
    return MlflowClient()


def test_repro_writes_lock_metrics_and_plots(project):
    root, env = project
    assert (root / "dvc.lock").exists()
    scores = json.loads((root / "metrics/real/scores.json").read_text())
    assert set(scores) == {"sst2", "conll2003"}
    # SST-2 dev (chose the epoch, drives the gate) and SST-2 validation (held out) are both scored
    assert set(scores["sst2"]) == {"dev", "validation"} and set(scores["conll2003"]) == {"validation", "test"}
    assert 0 <= scores["sst2"]["validation"]["sentence_accuracy"] <= 1
    assert set(scores["conll2003"]["test"]["per_type_f1"]) == {"PER", "ORG", "LOC", "MISC"}
    for split in ("validation", "test"):  # the served figure sits beside the word-level one
        assert 0 <= scores["conll2003"][split]["served_entity_f1"] <= 1
    summary = json.loads((root / "metrics/real/metrics.json").read_text())
    assert set(summary["conll"]) >= {"f1", "val_f1", "PER", "ORG", "LOC", "MISC", "served_f1"} and set(summary["sst2"]) == {"acc", "macro_f1", "dev_acc"}
    # written in summary()'s order, not sorted: `dvc exp show` shows columns in file order
    assert list(summary) == ["sst2", "conll"] and list(summary["conll"])[:3] == ["f1", "served_f1", "val_f1"]
    assert summary["sst2"]["acc"] == round(scores["sst2"]["validation"]["sentence_accuracy"], 4)  # the held-out figure
    assert summary["sst2"]["dev_acc"] == round(scores["sst2"]["dev"]["sentence_accuracy"], 4)
    prepared = root / "data/prepared/real/sst2"
    dev, train = pd.read_parquet(prepared / "dev.parquet"), pd.read_parquet(prepared / "train.parquet")
    assert (len(dev), len(train)) == (24, 48) and not set(dev["text"]) & set(train["text"])
    assert (root / "data/aligned/real/sst2/dev.parquet").is_file()  # align handles it like the other splits
    for source in ("real", "example"):
        assert (root / f"plots/{source}/learning_curves.png").stat().st_size > 1000
        assert (root / f"models/{source}/model/model.safetensors").is_file()
    shown = json.loads(run_ok(["dvc", "metrics", "show", "--json"], root, env).stdout)
    # only the real-data summary is a DVC metric: alignment counts and the toy model stay out of the tables
    assert list(shown[""]["data"]) == ["metrics/real/metrics.json"]
    # the example model learned: it passed a gate that a model which learned nothing fails
    example = json.loads((root / "models/example/registered.json").read_text())
    assert example["alias"] == "champion" and example["gate"]["passed"] and example["gate"]["thresholds"] == {"entity_f1": 0.5, "sentence_accuracy": 0.5}
    assert all(check["value"] >= 0.5 for check in example["gate"]["checks"])


def test_second_repro_runs_nothing(project):
    root, env = project
    out = run_ok(["dvc", "repro"], root, env).stdout
    assert "Running stage" not in out
    assert "up to date" in run_ok(["dvc", "status"], root, env).stdout


def test_mlflow_run_has_params_epoch_metrics_plots_and_tags(project):
    root, env = project
    client = _client(env)
    run_id = json.loads((root / "models/real/registered.json").read_text())["run_id"]
    run = client.get_run(run_id)
    assert run.info.run_name == "repro-" + run_ok(["git", "rev-parse", "--short=7", "HEAD"], root, env).stdout.strip()
    assert run.data.params["train.epochs"] == "1" and run.data.params["source"] == "real"
    assert not any(k.startswith("export") for k in run.data.params), "gate settings are tags: params are write-once"
    assert {"dev_sentence_accuracy", "val_sentence_accuracy", "val_entity_f1", "test_entity_f1"} <= set(run.data.metrics)
    assert run.data.params["model.pooling"] == "mean"
    history = client.get_metric_history(run_id, "train_loss")
    assert [m.step for m in history] == [1]
    # per epoch: the selection splits only (SST-2 dev, CoNLL validation); SST-2 validation is scored once, by evaluate
    assert {"val_sst2_dev_sentence_accuracy", "val_conll2003_validation_entity_f1"} <= set(run.data.metrics)
    assert not any(k.startswith("val_sst2_validation") for k in run.data.metrics)
    assert "sst2_validation_sentence_accuracy" in run.data.metrics and "conll2003_test_entity_f1" in run.data.metrics
    assert 0 < run.data.metrics["train_seconds"] < 600
    assert "train_seconds" not in (root / "metrics/real/history.csv").read_text(), "timings would change dvc.lock"
    assert run.data.tags["git_commit"] == run_ok(["git", "rev-parse", "HEAD"], root, env).stdout.strip()
    assert any(k.startswith("data.data/prepared") for k in run.data.tags)
    artifacts = {a.path for a in client.list_artifacts(run_id, "plots")}
    assert {"plots/learning_curves.png", "plots/confusion_sst2_dev.png", "plots/confusion_sst2_validation.png"} <= artifacts
    example = client.get_run(json.loads((root / "models/example/registered.json").read_text())["run_id"])
    assert example.info.experiment_id != run.info.experiment_id and example.data.tags["mtl.source"] == "example"


def test_registry_alias_and_pyfunc_prediction(project):
    import mlflow

    root, env = project
    client = _client(env)
    record = json.loads((root / "models/real/registered.json").read_text())
    version = client.get_model_version_by_alias("mtl-pipeline", "champion")
    assert str(version.version) == record["version"] and record["alias"] == "champion"
    assert record["gate"]["passed"] and not record["reused_version"]
    example = client.get_model_version_by_alias("mtl-example", "champion")
    assert example.run_id == json.loads((root / "models/example/registered.json").read_text())["run_id"] != version.run_id
    model = mlflow.pyfunc.load_model("models:/mtl-pipeline@champion")
    answers = model.predict(["Peter flew to Paris .", "a gorgeous movie"])
    assert model.predict(pd.DataFrame({"sentence": ["a gorgeous movie"]}))[0]["text"] == "a gorgeous movie"
    assert [a["text"] for a in answers] == ["Peter flew to Paris .", "a gorgeous movie"]
    assert set(answers[0]["sentence_probs"]) == {"negative", "positive"}
    assert [w["word"] for w in answers[0]["words"]] == ["Peter", "flew", "to", "Paris", "."]
    assert answers[0]["words"][3]["start"] == 14


def test_mlflow_models_serve_answers_like_in_process(project):
    from mtl.inference.predict import predict_texts
    from mtl.model.multitask import MultiTaskModel

    root, env = project
    port = free_port()
    server = subprocess.Popen(
        ["mlflow", "models", "serve", "-m", "models:/mtl-pipeline@champion", "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/ping", server)
        texts = ["Apple unveiled a new iPhone in California", "The weather in Paris is terrible today"]
        expected = predict_texts(MultiTaskModel.load(root / "models/real/model"), texts)
        for body in ({"inputs": texts}, {"dataframe_split": {"columns": ["text"], "data": [[t] for t in texts]}}, {"dataframe_records": [{"text": t} for t in texts]}):
            response = requests.post(f"{url}/invocations", json=body, timeout=60)
            assert response.status_code == 200, response.text
            assert response.json()["predictions"] == expected
        with_embeddings = requests.post(f"{url}/invocations", json={"inputs": texts[:1], "params": {"return_embeddings": True}}, timeout=60)
        assert len(with_embeddings.json()["predictions"][0]["embedding"]) == 32
        # the registered model carries the ONNX graphs (built by the export stage): both ONNX runtimes serve
        import mlflow

        logged = mlflow.pyfunc.load_model("models:/mtl-pipeline@champion").unwrap_python_model().model
        for runtime in ("onnx", "onnx-int8"):
            response = requests.post(f"{url}/invocations", json={"inputs": texts, "params": {"runtime": runtime}}, timeout=60)
            assert response.status_code == 200, response.text
            served = response.json()["predictions"]
            local = predict_texts(logged, texts, runtime=runtime)
            assert [(a["sentence_label"], [w["tag"] for w in a["words"]]) for a in served] == [
                (a["sentence_label"], [w["tag"] for w in a["words"]]) for a in local
            ]
            for a, b in zip(served, local):
                assert a["sentence_probs"] == pytest.approx(b["sentence_probs"], abs=1e-5)
        for bad, message in (
            ({"inputs": [""]}, "sentence 0 is empty"),
            ({"dataframe_records": [{"a": "x", "b": "y"}]}, "expected one column"),
            ({"inputs": [1, 2]}, "expected a string"),
            ({"inputs": []}, ""),
            ({"inputs": texts, "params": {"runtime": "tensorrt"}}, "unknown runtime 'tensorrt': choose one of torch, onnx, onnx-int8"),
        ):
            response = requests.post(f"{url}/invocations", json=bad, timeout=60)
            assert response.status_code == 400, (bad, response.status_code, response.text)
            assert message in response.json()["message"]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
