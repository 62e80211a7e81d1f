"""Typed configs from ``params.yaml``: each stage reads its own section, and a bad value names its key.

``build`` turns a mapping into a dataclass, checking unknown keys, missing keys and types before the
dataclass's own validation runs, so ``train.learning_rate: fast`` fails as
``params.yaml: train.learning_rate: expected a number, got 'fast'`` rather than deep inside training.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from mtl.alignment import check_alignment
from mtl.pooling import check_pooling

T = TypeVar("T")
DATA_SOURCES: tuple[str, ...] = ("real", "example")


class ParamsError(ValueError):
    """A problem in params.yaml, naming the file and the dotted key."""


@dataclass
class PrepareConfig:
    """``prepare``: where the raw data is, how much of it to use, and the generated example data."""

    raw_dir: str = "../shared/data"
    sst2_train: int | None = 3000
    sst2_validation: int | None = None
    conll_train: int | None = 3000
    conll_validation: int | None = None
    conll_test: int | None = None
    example_n: int = 900
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("sst2_train", "sst2_validation", "conll_train", "conll_validation", "conll_test"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name}: a row cap must be >= 1 or null (all rows), got {value}")
        if self.example_n < 30:
            raise ValueError(f"example_n: at least 30 example sentences are needed, got {self.example_n}")


@dataclass
class ModelParams:
    """``model``: backbone, pooling, sequence length and head dropout."""

    name: str = "sentence-transformers/all-MiniLM-L6-v2"
    pooling: str = "mean"
    max_length: int = 128
    dropout: float = 0.1

    def __post_init__(self) -> None:
        check_pooling(self.pooling)
        if not 8 <= self.max_length <= 512:
            raise ValueError(f"max_length: must be between 8 and 512, got {self.max_length}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout: must be in [0, 1), got {self.dropout}")


@dataclass
class AlignConfig:
    """``align``: which data the model learns from and how word tags map onto word pieces."""

    data: str = "real"
    strategy: str = "first"

    def __post_init__(self) -> None:
        if self.data not in DATA_SOURCES:
            raise ValueError(f"data: unknown source {self.data!r}: choose one of {', '.join(DATA_SOURCES)}")
        check_alignment(self.strategy)


@dataclass
class EvaluateConfig:
    """``evaluate``: how scoring runs."""

    batch_size: int = 64

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size: must be >= 1, got {self.batch_size}")


@dataclass
class GateConfig:
    """Minimum validation scores a new model needs to become ``champion``."""

    sentence_accuracy: float = 0.8
    entity_f1: float = 0.6


@dataclass
class ExportConfig:
    """``export``: the registered model's name and the quality gate."""

    model_name: str = "mtl-pipeline"
    gate: GateConfig = field(default_factory=GateConfig)


def _check_type(value: Any, hint: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _check_type(value, option, key)
            except ParamsError as err:
                errors.append(str(err))
        raise ParamsError(errors[0] if errors else f"{key}: unexpected value {value!r}")
    if dataclasses.is_dataclass(hint):
        return build(hint, value, key)
    if hint is bool:
        if not isinstance(value, bool):
            raise ParamsError(f"{key}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamsError(f"{key}: expected a whole number, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamsError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ParamsError(f"{key}: expected a string, got {value!r}")
        return value
    return value


def build(cls: type[T], mapping: Any, key: str) -> T:
    """Make a ``cls`` dataclass from ``mapping``; every error names the dotted ``key`` of the bad value."""
    if mapping is None:
        mapping = {}
    if not isinstance(mapping, dict):
        raise ParamsError(f"{key}: expected a mapping of settings, got {mapping!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(mapping) - set(names))
    if unknown:
        raise ParamsError(f"{key}.{unknown[0]}: unknown setting; valid settings are {', '.join(names)}")
    values = {name: _check_type(mapping[name], hints[name], f"{key}.{name}") for name in names if name in mapping}
    try:
        return cls(**values)
    except ValueError as err:
        message = str(err)
        field_name = message.split(":", 1)[0].strip()
        if field_name in names:
            raise ParamsError(f"{key}.{message}") from None
        raise ParamsError(f"{key}: {message}") from None


def load_params(path: str | Path = "params.yaml") -> dict:
    """Read params.yaml as a dict; a YAML error names the file and line."""
    path = Path(path)
    try:
        params = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ParamsError(f"{path}: no such file") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ParamsError(f"{where}: not valid YAML: {getattr(err, 'problem', err)}") from None
    if not isinstance(params, dict):
        raise ParamsError(f"{path}: expected a mapping of sections")
    return params


def section(params: dict, name: str, cls: type[T], path: str | Path = "params.yaml") -> T:
    """The typed config for one section of ``params``; errors start with ``path``."""
    try:
        return build(cls, params.get(name), name)
    except ParamsError as err:
        raise ParamsError(f"{path}: {err}") from None
