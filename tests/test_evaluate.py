"""What evaluate reports: every split but train, the compact DVC summary with held-out and selection figures apart, MLflow headlines."""

import pandas as pd
import pytest

from mtl.data.align import align_tables
from mtl.data.readers import COLUMNS, CONLL_TAGS, SST2_LABELS
from mtl.data.sources import label_sets
from mtl.evaluation.evaluate import score_tables
from mtl.evaluation.summary import summary
from mtl.tracking.metrics import headline_metrics

# scores.json of the real pipeline: SST-2 dev chose, SST-2 validation is held out; CoNLL validation chose, test is held out
REAL_SCORES = {
    "sst2": {
        "dev": {"sentence_accuracy": 0.9, "sentence_macro_f1": 0.89},
        "validation": {"sentence_accuracy": 0.85, "sentence_macro_f1": 0.84},
    },
    "conll2003": {
        "validation": {"entity_f1": 0.84, "entity_precision": 0.83, "entity_recall": 0.85, "per_type_f1": {"PER": 0.9}, "served_entity_f1": 0.84},
        "test": {"entity_f1": 0.81, "entity_precision": 0.8, "entity_recall": 0.82, "per_type_f1": {"PER": 0.88}, "served_entity_f1": 0.8},
    },
}


def test_the_summary_keys_held_out_figures_plain_and_selection_figures_by_their_split():
    assert summary(REAL_SCORES) == {
        "sst2": {"acc": 0.85, "macro_f1": 0.84, "dev_acc": 0.9},  # acc: SST-2 validation, held out
        "conll": {"f1": 0.81, "PER": 0.88, "served_f1": 0.8, "val_f1": 0.84},  # f1: CoNLL test, held out
    }


def test_the_summary_puts_task_a_and_the_headline_first_for_dvc_exp_show():
    keys = [f"{dataset}.{key}" for dataset, entry in summary(REAL_SCORES).items() for key in entry]
    assert keys == ["sst2.acc", "sst2.macro_f1", "sst2.dev_acc", "conll.f1", "conll.served_f1", "conll.val_f1", "conll.PER"]


def test_the_example_summary_keeps_its_keys():
    scores = {"example": {"validation": {"sentence_accuracy": 0.9, "entity_f1": 0.7}, "test": {"sentence_accuracy": 1.0, "sentence_macro_f1": 1.0, "entity_f1": 0.8}}}
    assert summary(scores) == {"example": {"acc": 1.0, "macro_f1": 1.0, "f1": 0.8, "val_acc": 0.9, "val_f1": 0.7}}


def test_a_data_set_with_nothing_held_out_reports_its_selection_split():
    assert summary({"sst2": {"dev": {"sentence_accuracy": 0.9}}}) == {"sst2": {"acc": 0.9}}


def test_summary_keys_stay_short_for_dvc_exp_show():
    keys = [f"{dataset}.{key}" for dataset, entry in summary(REAL_SCORES).items() for key in entry]
    # `dvc exp show` makes a column of each; the longest, conll.served_f1, was there before the dev split
    assert max(map(len, keys)) <= len("conll.served_f1"), keys


def test_mlflow_headlines_name_the_split():
    assert headline_metrics(REAL_SCORES) == {
        "dev_sentence_accuracy": 0.9,
        "val_sentence_accuracy": 0.85,
        "val_entity_f1": 0.84,
        "val_served_entity_f1": 0.84,
        "test_entity_f1": 0.81,
        "test_served_entity_f1": 0.8,
    }


def _sst2(*texts: str) -> pd.DataFrame:
    return pd.DataFrame([{"text": t, "words": t.split(), "word_tags": None, "sentence_label": "positive"} for t in texts], columns=list(COLUMNS))


def test_score_tables_scores_sst2_dev_and_validation_never_train(make_tiny_model, tokenizer):
    model = make_tiny_model(sentence_labels=SST2_LABELS, token_labels=CONLL_TAGS)
    tables = {"sst2/train": _sst2("a fine film"), "sst2/dev": _sst2("a good film", "dull"), "sst2/validation": _sst2("great fun")}
    encoded, _ = align_tables(tables, tokenizer, label_sets("real"), "first", 32)
    scores, results = score_tables(model, encoded, batch_size=4)
    assert set(scores) == {"sst2"} and set(scores["sst2"]) == {"dev", "validation"}
    assert set(results) == {"sst2/dev", "sst2/validation"}
    assert scores["sst2"]["validation"]["sentence_accuracy"] in (0.0, 1.0)  # one sentence
    assert scores["sst2"]["dev"]["sentence_accuracy"] == pytest.approx(results["sst2/dev"]["sentence"]["accuracy"], abs=1e-6)
