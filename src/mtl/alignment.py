"""Word tags ⇄ word-piece labels, and word-piece predictions back to words, offsets and entities.

Everything here is a pure function of plain lists, so it is tested without a model. The tokenizer's
``word_ids`` (one entry per piece: the word's index, or None for special tokens) is the only link
between the two levels.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

IGNORE = -100  # the label PyTorch's cross-entropy skips
ALIGNMENT_STRATEGIES: tuple[str, ...] = ("first", "all")
# Words for free text: runs of word characters (keeping inner hyphens, apostrophes and dots, as in
# "e-mail", "don't", "U.S.") or single punctuation marks, close to CoNLL's tokenisation. The example
# data is split with the same pattern, so a model sees the same words in training and in predict.
WORD_PATTERN = re.compile(r"\w+(?:[-'.]\w+)*|[^\w\s]")


def check_alignment(strategy: str) -> str:
    """Return ``strategy`` if known, else raise ``ValueError`` listing the valid ones."""
    if strategy not in ALIGNMENT_STRATEGIES:
        raise ValueError(f"unknown alignment {strategy!r}: choose one of {', '.join(ALIGNMENT_STRATEGIES)}")
    return strategy


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


def split_words(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """Split free text into words and punctuation, with each word's (start, end) character offsets."""
    matches = list(WORD_PATTERN.finditer(text))
    return [m.group() for m in matches], [m.span() for m in matches]


def word_offsets(text: str, words: Sequence[str]) -> list[tuple[int, int]]:
    """Character offsets of ``words`` found in order in ``text``; raises ``ValueError`` if one is missing."""
    offsets = []
    cursor = 0
    for index, word in enumerate(words):
        start = text.find(word, cursor)
        if start < 0:
            raise ValueError(f"word {index} {word!r} not found in 'text' after character {cursor}")
        cursor = start + len(word)
        offsets.append((start, cursor))
    return offsets


def words_from_pieces(
    word_ids: Sequence[int | None], piece_values: Sequence, n_words: int, fill=None
) -> list:
    """One value per word taken from its first piece (``fill`` for truncated words)."""
    return [fill if p is None else piece_values[p] for p in first_piece_index(word_ids, n_words)]


@dataclass(frozen=True)
class Entity:
    """A span of words tagged with one entity type."""

    type: str
    text: str
    start: int  # character offset in the sentence
    end: int
    score: float  # mean of the words' tag probabilities
    first_word: int
    last_word: int

    def as_dict(self) -> dict:
        """Plain dict for JSON."""
        return {"type": self.type, "text": self.text, "start": self.start, "end": self.end, "score": round(self.score, 6)}


def group_entities(
    text: str, tags: Sequence[str], offsets: Sequence[tuple[int, int]], scores: Sequence[float] | None = None
) -> list[Entity]:
    """Group IOB2 word tags into entities.

    An ``I-X`` that does not continue an ``X`` entity starts a new one, as conlleval and seqeval read it,
    so a model's stray ``I-`` still shows up as an entity instead of vanishing.
    """
    scores = scores if scores is not None else [1.0] * len(tags)
    entities: list[Entity] = []
    current: tuple[str, int] | None = None  # (type, first word)

    def close(last: int) -> None:
        kind, first = current  # type: ignore[misc]
        start, end = offsets[first][0], offsets[last][1]
        span = scores[first : last + 1]
        entities.append(Entity(kind, text[start:end], start, end, float(sum(span) / len(span)), first, last))

    for i, tag in enumerate(tags):
        prefix, _, kind = tag.partition("-")
        continues = current is not None and prefix == "I" and kind == current[0]
        if current is not None and not continues:
            close(i - 1)
            current = None
        if prefix in ("B", "I") and not continues:
            current = (kind, i)
    if current is not None:
        close(len(tags) - 1)
    return entities
