"""The few numbers ``dvc metrics show`` and ``dvc exp show`` compare, from ``scores.json``."""

from __future__ import annotations

from mtl.data.splits import SHORT, held_out_splits, selection_split

# Short names for the DVC summary (``dvc exp show`` must fit a terminal: its columns are the full key paths).
SHORT_NAMES = {"conll2003": "conll"}
SUMMARY_NAMES = {"sentence_accuracy": "acc", "sentence_macro_f1": "macro_f1", "entity_f1": "f1"}
# Of a data set's held-out splits, the one its summary reports (the other held-out splits stay in scores.json).
REPORT_ORDER: tuple[str, ...] = ("test", "validation")


def summary(scores: dict[str, dict[str, dict]]) -> dict[str, dict[str, float]]:
    """The few numbers ``dvc exp show`` compares, from ``scores.json`` (``{dataset: {split: {...}}}``).

    Plain keys are a held-out split's scores (``mtl.data.splits``): the test split where there is one, else a
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
