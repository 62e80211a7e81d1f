"""A training batch: rows of word pieces and labels, padded to the batch's own longest row, as tensors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from mtl.runtime.batching import pad_extra, pad_ids
from mtl.text.alignment import IGNORE


def collate(
    rows: Sequence[tuple[Sequence[int], Sequence[int], int]], pad_id: int, extra: Mapping[str, Sequence[Sequence[int]]] | None = None
) -> dict[str, torch.Tensor]:
    """Pad a training batch of (input_ids, token_labels, sentence_label_id) to its own longest row.

    ``extra``: the batch's extra per-piece inputs by name (such as ``case_ids``), padded alike.
    """
    input_ids, attention = pad_ids([ids for ids, _, _ in rows], pad_id)
    token_labels = torch.full(input_ids.shape, IGNORE, dtype=torch.long)
    for i, (_, labels, _) in enumerate(rows):
        token_labels[i, : len(labels)] = torch.as_tensor(labels)
    sentence = torch.tensor([label for _, _, label in rows], dtype=torch.long)
    batch = {
        "input_ids": torch.from_numpy(input_ids),
        "attention_mask": torch.from_numpy(attention),
        "token_labels": token_labels,
        "sentence_labels": sentence,
    }
    batch.update({name: torch.from_numpy(values) for name, values in pad_extra(extra or {}, input_ids.shape[1]).items()})
    return batch
