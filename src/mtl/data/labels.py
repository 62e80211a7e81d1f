"""Label sets from the data: IOB2 checks, the sentence classes and entity types a training split has, and
the rule that a held-out split may not hold a label training never saw.

Pure functions over lists and tables, so a user's labels need no code: ``refund / bug / feature`` and
``APP`` / ``VERSION`` work as SST-2's and CoNLL-2003's do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

OUTSIDE = "O"


def iob2_problem(tags: Sequence[str]) -> tuple[int, str] | None:
    """The first problem of a sentence's tags as IOB2, ``(index, message)``, or None when they are valid.

    Valid: ``O``, ``B-TYPE``, and ``I-TYPE`` right after ``B-TYPE`` or ``I-TYPE`` of the same type.
    """
    previous = OUTSIDE
    for i, tag in enumerate(tags):
        if tag != OUTSIDE:
            prefix, dash, kind = tag.partition("-")
            if prefix not in ("B", "I") or not dash or not kind:
                return i, f"tag {tag!r} is not IOB2: expected O, B-TYPE or I-TYPE"
            if prefix == "I" and previous not in (f"B-{kind}", f"I-{kind}"):
                return i, f"tag {tag!r} after {previous!r}: an I-{kind} must follow B-{kind} or I-{kind} (IOB2)"
        previous = tag
    return None


def entity_type(tag: str) -> str | None:
    """``"B-CITY"`` → ``"CITY"``; ``"O"`` → None."""
    return None if tag == OUTSIDE else tag.partition("-")[2]


def tags_for(types: Iterable[str]) -> list[str]:
    """The token head's labels for entity ``types``: ``O``, then ``B-`` and ``I-`` of each type in the order given."""
    return [OUTSIDE, *(f"{prefix}-{kind}" for kind in types for prefix in ("B", "I"))]


@dataclass(frozen=True)
class LabelSets:
    """A source's labels, in the order of its heads' outputs. An empty list: the source does not have that task."""

    sentence: list[str]
    token: list[str]

    def as_dict(self) -> dict[str, list[str]]:
        """``{"sentence": [...], "token": [...]}``, as ``labels.json`` stores them."""
        return {"sentence": self.sentence, "token": self.token}


def collect_labels(train: Mapping[str, pd.DataFrame]) -> LabelSets:
    """The sentence classes and entity types the training tables hold, each sorted (so re-ordering the rows of a
    file changes nothing), as the heads' label lists. A task no training row labels gets an empty list."""
    classes: set[str] = set()
    types: set[str] = set()
    for table in train.values():
        classes.update(label for label in table["sentence_label"] if isinstance(label, str))
        for tags in table["word_tags"]:
            if tags is not None:
                types.update(t for t in (entity_type(tag) for tag in tags) if t is not None)
    has_tags = any(tags is not None for table in train.values() for tags in table["word_tags"])
    return LabelSets(sorted(classes), tags_for(sorted(types)) if has_tags else [])


def unseen_label(table: pd.DataFrame, labels: LabelSets) -> tuple[int, str] | None:
    """The first row of ``table`` with a sentence label or entity type that ``labels`` lack, as ``(row, message)``."""
    known_classes, known_tags = set(labels.sentence), set(labels.token)
    for row, (label, tags) in enumerate(zip(table["sentence_label"], table["word_tags"])):
        if isinstance(label, str) and label not in known_classes:
            known = ", ".join(labels.sentence) or "none: training has no sentence labels"
            return row, f"sentence label {label!r} never appears in training (training has: {known})"
        for tag in tags or ():
            if tag not in known_tags:
                kinds = ", ".join(sorted({t for t in map(entity_type, labels.token) if t})) or "none: training has no word tags"
                return row, f"entity type {entity_type(tag)!r} ({tag}) never appears in training (training has: {kinds})"
    return None
