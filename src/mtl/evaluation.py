"""Score a model on an encoded table: sentence metrics where rows are labelled, entity metrics where tagged."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mtl.alignment import IGNORE
from mtl.encoding import word_ids_of
from mtl.inference import RowPredictions, forward_rows
from mtl.metrics import sentence_metrics, token_metrics
from mtl.model import MultiTaskModel


def evaluate_table(
    model: MultiTaskModel, table: pd.DataFrame, batch_size: int = 64, precision: str = "fp32", runtime: str = "torch"
) -> dict:
    """Metrics for each task the table labels: ``{"sentence": {...}, "token": {...}}``.

    ``runtime`` and ``precision`` choose how the forward pass runs (``mtl.runtime``), so each runtime's
    effect on the tasks can be measured on the same table.
    """
    return score_rows(model, table, table_rows(model, table, batch_size, precision=precision, runtime=runtime))


def table_rows(model: MultiTaskModel, table: pd.DataFrame, batch_size: int = 64, **options) -> RowPredictions:
    """The model's predictions for an encoded table's rows (``options``: see ``forward_rows``)."""
    return forward_rows(
        model, list(table["input_ids"]), [word_ids_of(w) for w in table["word_ids"]], [len(w) for w in table["words"]], batch_size, **options
    )


def score_rows(model: MultiTaskModel, table: pd.DataFrame, rows: RowPredictions) -> dict:
    """Score predictions ``rows`` against the table's labels.

    Token metrics compare one tag per word; words cut off by ``max_length`` count as predicted ``O``,
    so truncation costs recall instead of vanishing from the score.
    """
    result: dict = {}
    labelled = np.asarray(table["sentence_label_id"]) != IGNORE
    if labelled.any():
        labels = model.config.sentence_labels
        y_true = [labels[i] for i in np.asarray(table["sentence_label_id"])[labelled]]
        y_pred = [labels[i] for i in rows.sentence_probs.argmax(1)[labelled]]
        result["sentence"] = sentence_metrics(y_true, y_pred, labels)
    tagged = [i for i, tags in enumerate(table["word_tags"]) if tags is not None]
    if tagged:
        names = model.config.token_labels
        true_tags = [list(table["word_tags"].iloc[i]) for i in tagged]
        pred_tags = [[names[t] for t in rows.word_tag_ids[i]] for i in tagged]
        result["token"] = token_metrics(true_tags, pred_tags)
        result["token"]["truncated_words"] = int(sum(sum(rows.word_truncated[i]) for i in tagged))
    return result


def headline(metrics: dict) -> dict[str, float]:
    """The few numbers worth a glance: sentence accuracy / macro-F1 and entity F1, flat."""
    flat = {}
    if "sentence" in metrics:
        flat["sentence_accuracy"] = metrics["sentence"]["accuracy"]
        flat["sentence_macro_f1"] = metrics["sentence"]["macro_f1"]
    if "token" in metrics:
        flat["entity_f1"] = metrics["token"]["f1"]
        flat["entity_precision"] = metrics["token"]["precision"]
        flat["entity_recall"] = metrics["token"]["recall"]
    return flat


def selection_score(per_set: dict[str, dict]) -> float:
    """One number to pick the best epoch: the mean of each set's sentence accuracy and entity F1."""
    values = []
    for metrics in per_set.values():
        if "sentence" in metrics:
            values.append(metrics["sentence"]["accuracy"])
        if "token" in metrics:
            values.append(metrics["token"]["f1"])
    return float(np.mean(values)) if values else 0.0
