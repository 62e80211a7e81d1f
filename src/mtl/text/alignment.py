"""Word tags ⇄ word-piece labels: which pieces carry a word's tag, and which words truncation cut off.

Everything here is a pure function of plain lists, so it is tested without a model. The tokenizer's
``word_ids`` (one entry per piece: the word's index, or None for special tokens) is the only link
between the two levels.
"""

from __future__ import annotations

from collections.abc import Sequence

from mtl.config.options import check_alignment

IGNORE = -100  # the label PyTorch's cross-entropy skips


def b_to_i_map(tags: Sequence[str]) -> dict[int, int]:
    """For each ``B-X`` tag id, the id of ``I-X``: continuation pieces of a word never start an entity."""
    index = {t: i for i, t in enumerate(tags)}
    return {i: index.get("I-" + t[2:], i) for i, t in enumerate(tags) if t.startswith("B-")}


def align_labels(
    word_ids: Sequence[int | None], word_labels: Sequence[int], strategy: str = "first", b_to_i: dict[int, int] | None = None
) -> list[int]:
    """Word-piece labels from word labels.

    ``first`` labels the first piece of each word and puts ``IGNORE`` on the rest; ``all`` labels every
    piece, with ``B-X`` on continuation pieces turned into ``I-X`` (``b_to_i``). Special tokens and
    padding (word id None) always get ``IGNORE``.
    """
    check_alignment(strategy)
    b_to_i = b_to_i or {}
    labels = []
    previous = None
    for wid in word_ids:
        if wid is None:
            labels.append(IGNORE)
        elif wid != previous:
            labels.append(word_labels[wid])
        elif strategy == "all":
            labels.append(b_to_i.get(word_labels[wid], word_labels[wid]))
        else:
            labels.append(IGNORE)
        previous = wid
    return labels


def first_piece_index(word_ids: Sequence[int | None], n_words: int) -> list[int | None]:
    """Index of each word's first piece, or None for words cut off by truncation."""
    first: list[int | None] = [None] * n_words
    for position, wid in enumerate(word_ids):
        if wid is not None and first[wid] is None:
            first[wid] = position
    return first


def truncated_words(word_ids: Sequence[int | None], n_words: int) -> int:
    """How many of the sentence's ``n_words`` words have no piece left after truncation."""
    return sum(1 for p in first_piece_index(word_ids, n_words) if p is None)


def words_from_pieces(
    word_ids: Sequence[int | None], piece_values: Sequence, n_words: int, fill=None
) -> list:
    """One value per word taken from its first piece (``fill`` for truncated words)."""
    return [fill if p is None else piece_values[p] for p in first_piece_index(word_ids, n_words)]
