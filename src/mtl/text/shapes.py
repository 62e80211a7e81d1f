"""Word shapes: the capitalisation an uncased backbone never sees, as one small id per word piece.

all-MiniLM-L6-v2 lowercases its input, so "Apple" and "apple" reach the encoder as the same pieces,
and capitalisation, the strongest cue for names, is lost. The model's case feature
(``model.case_feature``) adds a learned vector per shape to the token vectors before the token
head; the shape of every piece is the shape of the original-cased word it belongs to.

Shapes (by the word's cased letters, i.e. letters that have an upper and a lower form):

- ``none``: no word (special tokens, padding); id 0, which adds nothing;
- ``lower`` (``apple``, ``3rd``), ``title`` (``Apple``, ``J.``, ``A``: one capital, the rest lower),
  ``upper`` (``NATO``, ``U.S.``: two or more letters, all capitals), ``mixed`` (``iPhone``, ``McDonald``);
- ``digit``: digits and no letters (``1996``, ``3,000``, ``2-1``);
- ``other``: punctuation, symbols, and letters without case (``--``, ``$``, ``東京``).

Pure functions; ``tests/test_word_shape.py`` lists a table of words and their shapes.
"""

from __future__ import annotations

from collections.abc import Sequence

SHAPES: tuple[str, ...] = ("none", "lower", "title", "upper", "mixed", "digit", "other")
NONE = 0  # the id of "none": padding and special tokens; its embedding is fixed at zero


def word_shape(word: str) -> str:
    """The shape of one original-cased word (one of ``SHAPES`` except ``none``)."""
    cased = [c for c in word if c.isupper() or c.islower()]
    if not cased:
        return "digit" if any(c.isdigit() for c in word) else "other"
    upper = [c.isupper() for c in cased]
    if not any(upper):
        return "lower"
    if all(upper):
        return "upper" if len(cased) > 1 else "title"
    return "title" if upper[0] and not any(upper[1:]) else "mixed"


def shape_id(word: str) -> int:
    """The id of ``word_shape(word)`` in ``SHAPES``."""
    return SHAPES.index(word_shape(word))


def piece_shapes(words: Sequence[str], word_ids: Sequence[int | None]) -> list[int]:
    """One shape id per word piece: its word's shape, ``NONE`` where the word id is None or negative.

    ``word_ids`` is the tokenizer's (None for special tokens) or as stored in the aligned tables (-1).
    """
    shapes = [shape_id(w) for w in words]
    return [NONE if w is None or w < 0 else shapes[w] for w in word_ids]
