"""The data sources the pipeline and the CLI train on, as tables: ``real`` (SST-2 + CoNLL-2003), ``example``
(the generated data) and ``custom`` (a user's JSON Lines file), with each source's label sets.

Tables are named ``<dataset>/<split>`` (``mtl.data.tables``); the DVC prepare stage and ``mtl fine-tune``
both build theirs here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mtl.config.params import ParamsError, PrepareConfig
from mtl.config.paths import resolve_path
from mtl.data.dev_split import NotEnoughRows, carve_dev
from mtl.data.errors import DataError
from mtl.data.example import EXAMPLE_SENTENCE_LABELS, EXAMPLE_SPLITS, EXAMPLE_TOKEN_LABELS, generate_examples
from mtl.data.raw import load_split
from mtl.data.readers import CONLL_TAGS, SST2_LABELS, read_example
from mtl.data.tables import ROLES, sample_rows

LABEL_SETS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "real": (SST2_LABELS, CONLL_TAGS),
    "example": (EXAMPLE_SENTENCE_LABELS, EXAMPLE_TOKEN_LABELS),
}
# What each data source's labels mean, for people: (sentence task, token task). "custom" is the user's own
# JSONL in the example-data format (``mtl fine-tune --data PATH``), so it shares the example label sets.
# Data sets as people name them (scores in the app, "SST-2 dev accuracy (chose)"); an unknown one shows as it is.
DATASET_TITLES: dict[str, str] = {"sst2": "SST-2", "conll2003": "CoNLL", "example": "example", "custom": "your data"}
TASK_DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "real": ("SST-2 movie-review sentiment", "CoNLL-2003 named entities"),
    "example": ("Technology / Weather / Other (generated example data)", "TECH / WEATHER spans (generated example data)"),
    "custom": ("Technology / Weather / Other (your own data)", "TECH / WEATHER spans (your own data)"),
}


def label_sets(source: str) -> tuple[list[str], list[str]]:
    """(sentence labels, token labels) of a data source: ``real``, ``example`` or ``custom`` (example's labels)."""
    key = "example" if source == "custom" else source
    if key not in LABEL_SETS:
        raise ValueError(f"unknown data source {source!r}: choose one of {', '.join([*LABEL_SETS, 'custom'])}")
    sentence, token = LABEL_SETS[key]
    return list(sentence), list(token)


def task_descriptions(source: str, sentence_labels: list[str], token_labels: list[str]) -> tuple[str, str, bool]:
    """(sentence task, token task, inferred) for a model trained on ``source``.

    A model saved before its data source was recorded has ``source == ""``: its task is then inferred
    from its label sets (``inferred`` is True), or called unknown when they match no known source.
    """
    if source in TASK_DESCRIPTIONS:
        return (*TASK_DESCRIPTIONS[source], False)
    for known, (sentence, token) in LABEL_SETS.items():
        if list(sentence) == list(sentence_labels) and list(token) == list(token_labels):
            return (*TASK_DESCRIPTIONS[known], True)
    return ("unknown task, labels " + " / ".join(sentence_labels), "unknown task, tags " + ", ".join(token_labels), True)


def prepare_example(n: int, seed: int) -> dict[str, pd.DataFrame]:
    """The generated example data, split by template (held-out splits use unseen templates)."""
    table = generate_examples(n=n, seed=seed)
    return {
        f"example/{split}": table[table["split"] == split].drop(columns=["split"]).reset_index(drop=True)
        for split in EXAMPLE_SPLITS
    }


def prepare_custom(path: str | Path, validation_fraction: float = 0.2, seed: int = 42) -> dict[str, pd.DataFrame]:
    """The user's own JSONL in the example-data format (``mtl.data.readers.read_example``), as ``custom/<split>`` tables.

    A ``split`` key (train / validation / test) on every line is used as it is, so ``mtl example-data``
    output reads back with its own splits; with no ``split`` anywhere, a seeded shuffle sends
    ``validation_fraction`` of the rows (at least one) to validation. Bad rows raise DataError with file:line.
    """
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
    table = read_example(path, optional_columns=("split",))
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
        order = np.random.default_rng(seed).permutation(len(table))
        n_validation = min(len(table) - 1, max(1, round(validation_fraction * len(table))))
        splits = pd.Series("train", index=table.index)
        splits.iloc[order[:n_validation]] = "validation"
    columns = ["text", "words", "word_tags", "sentence_label"]
    tables = {
        f"custom/{role}": table.loc[splits == role, columns].reset_index(drop=True) for role in ROLES if (splits == role).any()
    }
    if "custom/train" not in tables:
        raise DataError(path, None, "no line has split 'train'")
    return tables


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
