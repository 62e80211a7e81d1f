"""Task heads that sit on top of the shared encoder."""

from __future__ import annotations

import warnings

import torch
from torch import nn


class ClassificationHead(nn.Module):
    """Dropout then a linear layer; used on pooled vectors (sentence task) and on token states (token task)."""

    def __init__(self, dim: int, num_labels: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        with warnings.catch_warnings():
            # num_labels 0: the head of a task the model does not have (a one-task model); nothing to initialise
            warnings.filterwarnings("ignore", "Initializing zero-element tensors")
            self.classifier = nn.Linear(dim, num_labels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits over the labels, for (..., dim) input."""
        return self.classifier(self.dropout(x))


class SentenceHead(ClassificationHead):
    """Task A: classify the pooled sentence embedding."""


class TokenHead(ClassificationHead):
    """Task B: classify every token state."""
