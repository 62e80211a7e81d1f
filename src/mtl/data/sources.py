"""The data sources the pipeline and the CLI train on, as tables, with each source's label sets.

A source is ``params.yaml``'s ``sources.<name>`` (``mtl.config.sources``): a user's files in any of the formats
(``prepare_files``), or built-in data (``real``: SST-2 + CoNLL-2003, ``example``: the generated data). The CLI
adds ``custom``, one JSON Lines file (``mtl fine-tune --data PATH``). Labels come from the training split
(``mtl.data.labels``), except for the built-in data, whose label order the published data sets fix.

Tables are named ``<dataset>/<split>`` (``mtl.data.tables``); the DVC prepare stage and ``mtl fine-tune``
both build theirs here. Every check that can name a file and line runs here, before any output is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from mtl.config.params import ParamsError, PrepareConfig
from mtl.config.paths import resolve_path
from mtl.config.sources import DataConfig, DatasetConfig
from mtl.data.dev_split import NotEnoughRows, carve_dev
from mtl.data.errors import DataError
from mtl.data.example import EXAMPLE_SENTENCE_LABELS, EXAMPLE_SPLITS, EXAMPLE_TOKEN_LABELS, generate_examples
from mtl.data.labels import LabelSets, collect_labels, entity_type, unseen_label
from mtl.data.raw import load_split
from mtl.data.readers import COLUMNS, CONLL_TAGS, SST2_LABELS, read_conll, read_delimited, read_jsonl
from mtl.data.tables import ROLES, by_role, sample_rows

BUILTIN_LABELS: dict[str, LabelSets] = {
    "real": LabelSets(list(SST2_LABELS), list(CONLL_TAGS)),
    "example": LabelSets(list(EXAMPLE_SENTENCE_LABELS), list(EXAMPLE_TOKEN_LABELS)),
}
# What each built-in source's labels mean, for people: (sentence task, token task).
# Data sets as people name them (scores in the app, "SST-2 dev accuracy (chose)"); an unknown one shows as it is.
DATASET_TITLES: dict[str, str] = {"sst2": "SST-2", "conll2003": "CoNLL", "example": "example", "custom": "your data"}
TASK_DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "real": ("SST-2 movie-review sentiment", "CoNLL-2003 named entities"),
    "example": ("Technology / Weather / Other (generated example data)", "TECH / WEATHER spans (generated example data)"),
}
# What an empty file of each format needs, said when it is empty.
_WHAT_TO_ADD = {
    "jsonl": "one JSON object per line with 'text' and 'sentence_label' and/or 'word_tags'",
    "csv": "a header naming the text and label columns, then one row per sentence",
    "tsv": "a header naming the text and label columns, then one row per sentence",
    "conll": "one word and its IOB2 tag per line, a blank line after each sentence",
}


def label_sets(source: str) -> tuple[list[str], list[str]]:
    """(sentence labels, token labels) of built-in data: ``real`` or ``example``."""
    if source not in BUILTIN_LABELS:
        raise ValueError(f"unknown built-in data {source!r}: choose one of {', '.join(BUILTIN_LABELS)}")
    labels = BUILTIN_LABELS[source]
    return list(labels.sentence), list(labels.token)


def task_descriptions(source: str, sentence_labels: list[str], token_labels: list[str]) -> tuple[str, str, bool]:
    """(sentence task, token task, inferred) for a model trained on ``source``; "" for a task the model does not have.

    A built-in source has its description. Any other source's tasks are described by their labels. A model saved
    before its data source was recorded has ``source == ""``: its task is inferred from its label sets
    (``inferred`` is True) when they match a built-in source's.
    """
    if source in TASK_DESCRIPTIONS:
        return (*TASK_DESCRIPTIONS[source], False)
    if not source:
        for known, labels in BUILTIN_LABELS.items():
            if labels.sentence == list(sentence_labels) and labels.token == list(token_labels):
                return (*TASK_DESCRIPTIONS[known], True)
    where = f" ({source})" if source else ""
    types = sorted({t for t in map(entity_type, token_labels) if t})
    sentence = f"{' / '.join(sentence_labels)}{where}" if sentence_labels else ""
    token = f"{' / '.join(types)} spans{where}" if types else ""
    return sentence, token, not source


def prepare_example(n: int, seed: int) -> dict[str, pd.DataFrame]:
    """The generated example data, split by template (held-out splits use unseen templates)."""
    table = generate_examples(n=n, seed=seed)
    return {
        f"example/{split}": table[table["split"] == split].drop(columns=["split"]).reset_index(drop=True)
        for split in EXAMPLE_SPLITS
    }


def prepare_custom(path: str | Path, validation_fraction: float = 0.2, seed: int = 42) -> tuple[dict[str, pd.DataFrame], LabelSets]:
    """The user's own JSON Lines file (``mtl.data.readers.read_jsonl``: any labels, either task or both) as
    ``custom/<split>`` tables.

    A ``split`` key (train / validation / test) on every line is used as it is, so ``mtl example-data``
    output reads back with its own splits; with no ``split`` anywhere, a seeded shuffle sends
    ``validation_fraction`` of the rows (at least one) to validation. Returns the tables and their label sets
    (``checked_labels``). Bad rows, and labels that only validation or test have, raise DataError with file:line.
    """
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
    table = read_jsonl(path, optional_columns=("split",))
    given = table["split"].notna()
    if given.any():
        if not given.all():
            line = int(table.loc[~given, "line"].iloc[0])
            raise DataError(path, line, "no 'split' here, but other lines have one: give it on every line or on none")
        for split, line in zip(table["split"], table["line"]):
            if split not in ROLES:
                raise DataError(path, int(line), f"unknown split {split!r}; expected one of {', '.join(ROLES)}")
        splits = table["split"]
    else:
        if len(table) < 2:
            raise DataError(path, None, f"{len(table)} sentence(s): need at least 2 to hold one out for validation")
        splits = pd.Series("train", index=table.index)
        splits.iloc[_drawn(len(table), validation_fraction, seed)] = "validation"
    tables = {f"custom/{role}": table.loc[splits == role].reset_index(drop=True) for role in ROLES if (splits == role).any()}
    if "custom/train" not in tables:
        raise DataError(path, None, "no line has split 'train'")
    labels = checked_labels(tables, dict.fromkeys(tables, Path(path)))
    return {name: t[list(COLUMNS)] for name, t in tables.items()}, labels


def _drawn(n: int, fraction: float, seed: int) -> np.ndarray:
    """Which of ``n`` rows a seeded shuffle sends to a held-out split of ``fraction`` (at least one, never all)."""
    order = np.random.default_rng(seed).permutation(n)
    return order[: min(n - 1, max(1, round(fraction * n)))]


def read_dataset_file(path: Path, dataset: DatasetConfig) -> pd.DataFrame:
    """One file of a data set in its format, with a ``line`` column; an empty file says what it needs."""
    if path.is_file() and path.stat().st_size == 0:
        raise DataError(path, None, f"file is empty: add {_WHAT_TO_ADD[dataset.format]}")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if dataset.format == "jsonl":
        return read_jsonl(path)
    if dataset.format == "conll":
        return read_conll(path)
    sep = "," if dataset.format == "csv" else "\t"
    return read_delimited(path, sep, dataset.text_column, dataset.label_column, dataset.label_names)


def prepare_files(data: DataConfig, seed: int) -> tuple[dict[str, pd.DataFrame], LabelSets]:
    """A user's source: each data set's files read in their format, fractions drawn with ``seed``, labels collected.

    Returns the tables (``<dataset>/<split>``) and the label sets, sentence classes and entity types sorted.
    Raises DataError (file:line) for a malformed row or a validation / test label that training never saw, and
    DataError naming the training file for a task with one class only or tags without any entity.
    """
    tables: dict[str, pd.DataFrame] = {}
    files: dict[str, Path] = {}
    for name, dataset in data.datasets.items():
        train_path = resolve_path(dataset.train)
        train = read_dataset_file(train_path, dataset)
        parts = {"train": train}
        for split in ("validation", "test"):
            value = getattr(dataset, split)
            if isinstance(value, str):
                files[f"{name}/{split}"] = resolve_path(value)
                parts[split] = read_dataset_file(files[f"{name}/{split}"], dataset)
            elif value is not None:  # a fraction of train, drawn from what earlier splits left
                if len(parts["train"]) < 2:
                    raise DataError(train_path, None, f"{len(parts['train'])} sentence(s) left: too few to hold out {value:.0%} for {split}; add rows")
                chosen = np.zeros(len(parts["train"]), dtype=bool)
                chosen[_drawn(len(parts["train"]), value, seed)] = True
                parts[split] = parts["train"][chosen].reset_index(drop=True)
                parts["train"] = parts["train"][~chosen].reset_index(drop=True)
                files[f"{name}/{split}"] = train_path
        files[f"{name}/train"] = train_path
        tables.update({f"{name}/{split}": table for split, table in parts.items()})
    labels = checked_labels(tables, files)
    return {n: t.drop(columns=["line"]) for n, t in tables.items()}, labels


def checked_labels(tables: Mapping[str, pd.DataFrame], files: Mapping[str, Path]) -> LabelSets:
    """The label sets of the training tables (``mtl.data.labels.collect_labels``), once they are shown to be usable.

    ``tables`` (``<dataset>/<split>``, each with a ``line`` column) were read from ``files`` (by table name). Raises
    DataError naming the training file for no labels, one sentence class only, or tags without any entity, and at
    file:line for the first validation or test row with a label or entity type training never has.
    """
    labels = collect_labels(by_role(tables, "train"))
    train_file = files[next(name for name in tables if name.endswith("/train"))]
    if not labels.sentence and not labels.token:
        raise DataError(train_file, None, "no labels in training: add 'sentence_label' or 'word_tags'")
    if len(labels.sentence) == 1:
        raise DataError(
            train_file, None,
            f"one sentence label only ({labels.sentence[0]!r}): add sentences of at least one other class, or leave sentence labels out for a token-only source",
        )
    if labels.token and len(labels.token) == 1:
        raise DataError(train_file, None, "word tags but no entity (every tag is O): add B-TYPE / I-TYPE tags, or leave word_tags out for a sentence-only source")
    for name, table in tables.items():
        if name.endswith("/train"):
            continue
        found = unseen_label(table, labels)
        if found is not None:
            row, problem = found
            raise DataError(files[name], int(table["line"].iloc[row]), f"{problem}: add it to the training data, or drop the row")
    return labels


def prepare_source(data: DataConfig, cfg: PrepareConfig) -> tuple[dict[str, pd.DataFrame], LabelSets]:
    """A source's tables and label sets: built-in data sized by ``prepare``'s keys, or a user's files (``prepare_files``)."""
    if data.builtin == "real":
        return prepare_real(cfg), BUILTIN_LABELS["real"]
    if data.builtin == "example":
        return prepare_example(cfg.example_n, cfg.seed), BUILTIN_LABELS["example"]
    return prepare_files(data, cfg.seed)


