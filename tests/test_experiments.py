"""The full-data experiment helpers: the HF peer's label alignment and the results table."""

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "experiments"))

import hf_peer  # noqa: E402
import results  # noqa: E402


def test_peer_labels_first_piece_only_like_run_ner(tokenizer):
    table = pd.DataFrame({"words": [["Kubernetes", "in", "Paris"]], "word_tags": [["B-MISC", "O", "B-LOC"]]})
    label_id = {"O": 0, "B-MISC": 7, "B-LOC": 5}
    row = hf_peer.conll_rows(tokenizer, table, 32, label_id)[0]
    pieces = tokenizer.convert_ids_to_tokens(row["input_ids"])
    assert len(pieces) > 5, "Kubernetes must split into several pieces for this test to mean anything"
    labelled = [(p, label) for p, label in zip(pieces, row["labels"]) if label != -100]
    assert labelled == [(pieces[1], 7), ("in", 0), ("paris", 5)]
    assert row["labels"][0] == row["labels"][-1] == -100  # [CLS] and [SEP]


def _result(sst2=None, conll=None, weights=(1.0, 1.0)):
    out = {"training": {"train_seconds": 120.0, "sentences_per_second": 50.0, "settings": {
        "train.task_weights.sentence": str(weights[0]), "train.task_weights.token": str(weights[1])}}}
    if sst2 is not None:
        out["sst2"] = {"validation": {"sentence_accuracy": sst2}}
    if conll is not None:
        split = {"entity_f1": conll, "per_type_f1": {"PER": 0.9, "LOC": 0.8, "ORG": 0.7, "MISC": 0.6}}
        out["conll2003"] = {"validation": split, "test": split}
    return out


def test_results_table_orders_rows_and_hides_untrained_heads():
    text = results.table({
        "zz-extra": _result(0.5, 0.5),
        "full-sentence-only": _result(0.91, 0.02, weights=(1.0, 0.0)),
        "full-mtl": _result(0.897, 0.87),
        "full-token-only": _result(0.48, 0.86, weights=(0.0, 1.0)),
    })
    lines = text.splitlines()
    assert lines[2].startswith("| **multi-task (ours)** | 0.897 | 0.870 | 0.870 | 0.900 | 0.800 | 0.700 | 0.600 | 2.0 min | 50 |")
    assert lines[3].startswith("| sentence-only (ours, token weight 0) | 0.910 | – | – |")
    assert lines[4].startswith("| token-only (ours, sentence weight 0) | – | 0.860 | 0.860 |")
    assert lines[5].startswith("| zz-extra |")
