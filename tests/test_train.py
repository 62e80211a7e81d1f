import numpy as np
import pytest

from mtl.alignment import IGNORE
from mtl.evaluation import evaluate_table
from mtl.losses import TaskWeights
from mtl.pipeline import align_tables, by_role, prepare_example
from mtl.train import TrainConfig, train


@pytest.fixture(scope="module")
def example_sets(tokenizer):
    tables = prepare_example(300, seed=1)
    encoded, _ = align_tables(tables, tokenizer, "example", "first", 64)
    return encoded


def _fast_cfg(**overrides):
    base = dict(epochs=4, batch_size=16, learning_rate=1e-3, head_learning_rate=3e-3, warmup_ratio=0.0, seed=0)
    base.update(overrides)
    return TrainConfig(**base)


def test_short_training_run_learns_both_tasks_on_unseen_templates(make_tiny_model, example_sets):
    model = make_tiny_model()
    test = by_role(example_sets, "test")["example"]
    before = evaluate_table(model, test)
    epochs = []
    result = train(model, by_role(example_sets, "train"), by_role(example_sets, "validation"), _fast_cfg(), epochs.append, log=lambda _: None)
    assert [e.epoch for e in epochs] == [1, 2, 3, 4]
    assert epochs[-1].train_loss < epochs[0].train_loss * 0.8
    after = evaluate_table(model, test)
    # chance: 1/3 for three balanced classes; an untrained token head finds no entity
    print("before", before["sentence"]["accuracy"], before["token"]["f1"], "after", after["sentence"]["accuracy"], after["token"]["f1"])
    assert after["sentence"]["accuracy"] > 0.6 > before["sentence"]["accuracy"] - 0.2
    assert after["token"]["f1"] > 0.3 > before["token"]["f1"]
    assert 1 <= result.best_epoch <= 4


def test_training_is_reproducible(make_tiny_model, example_sets):
    cfg = _fast_cfg(epochs=1)
    losses = []
    for _ in range(2):
        model = make_tiny_model()
        result = train(model, by_role(example_sets, "train"), {}, cfg, log=lambda _: None)
        losses.append(result.history[0].train_loss)
    assert losses[0] == losses[1]


def test_a_task_missing_from_a_set_is_masked_not_invented(make_tiny_model, example_sets):
    # split the example data into a sentence-only set and a token-only set, like SST-2 and CoNLL
    train_set = by_role(example_sets, "train")["example"]
    half = len(train_set) // 2
    sentences_only = train_set.iloc[:half].copy()
    sentences_only["token_labels"] = [[IGNORE] * len(t) for t in sentences_only["token_labels"]]
    sentences_only["word_tags"] = None
    tokens_only = train_set.iloc[half:].copy()
    tokens_only["sentence_label_id"] = IGNORE
    tokens_only["sentence_label"] = None
    model = make_tiny_model()
    seen = []
    train(model, {"sst": sentences_only, "ner": tokens_only}, {}, _fast_cfg(epochs=1, sampling="temperature"), seen.append, log=lambda _: None)
    assert set(seen[0].task_losses) == {"sentence", "token"}
    assert np.isfinite(seen[0].train_loss)


def test_zero_weight_skips_sets_that_label_only_that_task(make_tiny_model, example_sets):
    train_set = by_role(example_sets, "train")["example"].copy()
    train_set["sentence_label_id"] = IGNORE
    messages = []
    with pytest.raises(ValueError, match="no training set labels a task"):
        train(make_tiny_model(), {"ner": train_set}, {}, _fast_cfg(task_weights=TaskWeights(1.0, 0.0)), log=messages.append)
    assert any("skipping training set 'ner'" in m for m in messages)


def test_frozen_encoder_does_not_change(make_tiny_model, example_sets):
    model = make_tiny_model()
    before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    train(model, by_role(example_sets, "train"), {}, _fast_cfg(epochs=1, freeze="encoder"), log=lambda _: None)
    after = model.encoder.state_dict()
    assert all(np.array_equal(before[k].numpy(), after[k].numpy()) for k in before)


@pytest.mark.parametrize("overrides, message", [({"epochs": 0}, "epochs"), ({"learning_rate": -1.0}, "learning_rate"), ({"sampling": "x"}, "sampling")])
def test_train_config_validation(overrides, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**overrides)
