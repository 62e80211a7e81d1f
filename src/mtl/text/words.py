"""Free text into words, split the way CoNLL-2003 is tokenised, with each word's character offsets.

The example data is split with the same pattern, so a sentence written in the data and the same sentence
typed by a user become the same words (``tests/test_alignment.py`` lists every case).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

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
