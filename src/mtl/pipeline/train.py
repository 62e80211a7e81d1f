"""Stage train: train one source's multi-task model inside a new MLflow run and save the model directory."""

from __future__ import annotations

import json
from collections.abc import Mapping

import mlflow

from mtl.config.model import ModelConfig
from mtl.config.params import ModelParams, TrainConfig
from mtl.config.paths import Paths
from mtl.data.files import dir_hash, replace_dir
from mtl.data.splits import selection_sets
from mtl.data.tables import by_role, read_tables
from mtl.model.multitask import MultiTaskModel
from mtl.pipeline.stage import log
from mtl.tracking.history import history_row, write_history
from mtl.tracking.metrics import log_epoch
from mtl.tracking.runs import MODEL_HASH_TAG, flatten, run_name, run_tags
from mtl.tracking.store import configure, ensure_experiment
from mtl.training import distributed
from mtl.training.loop import EpochResult, train


def run(source: str, model_params: ModelParams, cfg: TrainConfig, logged_params: Mapping, experiment: str) -> dict:
    """Train on ``source``'s aligned tables in a new MLflow run; save the model and the history.

    The epoch is chosen on each data set's selection split (``mtl.data.splits``: SST-2 dev, CoNLL-2003
    validation), never on a held-out one. The run is tagged with the saved model's content hash, which is
    how evaluate and export find it.
    """
    paths = Paths(source)
    labels = json.loads(paths.labels.read_text())
    tables = read_tables(paths.aligned)
    config = ModelConfig.from_params(
        model_params, sentence_labels=labels["sentence"], token_labels=labels["token"], alignment=labels["strategy"], data_source=source
    )
    model = MultiTaskModel.from_backbone(config, seed=cfg.seed)
    if distributed.init_from_env() and not distributed.is_main():
        # under torchrun the other ranks train along; rank 0 alone tracks the run and writes the outputs
        result = train(model, by_role(tables, "train"), selection_sets(tables), cfg)
        return {"run_id": None, "best_epoch": result.best_epoch, "best_score": result.best_score}
    configure()
    experiment_id = ensure_experiment(experiment)
    history: list[dict] = []
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name(), tags=run_tags(source)) as active:
        mlflow.log_params(flatten(logged_params))

        def on_epoch_end(result: EpochResult) -> None:
            log_epoch(result)
            history.append(history_row(result))

        result = train(model, by_role(tables, "train"), selection_sets(tables), cfg, on_epoch_end, log=log.info)
        mlflow.log_metrics({"best_epoch": result.best_epoch, "best_val_score": result.best_score})
        for component, counts in result.parameters.items():
            mlflow.log_params({f"params.{component}.{k}": v for k, v in counts.items()})
        replace_dir(paths.model, model.save)
        write_history(history, paths.history)
        mlflow.set_tag(MODEL_HASH_TAG, dir_hash(paths.model))
    return {"run_id": active.info.run_id, "best_epoch": result.best_epoch, "best_score": result.best_score}
