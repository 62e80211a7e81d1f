"""The MLflow side every run shares: the project's experiments open on their runs, with the headline scores as columns."""

from __future__ import annotations

import base64
import json
import zlib

from mtl.tracking.ui import (
    EXPERIMENT_KIND,
    EXPERIMENT_KIND_TAG,
    HEADLINE_COLUMNS,
    decode_view_state,
    experiment_tags,
    headline_view_tag,
    runs_url,
)


def test_the_headline_view_is_stored_as_the_mlflow_ui_saves_a_view():
    """The UI's own "Save as new view" writes this shape (read off MLflow 3.17.2): name, times, deflated JSON state."""
    key, value = headline_view_tag(now_ms=1_796_621_903_039)
    assert key == "mlflow.sharedViewState.headline"
    view = json.loads(value)
    assert view["name"] == "Headline scores" and view["createdAt"] == view["updatedAt"] == 1_796_621_903_039
    kind, _, data = view["state"].partition(";")
    state = json.loads(zlib.decompress(base64.b64decode(data)))
    assert kind == "deflate" and state == decode_view_state(view["state"])
    assert state == {"selectedColumns": list(HEADLINE_COLUMNS)}
    # the scores the runs table compares, under the names every source logs (mtl.tracking.metrics.headline_metrics)
    assert {"metrics.`dev_sentence_accuracy`", "metrics.`val_sentence_accuracy`", "metrics.`val_entity_f1`", "metrics.`test_entity_f1`"} <= set(
        state["selectedColumns"]
    )


def test_an_experiment_gets_the_kind_and_the_view_once_and_a_changed_view_is_kept():
    fresh = experiment_tags()
    assert fresh[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND and "mlflow.sharedViewState.headline" in fresh
    assert experiment_tags({**fresh, "mlflow.sharedViewState.headline": "a user's own"}) == {}
    assert set(experiment_tags({EXPERIMENT_KIND_TAG: EXPERIMENT_KIND})) == {"mlflow.sharedViewState.headline"}


def test_the_runs_link_opens_model_training_in_the_headline_view():
    url = runs_url("http://127.0.0.1:5000/", "7")
    assert url == "http://127.0.0.1:5000/#/experiments/7/runs?workflowType=machine_learning&viewStateShareKey=headline"


def test_ensure_experiment_tags_new_and_existing_experiments(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    from mtl.tracking.store import configure, ensure_experiment

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    configure(tmp_path)
    client = MlflowClient()
    made = client.get_experiment(ensure_experiment("new-one", tmp_path))
    assert made.tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND and "mlflow.sharedViewState.headline" in made.tags
    old = client.create_experiment("made-before")  # as an older version of the project left it
    assert ensure_experiment("made-before", tmp_path) == old
    assert client.get_experiment(old).tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND


def test_a_store_of_another_mlflow_version_is_refused_before_mlflow_migrates_it(tmp_path, monkeypatch):
    """MLflow 3 migrates an older SQLite store in place, one way: configure() stops first, naming the backup and
    the upgrade command, and leaves the file as it was. (The older schema is set by hand here; TROUBLESHOOTING.md
    has the run with a store of MLflow 2.17.2.)"""
    import sqlite3

    import pytest

    from mtl.tracking.store import StoreVersionError, _mlflow_schema, configure

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    configure(tmp_path)
    import mlflow

    mlflow.set_experiment("x")  # the store's tables, at this MLflow's head
    db = tmp_path / "mlruns" / "mlflow.db"
    head, known = _mlflow_schema()
    older = sorted(known - {head})[0]

    def set_revision(revision: str) -> None:
        with sqlite3.connect(db) as connection:
            connection.execute("UPDATE alembic_version SET version_num = ?", (revision,))

    set_revision(older)
    before = db.read_bytes()
    with pytest.raises(StoreVersionError, match=rf"written by an older MLflow \(schema {older}; .*cp -r .*mlruns .*mlruns.backup && mlflow db upgrade sqlite:///"):
        configure(tmp_path)
    assert db.read_bytes() == before  # not migrated, not touched
    set_revision("0123456789ab")
    with pytest.raises(StoreVersionError, match=r"written by a newer MLflow \(schema 0123456789ab is unknown"):
        configure(tmp_path)
    set_revision(head)
    configure(tmp_path)
