"""Served quality equals reported quality: plain text through ``predict_texts``, scored by character spans,
matches the word-level entity F1 of ``evaluate_table`` on the same CoNLL-2003 test sentences.

A seeded sample of the test split keeps the suite fast; the pipeline scores all of it both ways on every run
(``served_f1`` beside ``f1`` in ``metrics/real/metrics.json``), and ``experiments/served_quality.py`` compares
the two on the full split for any model."""

from __future__ import annotations

import pytest

from mtl.config.model import ModelConfig
from mtl.config.params import TrainConfig
from mtl.data.align import align_table
from mtl.data.raw import load_split
from mtl.data.readers import CONLL_TAGS, SST2_LABELS
from mtl.data.tables import sample_rows
from mtl.evaluation.evaluate import evaluate_table, served_entity_metrics
from mtl.model.backbones import MINILM
from mtl.model.multitask import MultiTaskModel
from mtl.training.loop import train

TRAIN_SENTENCES = 600
TEST_SENTENCES = 1000  # of CoNLL-2003 test's 3,453, seeded
MAX_LENGTH = 128


@pytest.mark.slow
def test_served_char_span_f1_matches_word_level_f1_on_conll_test(raw_dir, tokenizer):
    """The real MiniLM trained briefly on CoNLL-2003; scored on 1,000 CoNLL-2003 test sentences both ways."""
    config = ModelConfig(name=MINILM, sentence_labels=list(SST2_LABELS), token_labels=list(CONLL_TAGS), max_length=MAX_LENGTH)
    model = MultiTaskModel.from_backbone(config, seed=0)
    conll_train = sample_rows(load_split("conll2003", "train", raw_dir), TRAIN_SENTENCES, seed=0)
    encoded_train, _ = align_table(conll_train, tokenizer, SST2_LABELS, CONLL_TAGS, max_length=MAX_LENGTH)
    cfg = TrainConfig(epochs=2, batch_size=16, learning_rate=2e-4, head_learning_rate=3e-3, warmup_ratio=0.0, seed=0)
    train(model, {"conll2003/train": encoded_train}, {}, cfg, log=lambda _: None)

    sample = sample_rows(load_split("conll2003", "test", raw_dir), TEST_SENTENCES, seed=0)
    test, _ = align_table(sample, tokenizer, SST2_LABELS, CONLL_TAGS, max_length=MAX_LENGTH)
    word_level = evaluate_table(model, test)["token"]
    served = served_entity_metrics(model, test)
    print(
        f"CoNLL-2003 test ({len(test)} sentences): word-level entity F1 {word_level['f1']:.4f}, "
        f"served char-span F1 {served['f1']:.4f} (P {served['precision']:.4f} R {served['recall']:.4f})"
    )
    assert word_level["f1"] > 0.3  # the model finds entities, so the comparison means something
    assert served["support"] == word_level["support"]
    assert abs(served["f1"] - word_level["f1"]) <= 0.005
