"""`make run` ends with five lines: both registered models with their headline scores, and where to serve, try and browse them."""

from __future__ import annotations

import json

from mtl.apps.summary import scores_line, summary_lines


def _pipeline_outputs(root, source, name, alias, summary, failures=()):
    (root / "models" / source).mkdir(parents=True)
    (root / "metrics" / source).mkdir(parents=True)
    record = {"model_name": name, "version": "3", "alias": alias, "gate": {"failures": list(failures)}}
    (root / "models" / source / "registered.json").write_text(json.dumps(record))
    (root / "metrics" / source / "metrics.json").write_text(json.dumps(summary))


REAL = {"sst2": {"acc": 0.844, "macro_f1": 0.8439, "dev_acc": 0.8463}, "conll": {"f1": 0.8315, "served_f1": 0.8312, "val_f1": 0.8643, "PER": 0.91}}


def test_scores_line_shows_each_held_out_headline_with_the_score_that_chose():
    assert scores_line(REAL) == "sst2 acc 0.844 (dev 0.846), conll F1 0.832 (val 0.864)"
    assert scores_line({"example": {"acc": 1.0, "val_acc": 1.0, "f1": 0.9862, "val_f1": 0.968}}) == "example acc 1.000 (val 1.000), F1 0.986 (val 0.968)"


def test_five_lines_after_a_run(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/nowhere/mlflow.db")  # no store: the UI's plain address
    _pipeline_outputs(tmp_path, "real", "mtl-pipeline", "champion", REAL)
    _pipeline_outputs(tmp_path, "example", "mtl-example", "challenger", {"example": {"acc": 0.5, "val_acc": 0.4}},
                      ["example.validation.sentence_accuracy 0.4000 < 0.9000 (the threshold)"])
    lines = summary_lines(tmp_path, "127.0.0.1", 5001)
    assert lines == [
        "mtl-pipeline v3 @champion: sst2 acc 0.844 (dev 0.846), conll F1 0.832 (val 0.864)",
        "mtl-example v3 @challenger: example acc 0.500 (val 0.400) (gate: example.validation.sentence_accuracy 0.4000 < 0.9000 (the threshold))",
        "serve:  make serve  -> http://127.0.0.1:5001/invocations (MODEL=mtl-example)",
        "app:    make app    -> http://127.0.0.1:8501",
        "runs:   make ui     -> http://127.0.0.1:5000",
    ]


def test_before_any_run_it_says_what_to_run(tmp_path):
    assert summary_lines(tmp_path) == ["no pipeline run yet: `make run` trains and registers the models"]
