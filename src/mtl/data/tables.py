"""Tables on disk and in memory: one parquet file per data set and split, the roles of splits, row samples.

Tables are named ``<dataset>/<split>`` (``sst2/train``, ``sst2/dev``, ``conll2003/test``, ``example/validation``)
and stored as ``<root>/<dataset>/<split>.parquet``; ``mtl.data.splits`` says which split of a data set chooses.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from mtl.config.options import check_option
from mtl.data.files import write_parquet
from mtl.data.splits import selection_split, splits_by_dataset
from mtl.data.readers import COLUMNS

ROLES = ("train", "validation", "test")


def write_tables(tables: dict[str, pd.DataFrame], root: str | Path) -> list[Path]:
    """Write each table to ``root/<dataset>/<split>.parquet``."""
    return [write_parquet(Path(root) / f"{name}.parquet", table) for name, table in tables.items()]


def read_tables(root: str | Path) -> dict[str, pd.DataFrame]:
    """Read every ``<dataset>/<split>.parquet`` under ``root``, with list columns as Python lists."""
    root = Path(root)
    tables = {}
    for path in sorted(root.glob("*/*.parquet")):
        table = pd.read_parquet(path)
        for column in ("words", "word_tags", "input_ids", "word_ids", "token_labels"):
            if column in table:
                table[column] = [None if v is None else list(v) for v in table[column]]
        tables[f"{path.parent.name}/{path.stem}"] = table
    if not tables:
        raise FileNotFoundError(f"{root}: no <dataset>/<split>.parquet tables found")
    return tables


def by_role(tables: dict[str, pd.DataFrame], role: str) -> dict[str, pd.DataFrame]:
    """The tables of one split (``train``, ``validation`` or ``test``), keyed by dataset name."""
    check_option("role", role, ROLES)
    return {name.split("/")[0]: t for name, t in tables.items() if name.split("/")[1] == role}


def table_fingerprint(table: pd.DataFrame) -> str:
    """md5 of a prepared table's content (sentences, words, tags, labels), independent of the parquet writer."""
    digest = hashlib.md5()
    for row in table[list(COLUMNS)].itertuples(index=False):
        values = [v if v is None or isinstance(v, str) else list(v) for v in row]
        digest.update(json.dumps(values, ensure_ascii=False).encode() + b"\n")
    return digest.hexdigest()


def selection_fingerprints(tables: dict[str, pd.DataFrame]) -> dict[str, str]:
    """A content fingerprint of each data set's selection split, keyed ``<dataset>.<split>`` (``mtl.data.splits``), so
    the gate compares only like with like; held-out splits are not the gate's business."""
    fingerprints = {}
    for dataset, splits in splits_by_dataset(tables).items():
        split = selection_split(splits)
        if split is not None:
            fingerprints[f"{dataset}.{split}"] = table_fingerprint(tables[f"{dataset}/{split}"])
    return fingerprints


def sample_rows(df: pd.DataFrame, n: int | None, seed: int) -> pd.DataFrame:
    """At most ``n`` rows of ``df``, chosen reproducibly from ``seed``, in their original order.

    ``n`` None or ``n >= len(df)`` keeps every row. The index is reset either way.
    Raises ValueError for a negative ``n``.
    """
    if n is not None and n < 0:
        raise ValueError(f"n must be None or >= 0, got {n}")
    if n is None or n >= len(df):
        return df.reset_index(drop=True)
    chosen = np.sort(np.random.default_rng(seed).choice(len(df), size=n, replace=False))
    return df.iloc[chosen].reset_index(drop=True)
