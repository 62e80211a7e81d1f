import numpy as np
import pytest
import torch

from mtl.config.params import TaskWeights, TrainConfig
from mtl.data.align import align_tables
from mtl.data.sources import label_sets, prepare_example
from mtl.data.tables import by_role
from mtl.evaluation.evaluate import evaluate_table
from mtl.text.alignment import IGNORE
from mtl.training.loop import train


@pytest.fixture(scope="module")
def example_sets(tokenizer):
    tables = prepare_example(300, seed=1)
    encoded, _ = align_tables(tables, tokenizer, label_sets("example"), "first", 64)
    return encoded


def _fast_cfg(**overrides):
    base = dict(epochs=4, batch_size=16, learning_rate=1e-3, head_learning_rate=3e-3, warmup_ratio=0.0, seed=0)
    base.update(overrides)
    return TrainConfig(**base)


@pytest.mark.slow
def test_short_training_run_learns_both_tasks_on_unseen_templates(tokenizer):
    """The real MiniLM, two short epochs: loss falls and both tasks beat chance on templates never seen in training."""
    from mtl.config.model import ModelConfig
    from mtl.model.backbones import MINILM
    from mtl.model.multitask import MultiTaskModel

    tables = prepare_example(450, seed=1)
    encoded, _ = align_tables(tables, tokenizer, label_sets("example"), "first", 64)
    config = ModelConfig(name=MINILM, sentence_labels=["Technology", "Weather", "Other"], token_labels=["O", "B-TECH", "I-TECH", "B-WEATHER", "I-WEATHER"], max_length=64)
    model = MultiTaskModel.from_backbone(config, seed=0)
    test = by_role(encoded, "test")["example"]
    before = evaluate_table(model, test)
    epochs = []
    cfg = TrainConfig(epochs=2, batch_size=8, learning_rate=1e-4, head_learning_rate=1e-3, seed=0)
    train(model, by_role(encoded, "train"), {}, cfg, epochs.append, log=lambda _: None)
    assert epochs[-1].train_loss < epochs[0].train_loss * 0.7
    after = evaluate_table(model, test)
    # chance: 1/3 for three balanced classes; an untrained token head finds (almost) no entity
    assert after["sentence"]["accuracy"] > 0.8 and before["sentence"]["accuracy"] < 0.6
    assert after["token"]["f1"] > 0.3 and before["token"]["f1"] < 0.1


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


@pytest.mark.parametrize("overrides, message", [({"epochs": 0}, "epochs"), ({"learning_rate": -1.0}, "learning_rate"), ({"sampling": "x"}, "sampling"), ({"precision": "fp16"}, "unknown precision 'fp16': choose one of fp32, bf16")])
def test_train_config_validation(overrides, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**overrides)


def test_selection_score_uses_only_the_trained_tasks():
    from mtl.evaluation.evaluate import selection_score

    per_set = {"sst2": {"sentence": {"accuracy": 0.9}}, "conll2003": {"token": {"f1": 0.1}}}
    assert selection_score(per_set) == pytest.approx(0.5)
    assert selection_score(per_set, ("sentence",)) == pytest.approx(0.9)
    assert selection_score(per_set, ("token",)) == pytest.approx(0.1)


def test_the_best_epochs_weights_are_restored(make_tiny_model, example_sets, monkeypatch):
    """Epoch 1 scores best on validation, so the trained model ends with epoch 1's weights, not epoch 2's."""
    import mtl.training.loop

    scores = iter([{"token": {"f1": 0.9}}, {"token": {"f1": 0.1}}])
    # the loop scores validation with evaluate_table; a fixed sequence of scores makes epoch 1 the best
    monkeypatch.setattr(mtl.training.loop, "evaluate_table", lambda *args, **kwargs: next(scores))
    model = make_tiny_model()
    snapshots = []

    def snapshot(result):
        snapshots.append({k: v.detach().clone() for k, v in model.state_dict().items()})

    validation = {"example": by_role(example_sets, "validation")["example"]}
    result = train(model, by_role(example_sets, "train"), validation, _fast_cfg(epochs=2), snapshot, log=lambda _: None)
    assert result.best_epoch == 1 and result.best_score == pytest.approx(0.9)
    final = model.state_dict()
    changed = [k for k in final if not torch.equal(snapshots[0][k], snapshots[1][k])]
    assert changed, "epoch 2 changed no weight, so the test proves nothing"
    assert all(torch.equal(final[k], snapshots[0][k]) for k in final)


def test_single_task_runs_choose_their_epoch_on_their_own_task(make_tiny_model, example_sets, monkeypatch):
    """A token weight of 0 leaves the token head untrained: its F1 must not pick the epoch."""
    import mtl.training.loop

    scores = iter([{"sentence": {"accuracy": 0.5}, "token": {"f1": 0.9}}, {"sentence": {"accuracy": 0.6}, "token": {"f1": 0.0}}])
    monkeypatch.setattr(mtl.training.loop, "evaluate_table", lambda *args, **kwargs: next(scores))
    validation = {"example": by_role(example_sets, "validation")["example"]}
    cfg = _fast_cfg(epochs=2, task_weights=TaskWeights(1.0, 0.0))
    result = train(make_tiny_model(), by_role(example_sets, "train"), validation, cfg, log=lambda _: None)
    assert result.best_epoch == 2 and result.best_score == pytest.approx(0.6)


def test_bf16_training_learns_and_keeps_float32_weights(make_tiny_model, example_sets):
    """bf16 autocasts the forward pass only: the weights AdamW updates stay float32, and the loss still falls."""
    import torch

    model = make_tiny_model()
    result = train(model, by_role(example_sets, "train"), {}, _fast_cfg(epochs=3, precision="bf16"), log=lambda _: None)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    losses = [epoch.train_loss for epoch in result.history]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]


def test_the_epoch_is_chosen_on_the_dev_split_never_on_held_out_validation(make_tiny_model, example_sets, monkeypatch):
    """With a dev split (SST-2's case) the validation split is held out: its scores must not pick the epoch."""
    import mtl.training.loop
    from mtl.data.splits import selection_sets

    train_set = by_role(example_sets, "train")["example"]
    dev, held_out = by_role(example_sets, "validation")["example"], by_role(example_sets, "test")["example"]
    tables = {"example/train": train_set, "example/dev": dev, "example/validation": held_out}
    # dev prefers epoch 1, the held-out split epoch 2
    scores = {id(dev): iter([0.9, 0.1]), id(held_out): iter([0.1, 0.9])}
    monkeypatch.setattr(mtl.training.loop, "evaluate_table", lambda model, table, *args, **kwargs: {"sentence": {"accuracy": next(scores[id(table)])}})
    seen = []
    result = train(make_tiny_model(), by_role(tables, "train"), selection_sets(tables), _fast_cfg(epochs=2), seen.append, log=lambda _: None)
    assert result.best_epoch == 1 and result.best_score == pytest.approx(0.9)
    assert [set(epoch.validation) for epoch in seen] == [{"example_dev"}] * 2
