"""The multi-task loss: a weighted sum of the two tasks' losses, each masked where its labels are missing."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from mtl.config.params import TaskWeights
from mtl.text.alignment import IGNORE


def masked_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor | None:
    """Mean cross-entropy over labelled positions, or None when the batch has none.

    Returning None (not 0 and not NaN) lets the caller skip a task a batch does not label: PyTorch's mean
    over zero labelled positions would be NaN and poison the sum.
    """
    flat_labels = labels.reshape(-1)
    if not bool((flat_labels != IGNORE).any()):
        return None
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), flat_labels, ignore_index=IGNORE)


def multitask_loss(
    sentence_logits: torch.Tensor,
    sentence_labels: torch.Tensor,
    token_logits: torch.Tensor,
    token_labels: torch.Tensor,
    weights: TaskWeights,
) -> tuple[torch.Tensor | None, dict[str, float]]:
    """Weighted sum of the tasks' masked losses, and each task's unweighted loss for logging.

    The total is None when nothing in the batch is labelled for a task with weight > 0.
    """
    parts: dict[str, float] = {}
    total = None
    for name, weight, logits, labels in (
        ("sentence", weights.sentence, sentence_logits, sentence_labels),
        ("token", weights.token, token_logits, token_labels),
    ):
        if weight == 0:
            continue
        loss = masked_cross_entropy(logits, labels)
        if loss is None:
            continue
        parts[name] = float(loss.detach())
        total = weight * loss if total is None else total + weight * loss
    return total, parts
