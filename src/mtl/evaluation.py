"""Score a model on an encoded table: sentence metrics where rows are labelled, entity metrics where tagged."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mtl.alignment import IGNORE, group_entities
from mtl.encoding import word_ids_of
from mtl.inference import RowPredictions, forward_rows, predict_texts
from mtl.metrics import sentence_metrics, span_metrics, token_metrics
from mtl.model import MultiTaskModel
from mtl.splits import SHORT, held_out_splits, selection_split


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


def selection_score(per_set: dict[str, dict], tasks: Sequence[str] = ("sentence", "token")) -> float:
    """One number to pick the best epoch: the mean over sets of sentence accuracy and entity F1, for ``tasks`` only.

    ``per_set`` holds the scores of the selection sets (``mtl.splits.selection_sets``), never a held-out split's.
    """
    values = []
    for metrics in per_set.values():
        if "sentence" in metrics and "sentence" in tasks:
            values.append(metrics["sentence"]["accuracy"])
        if "token" in metrics and "token" in tasks:
            values.append(metrics["token"]["f1"])
    return float(np.mean(values)) if values else 0.0


# Short names for the DVC summary (``dvc exp show`` must fit a terminal: its columns are the full key paths).
SHORT_NAMES = {"conll2003": "conll"}
SUMMARY_NAMES = {"sentence_accuracy": "acc", "sentence_macro_f1": "macro_f1", "entity_f1": "f1"}
# Of a data set's held-out splits, the one its summary reports (the other held-out splits stay in scores.json).
REPORT_ORDER: tuple[str, ...] = ("test", "validation")


def summary(scores: dict[str, dict[str, dict]]) -> dict[str, dict[str, float]]:
    """The few numbers ``dvc exp show`` compares, from ``scores.json`` (``{dataset: {split: {...}}}``).

    Plain keys are a held-out split's scores (``mtl.splits``): the test split where there is one, else a
    held-out validation split (SST-2: its validation split, since SST-2 dev chooses). They are sentence
    ``acc`` and ``macro_f1``; entity ``f1``, F1 per type and the served character-span F1 where scored.
    The selection split's accuracy and entity F1 follow with its short name as prefix (``dev_acc`` for
    SST-2, ``val_f1`` for CoNLL-2003), so which figure chose and which is held out shows in the key. A data
    set with nothing held out reports its selection split under the plain keys. Precision, recall and
    everything else stay in ``scores.json`` and MLflow.

    The order is meant to be kept (``write_json(..., sort_keys=False)``): ``dvc exp show`` makes columns in
    file order and cuts off what the terminal cannot fit, so Task A's data sets come first and, within a
    data set, the held-out headline, the served figure and the selection figure come before the per-type F1.
    """
    def sentence_task_first(dataset: str) -> tuple[bool, str]:
        return not any("sentence_accuracy" in values for values in scores[dataset].values()), dataset

    out: dict[str, dict[str, float]] = {}
    for dataset in sorted(scores, key=sentence_task_first):
        splits = scores[dataset]
        chosen_by = selection_split(splits)
        held_out = held_out_splits(splits)
        reported = next((s for s in REPORT_ORDER if s in held_out), chosen_by)
        values = splits[reported]
        entry = {name: round(values[key], 4) for key, name in SUMMARY_NAMES.items() if key in values}
        if "served_entity_f1" in values:
            entry["served_f1"] = round(values["served_entity_f1"], 4)
        if chosen_by is not None and reported != chosen_by:
            prefix = SHORT[chosen_by]
            chosen = splits[chosen_by]
            entry.update({f"{prefix}_{SUMMARY_NAMES[k]}": round(chosen[k], 4) for k in ("sentence_accuracy", "entity_f1") if k in chosen})
        entry.update({kind: round(f1, 4) for kind, f1 in sorted(values.get("per_type_f1", {}).items())})
        out[SHORT_NAMES.get(dataset, dataset)] = entry
    return out
