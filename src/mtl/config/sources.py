"""``sources`` in ``params.yaml``: the data sources the pipeline trains one model each on, as data, not code.

Each source says what prepare reads (``data``), its registered model name and gate, and the ``train`` settings
that differ for it. ``dvc.yaml`` runs every stage ``foreach: ${sources}``, so adding a source is a block of
``params.yaml`` and nothing else::

    sources:
      travel:
        data:
          path: examples/travel            # what DVC watches: every file below is inside it
          datasets:
            travel:                        # the tables' name: travel/train, travel/validation, travel/test
              format: jsonl                # jsonl | csv | tsv | conll
              train: examples/travel/train.jsonl
              validation: examples/travel/validation.jsonl   # or a fraction of train: 0.2
              test: examples/travel/test.jsonl               # held out; optional
        model: mtl-travel
        gate: {sentence_accuracy: 0.8, entity_f1: 0.7}
        train: {}

The built-in sources (``real``: SST-2 + CoNLL-2003, ``example``: the generated data) say ``builtin:`` instead
of ``datasets:``; ``prepare``'s keys size them.
"""

from __future__ import annotations

import re
from dataclasses import field
from pathlib import PurePosixPath
from typing import Annotated, Any

from pydantic import AfterValidator, Field, model_validator
from pydantic.dataclasses import dataclass

from mtl.config.options import checker
from mtl.config.params import STRICT, GateConfig, ParamsError, build

# The formats a source's files may have: JSON Lines (either task or both), CSV / TSV with a header
# (text and sentence label), CoNLL-style columns (a word and its IOB2 tag per line; token task only).
DATA_FORMATS: tuple[str, ...] = ("jsonl", "csv", "tsv", "conll")
# Data the project reads or makes itself, sized by ``prepare``'s keys.
BUILTIN_DATA: tuple[str, ...] = ("real", "example")
check_format = checker("data format", DATA_FORMATS)
check_builtin = checker("built-in data", BUILTIN_DATA)
# A source's name is a folder name (data/prepared/<name>), a DVC stage suffix (train@<name>) and an MLflow tag.
_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
Fraction = Annotated[float, Field(gt=0, lt=1)]


def check_name(kind: str, name: str) -> str:
    """``name`` if it can name a source or a data set (lower case, digits, ``_`` and ``-``), else ValueError."""
    if not _NAME.match(name):
        raise ValueError(f"{kind} name {name!r}: use lower-case letters, digits, '_' and '-', starting with a letter")
    return name


@dataclass(config=STRICT)
class DatasetConfig:
    """One data set of a source: its format and which file (or fraction of train) is each split.

    ``validation`` chooses the epoch and the champion; ``test`` is held out (reported, chooses nothing).
    A fraction takes that share of the train file's rows, drawn with ``prepare.seed``.
    """

    format: Annotated[str, AfterValidator(check_format)]
    train: str
    validation: str | Fraction | None = None  # required: checked below, so the message can say what to write
    test: str | Fraction | None = None
    # csv / tsv: the header's names of the text and label columns
    text_column: str = "text"
    label_column: str = "label"
    # csv / tsv: labels written as 0, 1, ... mean these names (SST-2: negative, positive); None: labels as written
    label_names: list[str] | None = None

    @model_validator(mode="after")
    def _has_validation(self) -> DatasetConfig:
        if self.validation is None:
            raise ValueError(
                "no validation split: add validation: <a file>, or a fraction of train such as 0.2 "
                "(it chooses the epoch and the champion; test stays held out)"
            )
        return self

    def files(self) -> dict[str, str]:
        """The splits given as files, ``{split: path}``."""
        return {s: v for s, v in (("train", self.train), ("validation", self.validation), ("test", self.test)) if isinstance(v, str)}


@dataclass(config=STRICT)
class DataConfig:
    """``sources.<name>.data``: what the prepare stage reads; a change re-runs that source's prepare."""

    # the file or folder DVC watches for this source (dvc.yaml: prepare's deps); for built-in data, the code that reads or makes it
    path: str
    builtin: Annotated[str, AfterValidator(check_builtin)] | None = None
    datasets: dict[str, DatasetConfig] = field(default_factory=dict)

    @model_validator(mode="after")
    def _one_kind(self) -> DataConfig:
        if (self.builtin is None) == (not self.datasets):
            raise ValueError("give either datasets (your files) or builtin (real or example), not both and not neither")
        for name, dataset in self.datasets.items():
            check_name("data set", name)
            for split, path in dataset.files().items():
                if not _inside(path, self.path):
                    # DVC would not see an edit of that file, and the model would silently go stale
                    raise ValueError(f"datasets.{name}.{split}: {path} is not inside path {self.path}, which DVC watches")
            if dataset.format == "conll" and dataset.label_names is not None:
                raise ValueError(f"datasets.{name}.label_names: a conll file has word tags only, no sentence labels")
        return self


def _inside(path: str, folder: str) -> bool:
    path_parts, folder_parts = PurePosixPath(path).parts, PurePosixPath(folder).parts
    return path_parts[: len(folder_parts)] == folder_parts


@dataclass(config=STRICT)
class SourceConfig:
    """``sources.<name>``: one data source, its registered model, its gate and its training overrides."""

    data: DataConfig
    model: str  # the registered model name: models of different data are never compared, so each source has its own
    gate: GateConfig
    # the ``train`` settings that differ for this source (validated when used: ``mtl.config.params.TrainConfig.for_source``);
    # DVC tracks this key per source, so it is written even when empty: ``train: {}``
    train: dict[str, Any] = field(default_factory=dict)


def _builtin_sources() -> dict[str, SourceConfig]:
    # The committed params.yaml's sources (a test keeps the two equal): the defaults of code that runs without it.
    return {
        "real": SourceConfig(
            DataConfig(path="src/mtl/data/raw.py", builtin="real"), "mtl-pipeline", GateConfig(sentence_accuracy=0.8, entity_f1=0.6)
        ),
        "example": SourceConfig(
            DataConfig(path="src/mtl/data/example.py", builtin="example"),
            "mtl-example",
            GateConfig(sentence_accuracy=0.9, entity_f1=0.9),
            {"batch_size": 8},
        ),
    }


DEFAULT_SOURCES: dict[str, SourceConfig] = _builtin_sources()
PIPELINE_MODEL = DEFAULT_SOURCES["real"].model  # mtl-pipeline: what `make serve` serves by default


def load_sources(params: dict, path: str = "params.yaml") -> dict[str, SourceConfig]:
    """Every source of ``params`` (its ``sources`` section), validated; errors name ``sources.<name>.<key>``."""
    raw = params.get("sources")
    if not isinstance(raw, dict) or not raw:
        raise ParamsError(f"{path}: sources: expected a mapping of data sources (name: settings), got {raw!r}")
    sources = {}
    for name, settings in raw.items():
        try:
            check_name("source", str(name))
        except ValueError as err:
            raise ParamsError(f"{path}: sources.{name}: {err}") from None
        try:
            sources[name] = build(SourceConfig, settings, f"sources.{name}")
        except ParamsError as err:
            raise ParamsError(f"{path}: {err}") from None
    models: dict[str, str] = {}
    for name, source in sources.items():
        if source.model in models:
            # models trained on different data must never be compared, so they never share a registered name
            raise ParamsError(f"{path}: sources.{name}.model: {source.model!r} is already sources.{models[source.model]}.model; give each source its own")
        models[source.model] = name
    return sources

