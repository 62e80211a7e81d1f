"""The multi-task loss: a weighted sum of the two tasks' losses, each masked where its labels are missing."""

from __future__ import annotations

from typing import Annotated

import torch
from pydantic import ConfigDict, Field, model_validator
from pydantic.dataclasses import dataclass
from torch.nn import functional as F

from mtl.alignment import IGNORE


@dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class TaskWeights:
    """How much each task's loss counts; 0 turns a task off (a single-task run through the same code)."""

    sentence: Annotated[float, Field(ge=0)] = 1.0
    token: Annotated[float, Field(ge=0)] = 1.0

    @model_validator(mode="after")
    def _one_task_on(self) -> TaskWeights:
        if self.sentence == 0 and self.token == 0:
            raise ValueError("at least one task weight must be > 0")
        return self

    def trained(self) -> tuple[str, ...]:
        """The tasks this run trains: those with a weight above 0."""
        return tuple(name for name in ("sentence", "token") if getattr(self, name) > 0)


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
