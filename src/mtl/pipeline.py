"""The pipeline's steps as library functions: the DVC stages and the CLI are thin callers of these.

Tables are named ``<dataset>/<split>`` (``sst2/train``, ``conll2003/test``, ``example/validation``)
and stored as ``<root>/<dataset>/<split>.parquet``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
from transformers import PreTrainedTokenizerBase

from mtl.config import PrepareConfig, resolve_path
from mtl.data import COLUMNS, CONLL_TAGS, SST2_LABELS, load_split, sample_rows
from mtl.encoding import AlignReport, encode_table
from mtl.example_data import EXAMPLE_SENTENCE_LABELS, EXAMPLE_SPLITS, EXAMPLE_TOKEN_LABELS, generate_examples
from mtl.files import write_parquet

LABEL_SETS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "real": (SST2_LABELS, CONLL_TAGS),
    "example": (EXAMPLE_SENTENCE_LABELS, EXAMPLE_TOKEN_LABELS),
}
ROLES = ("train", "validation", "test")


def label_sets(source: str) -> tuple[list[str], list[str]]:
    """(sentence labels, token labels) of a data source: ``real`` or ``example``."""
    if source not in LABEL_SETS:
        raise ValueError(f"unknown data source {source!r}: choose one of {', '.join(LABEL_SETS)}")
    sentence, token = LABEL_SETS[source]
    return list(sentence), list(token)


def prepare_example(n: int, seed: int) -> dict[str, pd.DataFrame]:
    """The generated example data, split by template (held-out splits use unseen templates)."""
    table = generate_examples(n=n, seed=seed)
    return {
        f"example/{split}": table[table["split"] == split].drop(columns=["split"]).reset_index(drop=True)
        for split in EXAMPLE_SPLITS
    }


def prepare_real(cfg: PrepareConfig) -> dict[str, pd.DataFrame]:
    """SST-2 and CoNLL-2003 splits from ``cfg.raw_dir`` (else the Hub), each capped per ``cfg``."""
    caps = {
        "sst2/train": cfg.sst2_train,
        "sst2/validation": cfg.sst2_validation,
        "conll2003/train": cfg.conll_train,
        "conll2003/validation": cfg.conll_validation,
        "conll2003/test": cfg.conll_test,
    }
    # relative to the main repository, also when `dvc exp run --temp` runs this in a copy elsewhere
    raw_dir = resolve_path(cfg.raw_dir)
    tables = {}
    for name, cap in caps.items():
        dataset, split = name.split("/")
        tables[name] = sample_rows(load_split(dataset, split, raw_dir), cap, cfg.seed)
    return tables


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


def align_tables(
    tables: dict[str, pd.DataFrame],
    tokenizer: PreTrainedTokenizerBase,
    source: str,
    strategy: str,
    max_length: int,
) -> tuple[dict[str, pd.DataFrame], dict[str, AlignReport]]:
    """Tokenise and align every table with ``source``'s label sets."""
    sentence_labels, token_labels = label_sets(source)
    encoded, reports = {}, {}
    for name, table in tables.items():
        encoded[name], reports[name] = encode_table(table, tokenizer, sentence_labels, token_labels, strategy, max_length)
    return encoded, reports


def by_role(tables: dict[str, pd.DataFrame], role: str) -> dict[str, pd.DataFrame]:
    """The tables of one split (``train``, ``validation`` or ``test``), keyed by dataset name."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    return {name.split("/")[0]: t for name, t in tables.items() if name.split("/")[1] == role}


def table_fingerprint(table: pd.DataFrame) -> str:
    """md5 of a prepared table's content (sentences, words, tags, labels), independent of the parquet writer."""
    digest = hashlib.md5()
    for row in table[list(COLUMNS)].itertuples(index=False):
        values = [v if v is None or isinstance(v, str) else list(v) for v in row]
        digest.update(json.dumps(values, ensure_ascii=False).encode() + b"\n")
    return digest.hexdigest()
