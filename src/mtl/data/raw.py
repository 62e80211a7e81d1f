"""SST-2 (GLUE) and CoNLL-2003: read from a raw-data directory, else loaded from the Hugging Face Hub.

Both paths give the same table as the readers (``mtl.data.readers``), and ``raw_sources`` records which
bytes each split came from.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd

from mtl.config.options import check_option
from mtl.data.errors import DataError
from mtl.data.files import file_md5
from mtl.data.readers import CONLL_TAGS, SST2_LABELS, read_conll, read_sst2, table

logger = logging.getLogger(__name__)

DATASET_SPLITS: dict[str, tuple[str, ...]] = {
    "sst2": ("train", "validation"),
    "conll2003": ("train", "validation", "test"),
}

# Hub fallbacks, pinned so a re-run reads the same bytes. GLUE is a Parquet repository; this commit is
# the one widely used since the repository moved to nyu-mll/glue.
HUB_SST2_PATH = "nyu-mll/glue"
HUB_SST2_CONFIG = "sst2"
HUB_SST2_REVISION = "bcdcba79d07bc864c1c254ccfcedcce55bcc9a8c"
# eriktks/conll2003's main branch is a loading script, which datasets>=4 refuses to run; the Hub's
# automatic Parquet conversion of it lives on this ref and needs no code execution.
HUB_CONLL_PATH = "eriktks/conll2003"
HUB_CONLL_REVISION = "refs/convert/parquet"

_RAW_FILES = {"sst2": "sst2/{split}.tsv", "conll2003": "conll2003/{split}.txt"}


def _check_split(dataset: str, split: str) -> None:
    check_option("dataset", dataset, tuple(DATASET_SPLITS))
    check_option(f"{dataset} split", split, DATASET_SPLITS[dataset])


def load_hub_sst2(split: str) -> pd.DataFrame:
    """SST-2 ``train`` or ``validation`` from the Hugging Face Hub (GLUE, pinned revision).

    The fallback for when the raw files are absent; needs network access or a warm ``datasets`` cache.
    Returns the same table as ``read_sst2``.
    """
    _check_split("sst2", split)
    from datasets import load_dataset  # heavy import, only needed on this path

    source = f"hf://datasets/{HUB_SST2_PATH}@{HUB_SST2_REVISION}/{HUB_SST2_CONFIG}/{split}"
    ds = load_dataset(HUB_SST2_PATH, HUB_SST2_CONFIG, split=split, revision=HUB_SST2_REVISION)
    texts: list[str] = []
    labels: list[str] = []
    for row, (sentence, label) in enumerate(zip(ds["sentence"], ds["label"]), start=1):
        if label not in (0, 1):
            raise DataError(source, row, f"label must be 0 or 1, got {label!r}")
        text = str(sentence).strip()
        if not text:
            raise DataError(source, row, "empty sentence")
        texts.append(text)
        labels.append(SST2_LABELS[label])
    return table(texts, [t.split() for t in texts], [None] * len(texts), labels)


def load_hub_conll(split: str) -> pd.DataFrame:
    """CoNLL-2003 ``train``, ``validation`` or ``test`` from the Hugging Face Hub (pinned revision).

    The Hub's ``ner_tags`` ids follow CONLL_TAGS order; when the data set names its classes they are
    checked against it. Returns the same table as ``read_conll``.
    """
    _check_split("conll2003", split)
    from datasets import load_dataset  # heavy import, only needed on this path

    source = f"hf://datasets/{HUB_CONLL_PATH}@{HUB_CONLL_REVISION}/{split}"
    ds = load_dataset(HUB_CONLL_PATH, split=split, revision=HUB_CONLL_REVISION)
    names = getattr(getattr(ds.features.get("ner_tags"), "feature", None), "names", None)
    if names is not None and tuple(names) != CONLL_TAGS:
        raise DataError(source, None, f"ner_tags classes {names} differ from {list(CONLL_TAGS)}")
    texts: list[str] = []
    all_words: list[list[str]] = []
    all_tags: list[list[str]] = []
    for row, (tokens, tag_ids) in enumerate(zip(ds["tokens"], ds["ner_tags"]), start=1):
        if not tokens:  # the raw reader never yields empty sentences either
            continue
        if len(tokens) != len(tag_ids):
            raise DataError(source, row, f"{len(tokens)} tokens but {len(tag_ids)} ner_tags")
        if any(not 0 <= t < len(CONLL_TAGS) for t in tag_ids):
            raise DataError(source, row, f"ner_tags id out of range 0..{len(CONLL_TAGS) - 1}")
        words = [str(t) for t in tokens]
        texts.append(" ".join(words))
        all_words.append(words)
        all_tags.append([CONLL_TAGS[t] for t in tag_ids])
    return table(texts, all_words, all_tags, [None] * len(texts))


def load_split(dataset: str, split: str, raw_dir: str | os.PathLike[str] | None) -> pd.DataFrame:
    """One split of ``sst2`` or ``conll2003``: from ``raw_dir`` if that directory exists, else the Hub.

    Raw files are ``raw_dir/sst2/{train,validation}.tsv`` and ``raw_dir/conll2003/{train,validation,test}.txt``.
    Raises ValueError (listing the valid values) for an unknown dataset or split, and
    FileNotFoundError when ``raw_dir`` exists but lacks the file, rather than silently downloading.
    """
    _check_split(dataset, split)
    if raw_dir is not None and Path(raw_dir).is_dir():
        path = Path(raw_dir) / _RAW_FILES[dataset].format(split=split)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: missing {dataset} {split} file in raw data directory {raw_dir}")
        logger.info("reading %s %s from %s", dataset, split, path)
        return read_sst2(path) if dataset == "sst2" else read_conll(path, CONLL_TAGS).drop(columns=["line"])
    logger.info("raw data directory %s not found; loading %s %s from the Hugging Face Hub", raw_dir, dataset, split)
    try:
        return load_hub_sst2(split) if dataset == "sst2" else load_hub_conll(split)
    except (ConnectionError, OSError) as err:
        # Say both halves of the story: the local files were not there, and the fallback failed too.
        raise FileNotFoundError(
            f"raw data directory {raw_dir} not found, and loading {dataset} {split} from the Hugging Face Hub "
            f"failed ({err}); point prepare.raw_dir (params.yaml) or --raw_dir (mtl) at a directory with sst2/ and conll2003/"
        ) from err


def raw_sources(raw_dir: str | os.PathLike[str]) -> dict[str, str]:
    """Where each split is read from, as ``{"sst2/train": "md5:<hex>" or "hub:<dataset>@<revision>"}``.

    Recorded beside the prepared tables, so a change in the raw files changes the prepared output's hash
    (and ``dvc.lock``) once the stage re-runs, and every model traces back to the bytes it learnt from.
    """
    sources = {}
    for dataset, splits in DATASET_SPLITS.items():
        for split in splits:
            path = Path(raw_dir) / _RAW_FILES[dataset].format(split=split)
            if Path(raw_dir).is_dir() and path.is_file():
                sources[f"{dataset}/{split}"] = f"md5:{file_md5(path)}"
            else:
                repo, revision = (HUB_SST2_PATH, HUB_SST2_REVISION) if dataset == "sst2" else (HUB_CONLL_PATH, HUB_CONLL_REVISION)
                sources[f"{dataset}/{split}"] = f"hub:{repo}@{revision}"
    return sources
