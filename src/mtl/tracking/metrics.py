"""The metrics a run logs: per epoch (losses, speed, the selection sets' scores) and the headline scores for the runs table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import mlflow

from mtl.data.splits import SHORT, check_split
from mtl.evaluation.evaluate import headline
from mtl.tracking.runs import flatten

if TYPE_CHECKING:  # for the annotations only: evaluate reads these metrics without importing the training loop
    from mtl.training.loop import EpochResult


def epoch_metrics(result: EpochResult) -> dict[str, float]:
    """Flat MLflow metrics for one epoch: training losses, speed, the selection score (``val_score``) and
    each selection set's headline as ``val_<dataset>_<split>_<metric>`` (``val_sst2_dev_sentence_accuracy``)."""
    metrics = {
        "train_loss": result.train_loss,
        "train_seconds": result.train_seconds,
        "sentences_per_second": result.sentences_per_second,
        "val_score": result.score,
    }
    metrics.update({f"train_{task}_loss": value for task, value in result.task_losses.items()})
    for name, per_set in result.validation.items():
        metrics.update({f"val_{name}_{key}": value for key, value in headline(per_set).items()})
    return metrics


def log_epoch(result: EpochResult) -> None:
    """The training callback: log one epoch's metrics to the active run, at step = epoch."""
    mlflow.log_metrics(epoch_metrics(result), step=result.epoch)


def headline_metrics(metrics: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, float]:
    """The few scores the MLflow runs table compares, under names that are the same for every data source.

    ``metrics`` is ``scores.json``'s shape: ``{dataset: {split: {metric: value}}}``. Each name is the split's
    short name and the metric (``mtl.data.splits.SHORT``): ``dev_sentence_accuracy`` (SST-2 dev, which chooses),
    ``val_sentence_accuracy`` (SST-2 validation, held out), ``val_entity_f1`` and ``test_entity_f1``
    (CoNLL-2003). Each data set labels one task, so no two data sets share a name.
    """
    flat: dict[str, float] = {}
    for splits in metrics.values():
        for split, scores in splits.items():
            if split == "train":
                continue
            for key in ("sentence_accuracy", "entity_f1", "served_entity_f1"):
                if key in scores:
                    flat[f"{SHORT[check_split(split)]}_{key}"] = float(scores[key])
    return flat


def score_metrics(scores: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, float]:
    """Every score of a ``scores.json`` (``mtl.evaluation.evaluate.score_tables``) as flat MLflow metrics:
    ``<dataset>_<split>_<metric>`` (``conll2003_test_entity_f1``), per-type F1 as ``<dataset>_<split>_f1_<TYPE>``.
    Anything that is not a number (a peer's notes, say) is left out."""
    flat = {k.replace(".per_type_f1.", ".f1_"): v for k, v in flatten(scores).items()}
    return {k.replace(".", "_"): float(v) for k, v in flat.items() if isinstance(v, int | float) and not isinstance(v, bool)}
