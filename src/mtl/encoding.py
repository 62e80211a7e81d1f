"""Turn a prepared table (one row per sentence) into model inputs, and batch them with dynamic padding.

The aligned table keeps the words and tags next to the pieces, so evaluation can score words, never
pieces, from the same file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from transformers import PreTrainedTokenizerBase

from mtl.alignment import IGNORE, align_labels, b_to_i_map, check_alignment, truncated_words

NO_WORD = -1  # how a special token's word id (None) is stored in parquet


@dataclass(frozen=True)
class AlignReport:
    """What alignment did to one table: sizes and the words lost to ``max_length``."""

    sentences: int
    pieces: int
    truncated_sentences: int
    truncated_words: int
    max_length: int

    def as_dict(self) -> dict[str, int]:
        """Plain dict for JSON."""
        return dict(self.__dict__)


def encode_table(
    table: pd.DataFrame,
    tokenizer: PreTrainedTokenizerBase,
    sentence_labels: Sequence[str],
    token_labels: Sequence[str],
    strategy: str = "first",
    max_length: int = 128,
) -> tuple[pd.DataFrame, AlignReport]:
    """Tokenise ``table``'s words and align its tags; returns the table with model columns added.

    Added columns: ``input_ids``, ``word_ids`` (-1 for special tokens), ``token_labels`` (all ``IGNORE``
    where the row has no tags) and ``sentence_label_id`` (``IGNORE`` where the row has no label).
    """
    check_alignment(strategy)
    sentence_index = {label: i for i, label in enumerate(sentence_labels)}
    tag_index = {tag: i for i, tag in enumerate(token_labels)}
    b_to_i = b_to_i_map(token_labels)
    words = [list(w) for w in table["words"]]
    encoded = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_length) if words else None
    input_ids, word_id_rows, token_rows, sentence_ids = [], [], [], []
    lost_words = lost_sentences = pieces = 0
    for row, (row_words, tags, label) in enumerate(zip(words, table["word_tags"], table["sentence_label"])):
        word_ids = encoded.word_ids(row)
        lost = truncated_words(word_ids, len(row_words))
        lost_words += lost
        lost_sentences += lost > 0
        pieces += len(word_ids)
        if tags is None:
            token_rows.append([IGNORE] * len(word_ids))
        else:
            try:
                tag_ids = [tag_index[t] for t in tags]
            except KeyError as err:
                raise ValueError(f"row {row}: tag {err.args[0]!r} is not one of {list(token_labels)}") from None
            token_rows.append(align_labels(word_ids, tag_ids, strategy, b_to_i))
        if label is None or (isinstance(label, float) and np.isnan(label)):
            sentence_ids.append(IGNORE)
        elif label in sentence_index:
            sentence_ids.append(sentence_index[label])
        else:
            raise ValueError(f"row {row}: sentence label {label!r} is not one of {list(sentence_labels)}")
        input_ids.append(list(encoded["input_ids"][row]))
        word_id_rows.append([NO_WORD if w is None else w for w in word_ids])
    out = table.reset_index(drop=True).copy()
    out["input_ids"] = input_ids
    out["word_ids"] = word_id_rows
    out["token_labels"] = token_rows
    out["sentence_label_id"] = sentence_ids
    report = AlignReport(len(out), pieces, lost_sentences, lost_words, max_length)
    return out, report


def word_ids_of(row_word_ids: Sequence[int]) -> list[int | None]:
    """Stored word ids back to the tokenizer's form (None for special tokens)."""
    return [None if w == NO_WORD else int(w) for w in row_word_ids]


def pad_ids(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Pad word-piece rows to the batch's own longest row: (input_ids, attention_mask), both int64 arrays."""
    width = max(len(ids) for ids in rows)
    input_ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    attention = np.zeros((len(rows), width), dtype=np.int64)
    for i, ids in enumerate(rows):
        input_ids[i, : len(ids)] = ids
        attention[i, : len(ids)] = 1
    return input_ids, attention


def pad_rows(rows: Sequence[Sequence[int]], width: int, fill: int = 0) -> np.ndarray:
    """Per-piece int rows (such as word-shape ids) padded with ``fill`` to ``width``, as an int64 array."""
    out = np.full((len(rows), width), fill, dtype=np.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


def pad_extra(extra: Mapping[str, Sequence[Sequence[int]]], width: int) -> dict[str, np.ndarray]:
    """A batch's extra per-piece inputs (``MultiTaskModel.extra_inputs``), each padded with 0 to ``width``.

    0 is "nothing here" for every such input (``mtl.word_shape.NONE`` for case ids), and padded positions
    are masked anyway.
    """
    return {name: pad_rows(rows, width) for name, rows in extra.items()}


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


def has_sentence_labels(table: pd.DataFrame) -> bool:
    """Whether any row of an encoded table carries a sentence label."""
    return bool((np.asarray(table["sentence_label_id"]) != IGNORE).any())


def has_token_labels(table: pd.DataFrame) -> bool:
    """Whether any row of a table carries word tags."""
    return any(tags is not None for tags in table["word_tags"])
