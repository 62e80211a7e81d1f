"""Mask-aware pooling of token states into one sentence vector."""

from __future__ import annotations

import torch

from mtl.config.options import check_pooling


def pool(token_states: torch.Tensor, attention_mask: torch.Tensor, mode: str) -> torch.Tensor:
    """Pool ``token_states`` (batch, seq, dim) into (batch, dim), ignoring padded positions.

    Padding must never change a sentence's embedding, so every mode looks only at positions where
    ``attention_mask`` is 1.
    """
    check_pooling(mode)
    if mode == "cls":
        return token_states[:, 0]
    mask = attention_mask.unsqueeze(-1).to(token_states.dtype)
    if mode == "mean":
        summed = (token_states * mask).sum(dim=1)
        # clamp: an all-padding row would otherwise divide by zero
        return summed / mask.sum(dim=1).clamp(min=1e-9)
    # max: padded positions get the lowest value so they can never win
    masked = token_states.masked_fill(mask == 0, torch.finfo(token_states.dtype).min)
    return masked.max(dim=1).values