def prepare_real(cfg: PrepareConfig) -> dict[str, pd.DataFrame]:
    """SST-2 and CoNLL-2003 splits from ``cfg.raw_dir`` (else the Hub), each capped per ``cfg``.

    SST-2 train is cut in two (``mtl.data.dev_split``): ``sst2/dev`` (``cfg.sst2_dev`` sentences, which choose the
    epoch and the champion) and ``sst2/train`` (``cfg.sst2_train`` of the rows left), so SST-2 validation
    stays held out. Asking for more rows than SST-2 train has raises ``ParamsError`` naming the keys.
    """
    # relative to the main repository, also when `dvc exp run --temp` runs this in a copy elsewhere
    raw_dir = resolve_path(cfg.raw_dir)
    try:
        sst2 = carve_dev(load_split("sst2", "train", raw_dir), cfg.sst2_dev, cfg.sst2_train, cfg.seed)
    except NotEnoughRows as err:
        if err.part == "dev":
            raise ParamsError(f"prepare.sst2_dev: {err} in SST-2 train: lower prepare.sst2_dev") from None
        raise ParamsError(
            f"prepare.sst2_train: {err} of SST-2 train (prepare.sst2_dev: {cfg.sst2_dev}): lower prepare.sst2_train, "
            "or set it to null to train on every row left"
        ) from None
    tables = {"sst2/train": sst2.train, "sst2/dev": sst2.dev}
    caps = {
        "sst2/validation": cfg.sst2_validation,
        "conll2003/train": cfg.conll_train,
        "conll2003/validation": cfg.conll_validation,
        "conll2003/test": cfg.conll_test,
    }
    for name, cap in caps.items():
        dataset, split = name.split("/")
        tables[name] = sample_rows(load_split(dataset, split, raw_dir), cap, cfg.seed)
    return tables
