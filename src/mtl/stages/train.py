"""Stage train: train one source's multi-task model inside a new MLflow run and save the model directory."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from pathlib import Path

import mlflow

from mtl import distributed, tracking
from mtl.config import ModelParams, TrainConfig
from mtl.files import dir_hash, replace_dir, write_atomic
from mtl.model import ModelConfig, MultiTaskModel
from mtl.pipeline import by_role, read_tables
from mtl.splits import selection_sets
from mtl.stages import Paths, log
from mtl.train import EpochResult, train

# One MLflow experiment per data source, so the runs table never mixes models of different tasks.
EXPERIMENTS = {"real": "mtl-pipeline", "example": "mtl-example"}
# The per-epoch columns kept in the DVC-tracked history: scores and losses only. Timings vary between
# identical runs and would change dvc.lock every time; MLflow keeps them (``train_seconds``).
HISTORY_SKIP = ("train_seconds", "sentences_per_second")


def history_row(result: EpochResult) -> dict[str, float]:
    """One epoch as a flat row for ``history.csv`` (and the learning-curve plot): no timings."""
    metrics = tracking.epoch_metrics(result)
    return {"epoch": result.epoch, **{k: round(v, 6) for k, v in metrics.items() if k not in HISTORY_SKIP}}


def write_history(rows: list[dict], path: Path) -> None:
    """Per-epoch rows as CSV."""
    columns = list(dict.fromkeys(k for row in rows for k in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(path, lambda tmp: tmp.write_text(buffer.getvalue()))


def read_history(path: Path) -> list[dict]:
    """The rows of ``history.csv`` with numbers parsed."""
    with open(path) as handle:
        return [{k: float(v) if v else float("nan") for k, v in row.items()} for row in csv.DictReader(handle)]


def run(source: str, model_params: ModelParams, cfg: TrainConfig, logged_params: Mapping) -> dict:
    """Train on ``source``'s aligned tables in a new MLflow run; save the model and the history.

    The epoch is chosen on each data set's selection split (``mtl.splits``: SST-2 dev, CoNLL-2003
    validation), never on a held-out one. The run is tagged with the saved model's content hash, which is
    how evaluate and export find it.
    """
    paths = Paths(source)
    cfg = cfg.for_source(source)
    labels = json.loads(paths.labels.read_text())
    tables = read_tables(paths.aligned)
    config = ModelConfig(
        backbone=model_params.name,
        sentence_labels=labels["sentence"],
        token_labels=labels["token"],
        pooling=model_params.pooling,
        max_length=model_params.max_length,
        dropout=model_params.dropout,
        decoding=model_params.decoding,
        case_feature=model_params.case_feature,
        alignment=labels["strategy"],
        data_source=source,
    )
    model = MultiTaskModel.from_backbone(config, seed=cfg.seed)
    if distributed.init_from_env() and not distributed.is_main():
        # under torchrun the other ranks train along; rank 0 alone tracks the run and writes the outputs
        result = train(model, by_role(tables, "train"), selection_sets(tables), cfg)
        return {"run_id": None, "best_epoch": result.best_epoch, "best_score": result.best_score}
    tracking.configure()
    experiment_id = tracking.ensure_experiment(EXPERIMENTS[source])
    history: list[dict] = []
    with mlflow.start_run(experiment_id=experiment_id, run_name=tracking.run_name(), tags=tracking.run_tags(source)) as active:
        mlflow.log_params(tracking.flatten(logged_params))

        def on_epoch_end(result: EpochResult) -> None:
            tracking.log_epoch(result)
            history.append(history_row(result))

        result = train(model, by_role(tables, "train"), selection_sets(tables), cfg, on_epoch_end, log=log.info)
        mlflow.log_metrics({"best_epoch": result.best_epoch, "best_val_score": result.best_score})
        for component, counts in result.parameters.items():
            mlflow.log_params({f"params.{component}.{k}": v for k, v in counts.items()})
        replace_dir(paths.model, model.save)
        write_history(history, paths.history)
        mlflow.set_tag(tracking.MODEL_HASH_TAG, dir_hash(paths.model))
    return {"run_id": active.info.run_id, "best_epoch": result.best_epoch, "best_score": result.best_score}
