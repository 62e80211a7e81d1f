"""Precision: float32 (the default) or bfloat16 autocast, an opt-in speed-up for inference and training.

Under ``bf16`` the matmuls run in bfloat16 while autocast keeps softmax, LayerNorm and the outputs we
read in float32. On CPUs with native bf16 (AVX512-BF16 or AMX) that is about twice as fast with
embeddings at cosine >= 0.9999; on CPUs without it, it can be slower. So it is never the default, and
its effect on both tasks is measured, not assumed (``experiments/precision.py``, README).
Training may use the same autocast (``train.precision``): weights, gradients and AdamW's state stay
float32, only the forward pass and its matmuls run in bfloat16.
"""

from __future__ import annotations

import contextlib

import torch

from mtl.config.options import check_precision


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """The context that runs a forward pass at ``precision`` on ``device``."""
    if check_precision(precision) == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
