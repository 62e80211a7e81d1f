"""Prepared tables into aligned tables, the model's inputs: word pieces, and word tags aligned to them.

One row per sentence, as in the prepared table, with the pieces beside the words and tags, so evaluation
scores words, never pieces, from the same file. The tokenizer is passed in (any Hugging Face fast
tokenizer), so this layer never loads a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mtl.config.options import check_alignment
from mtl.text.alignment import IGNORE, align_labels, b_to_i_map, truncated_words

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

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


def align_table(
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


def align_tables(
    tables: dict[str, pd.DataFrame],
    tokenizer: PreTrainedTokenizerBase,
    labels: tuple[Sequence[str], Sequence[str]],
    strategy: str,
    max_length: int,
) -> tuple[dict[str, pd.DataFrame], dict[str, AlignReport]]:
    """Tokenise and align every table with the source's label sets, ``(sentence labels, token labels)``."""
    sentence_labels, token_labels = labels
    encoded, reports = {}, {}
    for name, table in tables.items():
        encoded[name], reports[name] = align_table(table, tokenizer, sentence_labels, token_labels, strategy, max_length)
    return encoded, reports


def word_ids_of(row_word_ids: Sequence[int]) -> list[int | None]:
    """Stored word ids back to the tokenizer's form (None for special tokens)."""
    return [None if w == NO_WORD else int(w) for w in row_word_ids]


def has_sentence_labels(table: pd.DataFrame) -> bool:
    """Whether any row of an encoded table carries a sentence label."""
    return bool((np.asarray(table["sentence_label_id"]) != IGNORE).any())


def has_token_labels(table: pd.DataFrame) -> bool:
    """Whether any row of a table carries word tags."""
    return any(tags is not None for tags in table["word_tags"])
