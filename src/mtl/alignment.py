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
# Abbreviations that keep their dot (from CoNLL-2003's tokens). Single capitals ("J.") and dotted
# acronyms ("U.S.", "a.m.") keep theirs by rule; any other word's final dot is a word of its own.
ABBREVIATIONS: tuple[str, ...] = (
    "Apr", "Aug", "Ave", "Bros", "Calif", "Capt", "Co", "Col", "Corp", "Dec", "Dr", "Feb", "Fla", "Ft", "Gen", "Gov",
    "Inc", "Jan", "Jr", "Jul", "Jun", "Lt", "Ltd", "Mr", "Mrs", "Ms", "Mt", "Nov", "Oct", "Prof", "Rep", "Rev", "Sen",
    "Sep", "Sept", "Sgt", "Sr", "St", "vol", "vs",
)
_CLITIC = r"n't|'(?:s|S|re|RE|m|M|ve|VE|ll|LL|d|D)"
# Words for free text, split the way CoNLL-2003 is tokenised: one alternative per rule, tried in order
# at each position. The example data is split with the same pattern, so a model sees the same words in
# training and in predict (``split_words``; tests/test_alignment.py lists every case).
WORD_PATTERN = re.compile(
    rf"""
    \A\d+\.(?=\s)                           # a numbered item at the start: "1. Jan Ullrich"
    | (?:[A-Za-z]\.){{2,}}(?:-\w+)*            # dotted acronyms: U.S., F.A., a.m., U.S.-led
    | (?<!\w)(?:{"|".join(ABBREVIATIONS + tuple(a.upper() for a in ABBREVIATIONS))})\.   # St., Corp., ST.
    | (?<!\w)[A-Z]\.(?!\w)                     # initials: J.
    | (?<!\w)[A-Z]{{1,3}}\$                     # currencies: C$, US$, HK$
    | (?<!\w)[+-]?\.?\d(?:\w|-(?=\w)|[,./:](?=\d))*(?:=|-(?=\s|\Z))?   # numbers: 3,000 1/2 1.5 -3 +2.5 .496 2-1 10=
    | (?:{_CLITIC})\b                          # clitics: 's 'S n't 're 'm 've 'll 'd
    | \w+(?=n't\b)                             # the word before n't: do|n't
    | \w+(?:(?:[-&/@]|\.(?=\w)|(?!(?:{_CLITIC})\b)')\w+)*(?:-(?=\s|\Z))?   # words: e-mail, S&P, O'Neill, pre-
    | -{{2,}}|\.{{2,}}|\*{{2,}}|={{2,}}|_{{2,}}|!{{2,}}|\?{{2,}}   # runs of one mark: -- ... ** (no group: findall stays plain)
    | [^\w\s]                                 # any other single mark
    """,
    re.VERBOSE,
)


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
