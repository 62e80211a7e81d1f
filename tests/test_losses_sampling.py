import random

import pytest
import torch

from mtl.config.options import check_sampling
from mtl.config.params import TaskWeights
from mtl.text.alignment import IGNORE
from mtl.training.losses import masked_cross_entropy, multitask_loss
from mtl.training.sampling import make_batches, task_schedule


def test_unlabelled_task_adds_no_loss_and_no_nan():
    sent_logits = torch.randn(2, 3, requires_grad=True)
    tok_logits = torch.randn(2, 4, 5, requires_grad=True)
    no_sentence = torch.tensor([IGNORE, IGNORE])
    tokens = torch.tensor([[IGNORE, 1, 0, IGNORE], [IGNORE, 3, IGNORE, IGNORE]])
    total, parts = multitask_loss(sent_logits, no_sentence, tok_logits, tokens, TaskWeights(1.0, 1.0))
    assert set(parts) == {"token"}
    assert torch.isfinite(total)
    total.backward()
    assert sent_logits.grad is None or not sent_logits.grad.abs().sum()


def test_weights_scale_each_task():
    torch.manual_seed(0)
    s, sl = torch.randn(4, 3), torch.tensor([0, 1, 2, IGNORE])
    t, tl = torch.randn(4, 6, 5), torch.randint(0, 5, (4, 6))
    only_s = masked_cross_entropy(s, sl)
    only_t = masked_cross_entropy(t, tl)
    total, _ = multitask_loss(s, sl, t, tl, TaskWeights(0.5, 2.0))
    assert total == pytest.approx(float(0.5 * only_s + 2.0 * only_t), rel=1e-6)
    total0, parts0 = multitask_loss(s, sl, t, tl, TaskWeights(0.0, 1.0))
    assert set(parts0) == {"token"} and total0 == pytest.approx(float(only_t))


def test_nothing_labelled_gives_none():
    total, parts = multitask_loss(torch.randn(1, 2), torch.tensor([IGNORE]), torch.randn(1, 2, 3), torch.full((1, 2), IGNORE), TaskWeights())
    assert total is None and parts == {}


def test_bad_weights():
    with pytest.raises(ValueError):
        TaskWeights(-1, 1)
    with pytest.raises(ValueError):
        TaskWeights(0, 0)


def test_proportional_visits_every_batch_once():
    schedule = task_schedule([10, 3], "proportional", random.Random(0))
    assert sorted(schedule) == [0] * 10 + [1] * 3
    assert schedule != sorted(schedule)


def test_round_robin_alternates():
    assert task_schedule([4, 2], "round_robin", random.Random(0)) == [0, 1, 0, 1, 0, 1]


def test_temperature_favours_the_small_set_more_than_proportional():
    rng = random.Random(0)
    hot = task_schedule([900, 100], "temperature", rng, temperature=5.0)
    share = hot.count(1) / len(hot)
    assert len(hot) == 1000 and 0.3 < share < 0.5  # proportional would be 0.1
    assert task_schedule([900, 100], "temperature", random.Random(1), temperature=1.0).count(1) < 150


def test_schedules_are_seeded():
    assert task_schedule([5, 5], "proportional", random.Random(3)) == task_schedule([5, 5], "proportional", random.Random(3))


def test_make_batches_covers_all_rows_and_groups_by_length():
    lengths = [random.Random(i).randint(1, 100) for i in range(1000)]
    batches = make_batches(lengths, 16, random.Random(0), group_by_length=True)
    assert sorted(i for b in batches for i in b) == list(range(1000))
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) / len(batches)
    assert spread < 10  # random batches would spread ~90


def test_unknown_sampling():
    with pytest.raises(ValueError, match="proportional, round_robin, temperature"):
        check_sampling("random")
