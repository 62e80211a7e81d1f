"""Score a model on an encoded table: sentence metrics where rows are labelled, entity metrics where tagged."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mtl.data.align import word_ids_of
from mtl.evaluation.metrics import sentence_metrics, span_metrics, token_metrics
from mtl.inference.predict import RowPredictions, forward_rows, predict_texts
from mtl.model.multitask import MultiTaskModel
from mtl.text.alignment import IGNORE
from mtl.text.entities import group_entities


def evaluate_table(
    model: MultiTaskModel, table: pd.DataFrame, batch_size: int = 64, precision: str = "fp32", runtime: str = "torch"
) -> dict:
    """Metrics for each task the table labels: ``{"sentence": {...}, "token": {...}}``.

    ``runtime`` and ``precision`` choose how the forward pass runs (``mtl.runtime.engines``), so each runtime's
    effect on the tasks can be measured on the same table.
    """
    return score_rows(model, table, table_rows(model, table, batch_size, precision=precision, runtime=runtime))


def table_rows(model: MultiTaskModel, table: pd.DataFrame, batch_size: int = 64, **options) -> RowPredictions:
    """The model's predictions for an encoded table's rows (``options``: see ``forward_rows``)."""
    return forward_rows(
        model, list(table["input_ids"]), [word_ids_of(w) for w in table["word_ids"]], [list(w) for w in table["words"]], batch_size, **options
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


def served_entity_metrics(
    model: MultiTaskModel, table: pd.DataFrame, batch_size: int = 64, precision: str = "fp32", runtime: str = "torch"
) -> dict | None:
    """Entity scores as a user of the served model sees them: plain text in, character spans out.

    Each tagged row's words are joined with single spaces and sent through ``predict_texts`` (the
    served code path, word splitting included); its entities are matched to the gold ones by exact
    character span and type, with the forward pass on ``runtime``. None when the table tags no rows.
    """
    tagged = [i for i, tags in enumerate(table["word_tags"]) if tags is not None]
    if not tagged:
        return None
    texts, gold = [], []
    for i in tagged:
        words = list(table["words"].iloc[i])
        offsets, cursor = [], 0
        for word in words:
            offsets.append((cursor, cursor + len(word)))
            cursor += len(word) + 1
        text = " ".join(words)
        texts.append(text)
        gold.append([(e.start, e.end, e.type) for e in group_entities(text, list(table["word_tags"].iloc[i]), offsets)])
    answers = predict_texts(model, texts, batch_size=batch_size, precision=precision, runtime=runtime)
    predicted = [[(e["start"], e["end"], e["type"]) for e in a["entities"]] for a in answers]
    return span_metrics(gold, predicted)


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


def recorded_headline(metrics: dict) -> dict[str, float]:
    """``headline(metrics)`` as ``scores.json`` records it, to 6 decimals: every score the gate compares is made this way,
    a candidate's from ``scores.json`` and a re-scored champion's alike, so equal models compare equal."""
    return {k: round(v, 6) for k, v in headline(metrics).items()}


def selection_score(per_set: dict[str, dict], tasks: Sequence[str] = ("sentence", "token")) -> float:
    """One number to pick the best epoch: the mean over sets of sentence accuracy and entity F1, for ``tasks`` only.

    ``per_set`` holds the scores of the selection sets (``mtl.data.splits.selection_sets``), never a held-out split's.
    """
    values = []
    for metrics in per_set.values():
        if "sentence" in metrics and "sentence" in tasks:
            values.append(metrics["sentence"]["accuracy"])
        if "token" in metrics and "token" in tasks:
            values.append(metrics["token"]["f1"])
    return float(np.mean(values)) if values else 0.0


def score_tables(model: MultiTaskModel, tables: dict, batch_size: int) -> tuple[dict[str, dict], dict[str, dict]]:
    """Every split but train scored: ``scores.json``'s content (headline scores, per-type F1 and the served character-span
    F1, per data set and split: selection and held-out splits alike, ``mtl.data.splits``) and the full results per table."""
    metrics: dict[str, dict] = {}
    results: dict[str, dict] = {}
    for name, table in tables.items():
        dataset, split = name.split("/")
        if split == "train":
            continue
        result = evaluate_table(model, table, batch_size)
        entry = recorded_headline(result)
        if "token" in result:
            entry["per_type_f1"] = {k: round(v["f1"], 6) for k, v in result["token"]["per_type"].items()}
            # the same sentences as a user sends them: joined plain text in, entities matched by character span
            entry["served_entity_f1"] = round(served_entity_metrics(model, table, batch_size)["f1"], 6)
        metrics.setdefault(dataset, {})[split] = entry
        results[name] = result
    return metrics, results
