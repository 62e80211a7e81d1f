"""A development split carved out of a training set, so that the data set's validation split can stay held out.

SST-2 has one labelled held-out set: GLUE's validation split (its test split has no labels). Choosing the
epoch and the champion on it would leave nothing held out, so they are chosen on ``dev`` sentences carved
out of SST-2 *train* instead (``mtl.data.splits``).

GLUE's SST-2 train holds every non-neutral phrase of each training sentence's parse tree as a row of its
own, so a random row is mostly a piece of a longer row (769 of 872 random rows were, seed 0), and that
row's label all but gives the piece's away. Hence the carving:

1. dev rows are drawn only among **whole** rows, which no other row contains as a word span (seed 0,
   872 of them: 19.7 words on average, like validation's 19.5; a random row has 9.4);
2. every row that is a word span of a dev sentence (its phrases, and copies of it) leaves the training
   pool (9,869 rows for the default 872 dev sentences, leaving 57,480 of 67,349);
3. the training sample is drawn from that pool only.

Dev rows then share no text with training rows. Other phrases of the same review (siblings that are not a
span of the dev row) can remain: the TSV does not say which rows came from one tree.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mtl.data.tables import sample_rows


class NotEnoughRows(ValueError):
    """The table cannot give the rows asked for; ``part`` is ``"dev"`` or ``"train"``, the one that ran short."""

    def __init__(self, part: str, message: str) -> None:
        self.part = part
        super().__init__(message)


@dataclass(frozen=True)
class Carved:
    """The two disjoint parts of a carved training table, and how many rows the training sample was drawn from."""

    dev: pd.DataFrame
    train: pd.DataFrame
    pool: int


def _key(words: list[str]) -> str:
    # rows are compared as word sequences, so "a  b" and "a b" are the same row and spans match at word boundaries
    return " ".join(words)


class _Containment:
    """Answers "is this text a word span of a longer row?" for one table's rows, without comparing every pair.

    The distinct rows are joined longest first, each padded with spaces, so a text of ``n`` characters is
    searched only among the rows longer than it (an equal-length row that contains it is the same text).
    """

    def __init__(self, keys: list[str]) -> None:
        rows = sorted(set(keys), key=len, reverse=True)
        self._joined = "\n".join(f" {row} " for row in rows)
        # _ends[i]: where the first i rows end in _joined; _lengths is ascending for bisect
        self._ends = np.cumsum([len(row) + 3 for row in rows]).tolist()
        self._lengths = [-len(row) for row in rows]

    def inside_another(self, key: str) -> bool:
        longer = bisect.bisect_left(self._lengths, -len(key))  # rows strictly longer than ``key``
        end = self._ends[longer - 1] if longer else 0
        return self._joined.find(f" {key} ", 0, end) >= 0


def word_spans(words: list[str]) -> set[str]:
    """Every contiguous word span of a sentence, itself included, each as its words joined by one space."""
    return {_key(words[a:b]) for a in range(len(words)) for b in range(a + 1, len(words) + 1)}


def whole_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``table`` (a prepared table with a ``words`` column) that no other row contains as a word span."""
    keys = [_key(list(words)) for words in table["words"]]
    containment = _Containment(keys)
    return table[[not containment.inside_another(key) for key in keys]]


def span_overlap(rows: pd.DataFrame, sentences: pd.DataFrame, longest: int = 6) -> dict[int, int]:
    """How many of ``rows`` are a word span of at least one of ``sentences``, by length in words.

    Both are prepared tables (a ``words`` column). Lengths of ``longest`` words or more share the last
    count. This is how far a training table "knows" a scored set's text: for SST-2, GLUE's validation
    sentences against its train rows, or the dev split against the rows it leaves for training.
    """
    spans: set[str] = set()
    for words in sentences["words"]:
        spans |= word_spans(list(words))
    counts = dict.fromkeys(range(1, longest + 1), 0)
    for words in rows["words"]:
        if _key(list(words)) in spans:
            counts[min(len(words), longest)] += 1
    return counts


def carve_dev(table: pd.DataFrame, dev_size: int, train_size: int | None, seed: int) -> Carved:
    """Split ``table`` (a prepared table with a ``words`` column) into ``dev_size`` dev rows and a training sample.

    The dev rows are distinct whole rows (see the module docstring), drawn in a seeded order; the training
    sample is ``train_size`` rows (None: all) drawn, seeded, from the rows that are not a word span of a dev
    row. Both keep the table's row order. The dev rows depend only on ``table``, ``dev_size`` and ``seed``,
    not on ``train_size``. Raises ``NotEnoughRows`` when the table has fewer whole rows than ``dev_size``,
    or fewer rows left than ``train_size``; ``ValueError`` for sizes below 1.
    """
    if dev_size < 1:
        raise ValueError(f"dev_size must be >= 1, got {dev_size}")
    if train_size is not None and train_size < 1:
        raise ValueError(f"train_size must be None or >= 1, got {train_size}")
    keys = [_key(list(words)) for words in table["words"]]
    first_row: dict[str, int] = {}
    for i, key in enumerate(keys):
        first_row.setdefault(key, i)  # a text listed twice is one candidate (its first row, with that row's label)
    distinct = list(first_row)
    containment = _Containment(keys)
    dev_rows: list[int] = []
    # Walk the distinct texts in a seeded order and keep the whole ones until there are enough: every whole
    # row is equally likely to be chosen, and only about dev_size / (share of whole rows) texts are searched.
    for index in np.random.default_rng(seed).permutation(len(distinct)):
        key = distinct[index]
        if not containment.inside_another(key):
            dev_rows.append(first_row[key])
            if len(dev_rows) == dev_size:
                break
    if len(dev_rows) < dev_size:
        raise NotEnoughRows(
            "dev", f"{dev_size} dev sentences asked, but only {len(dev_rows)} of the {len(table)} rows are whole sentences (rows no other row contains)"
        )
    taken: set[str] = set()
    for i in dev_rows:
        taken |= word_spans(list(table["words"].iloc[i]))
    pool = table[[key not in taken for key in keys]]
    if train_size is not None and train_size > len(pool):
        raise NotEnoughRows(
            "train",
            f"{train_size} training sentences asked, but {len(pool)} of the {len(table)} rows are left once the {dev_size} "
            f"dev sentences and the {len(table) - len(pool) - dev_size} rows that are their phrases or copies are out",
        )
    dev = table.iloc[sorted(dev_rows)].reset_index(drop=True)
    return Carved(dev=dev, train=sample_rows(pool, train_size, seed), pool=len(pool))
