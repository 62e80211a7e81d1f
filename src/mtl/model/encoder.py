"""A sentence encoder: any Hugging Face encoder plus mask-aware pooling, with ``encode`` and ``similarity``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from mtl.config.options import check_pooling
from mtl.model.backbones import load_backbone
from mtl.model.pooling import pool
from mtl.runtime.batching import run_batches
from mtl.runtime.engines import batch_forward


class SentenceEncoder(nn.Module):
    """A transformer backbone with pooling: token states and one pooled vector per sentence."""

    OUTPUTS: tuple[str, ...] = ("token_states", "embeddings")  # what ``forward`` returns, by name

    def __init__(
        self,
        backbone: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        pooling: str = "mean",
        normalize: bool = False,
        max_length: int = 128,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.pooling = check_pooling(pooling)
        self.normalize = normalize
        self.max_length = max_length
        self.onnx_dir: Path | None = None  # where the exported graphs are (``mtl.runtime.engines``); set on load

    @classmethod
    def from_pretrained(cls, name: str, pooling: str = "mean", normalize: bool = False, max_length: int = 128) -> SentenceEncoder:
        """Load ``name`` (Hub id, known local model or directory) as a sentence encoder."""
        backbone, tokenizer = load_backbone(name)
        return cls(backbone, tokenizer, pooling=pooling, normalize=normalize, max_length=max_length)

    @property
    def dim(self) -> int:
        """Size of a token state and of a pooled embedding."""
        return int(self.backbone.config.hidden_size)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (token states, pooled sentence vectors); pooled vectors are L2-normalised if ``normalize``."""
        states = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        pooled = pool(states, attention_mask, self.pooling)
        if self.normalize:
            pooled = nn.functional.normalize(pooled, p=2, dim=-1)
        return states, pooled

    def encode(
        self,
        sentences: Sequence[str],
        batch_size: int = 32,
        show_progress: bool | None = None,
        precision: str = "fp32",
        runtime: str = "torch",
    ) -> np.ndarray:
        """Embed ``sentences`` into a (n, dim) float32 array, in input order.

        All sentences are tokenised once, then run in length-sorted batches (``mtl.runtime.batching``) and put
        back in the caller's order. ``runtime`` picks the engine (``torch``, ``onnx`` or ``onnx-int8``,
        see ``mtl.runtime.engines``); ``precision="bf16"`` opts into bfloat16 autocast under ``torch``
        (see ``mtl.runtime.precision``).
        """
        if isinstance(sentences, str):
            raise TypeError("encode expects a list of sentences, not one string")
        with batch_forward(self, ("embeddings",), runtime, precision) as forward:
            out = np.zeros((len(sentences), self.dim), dtype=np.float32)
            if not len(sentences):
                return out
            ids = self.tokenizer(list(sentences), truncation=True, max_length=self.max_length)["input_ids"]
            pad = self.tokenizer.pad_token_id or 0
            for idx, batch in run_batches(forward, ids, batch_size, pad, desc="encode", show_progress=show_progress):
                out[idx] = batch["embeddings"]
        if self.normalize:
            # forward normalises already; the multi-task graph's embeddings are raw, so normalise here for every runtime
            out /= np.clip(np.linalg.norm(out, axis=1, keepdims=True), 1e-12, None)
        return out

    def similarity(self, a: Sequence[str] | np.ndarray, b: Sequence[str] | np.ndarray | None = None) -> np.ndarray:
        """Cosine similarity matrix between ``a`` and ``b`` (sentences or embeddings); ``b`` defaults to ``a``."""
        ea = a if isinstance(a, np.ndarray) else self.encode(a)
        eb = ea if b is None else (b if isinstance(b, np.ndarray) else self.encode(b))
        return cosine_similarity(ea, eb)


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity matrix of two embedding arrays (rows are vectors)."""
    na = a / np.clip(np.linalg.norm(a, axis=1, keepdims=True), 1e-12, None)
    nb = b / np.clip(np.linalg.norm(b, axis=1, keepdims=True), 1e-12, None)
    return (na @ nb.T).astype(np.float32)
