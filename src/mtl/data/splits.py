"""Which split of a data set does what: ``train`` teaches, the selection split chooses, the others only report.

One rule, read by everything that chooses: the training loop (which epoch to keep), the gate (which scores
promote a model), export (which sets it fingerprints) and evaluate's summary (which figures are held out).
A data set's **selection split** is its ``dev`` split when it has one, else its ``validation`` split. Every
other split but ``train`` is **held out**: scored and reported, never chosen by.

=============  ===================================  =====================================
data set       selection split (epoch and gate)     held out (reported only)
=============  ===================================  =====================================
SST-2          ``dev``, carved out of train          ``validation`` (GLUE's test split has
               (``mtl.data.dev_split``)                   no labels, so it is the only one)
CoNLL-2003     ``validation``                        ``test``
example data   ``validation``                        ``test``
=============  ===================================  =====================================

Tables are named ``<dataset>/<split>`` (``mtl.data.tables``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

T = TypeVar("T")

SPLITS: tuple[str, ...] = ("train", "dev", "validation", "test")
# The selection split is the first of these a data set has: a dev split exists only where the
# validation split must stay held out (SST-2).
SELECTION_ORDER: tuple[str, ...] = ("dev", "validation")
# Short split names for metric keys (``dvc exp show`` columns, MLflow headline metrics).
SHORT: dict[str, str] = {"train": "train", "dev": "dev", "validation": "val", "test": "test"}


def check_split(split: str) -> str:
    """Return ``split`` if it is a known split name, else raise ``ValueError`` listing them."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: choose one of {', '.join(SPLITS)}")
    return split


def selection_split(splits: Iterable[str]) -> str | None:
    """The split that chooses among a data set's ``splits``: ``dev`` if present, else ``validation``, else None."""
    present = {check_split(s) for s in splits}
    return next((s for s in SELECTION_ORDER if s in present), None)


def held_out_splits(splits: Iterable[str]) -> list[str]:
    """The splits of a data set that only report: all but ``train`` and the selection split, in ``SPLITS`` order."""
    present = {check_split(s) for s in splits}
    chosen_by = selection_split(present)
    return [s for s in SPLITS if s in present and s not in ("train", chosen_by)]


def splits_by_dataset(names: Iterable[str]) -> dict[str, list[str]]:
    """``["sst2/train", "sst2/dev"]`` → ``{"sst2": ["train", "dev"]}``; a name without one ``/`` is an error."""
    out: dict[str, list[str]] = {}
    for name in names:
        dataset, sep, split = name.partition("/")
        if not sep or "/" in split:
            raise ValueError(f"table name {name!r} is not <dataset>/<split>")
        out.setdefault(dataset, []).append(check_split(split))
    return out


def selection_sets(tables: Mapping[str, T]) -> dict[str, T]:
    """The tables that choose, one per data set that has a selection split, keyed ``<dataset>_<split>``.

    ``tables`` are keyed ``<dataset>/<split>``; e.g. ``{"sst2_dev": ..., "conll2003_validation": ...}``.
    The key names the split, so per-epoch metrics say which data chose the epoch.
    """
    chosen = {}
    for dataset, splits in splits_by_dataset(tables).items():
        split = selection_split(splits)
        if split is not None:
            chosen[f"{dataset}_{split}"] = tables[f"{dataset}/{split}"]
    return chosen
