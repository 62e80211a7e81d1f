"""Typed configs from ``params.yaml``: one pydantic model per section, and a bad value names its full key.

Each stage reads only its own section. The defaults here are the committed ``params.yaml`` values (a test
holds the two equal), so a config built in code (``TrainConfig()``, the CLI) trains the same model as
``dvc repro``. Validation is pydantic's: unknown keys are refused, types are checked, and the project's
``check_*`` helpers validate enumerated options, so
``train.sampling: random`` fails as
``params.yaml: train.sampling: unknown sampling 'random': choose one of proportional, round_robin, temperature``.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Sequence
from dataclasses import field
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import AfterValidator, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from pydantic.dataclasses import dataclass

from mtl.config.options import (
    check_alignment,
    check_decoding,
    check_freeze,
    check_pooling,
    check_precision,
    check_sampling,
)

T = TypeVar("T")
# Unknown keys are refused: a typo such as ``train.epoch`` must not silently fall back to a default.
STRICT = ConfigDict(extra="forbid")

RowCap = Annotated[int, Field(ge=1)] | None
Positive = Annotated[float, Field(gt=0)]
Score = Annotated[float, Field(ge=0, le=1)]
# The two tasks, and the task each gated metric measures.
TASKS: tuple[str, ...] = ("sentence", "token")
GATED_TASK: dict[str, str] = {"sentence_accuracy": "sentence", "entity_f1": "token"}
# pydantic's error types for a key the config does not have (models and dataclasses report it differently)
UNKNOWN_KEY = ("extra_forbidden", "unexpected_keyword_argument")


class ParamsError(ValueError):
    """A problem in params.yaml, naming the file and the dotted key."""


@dataclass(config=STRICT)
class PrepareConfig:
    """``prepare``: where the raw data is, how much of it to use (and the SST-2 dev split), and the generated example data."""

    raw_dir: str = "../shared/data"
    # drawn from the SST-2 train rows the dev split leaves (mtl.data.dev_split); None: all of them
    sst2_train: RowCap = 3000
    # SST-2 dev sentences carved out of train: they choose the epoch and the champion (mtl.data.splits), so that
    # SST-2 validation stays held out. Not optional: without it SST-2 validation would choose again.
    sst2_dev: Annotated[int, Field(ge=1)] = 872
    sst2_validation: RowCap = None
    conll_train: RowCap = 3000
    conll_validation: RowCap = None
    conll_test: RowCap = None
    example_n: Annotated[int, Field(ge=30)] = 900
    seed: int = 0


@dataclass(config=STRICT)
class ModelParams:
    """``model``: backbone, pooling, sequence length, head dropout, how word tags are decoded, the case feature."""

    name: str = "sentence-transformers/all-MiniLM-L6-v2"
    pooling: Annotated[str, AfterValidator(check_pooling)] = "mean"
    max_length: Annotated[int, Field(ge=8, le=512)] = 128
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.1
    # viterbi | argmax: saved with the model, so evaluation and every serving path decode the same way
    decoding: Annotated[str, AfterValidator(check_decoding)] = "viterbi"
    # a learned word-shape vector (lower, Title, UPPER, ...) added to the token vectors: capitalisation for an uncased backbone
    case_feature: bool = True


@dataclass(config=STRICT)
class AlignConfig:
    """``align``: how word tags map onto word pieces."""

    strategy: Annotated[str, AfterValidator(check_alignment)] = "first"


@dataclass(frozen=True, config=STRICT)
class TaskWeights:
    """``train.task_weights``: how much each task's loss counts; 0 turns a task off (a single-task run through the same code)."""

    sentence: Annotated[float, Field(ge=0)] = 1.0
    token: Annotated[float, Field(ge=0)] = 1.0

    @model_validator(mode="after")
    def _one_task_on(self) -> TaskWeights:
        if self.sentence == 0 and self.token == 0:
            raise ValueError("at least one task weight must be > 0")
        return self

    def trained(self) -> tuple[str, ...]:
        """The tasks this run trains: those with a weight above 0."""
        return tuple(name for name in ("sentence", "token") if getattr(self, name) > 0)


@dataclass(config=STRICT)
class TrainConfig:
    """``train``: every knob of a training run; validated on creation so a bad value fails before any work."""

    epochs: Annotated[int, Field(ge=1)] = 3
    batch_size: Annotated[int, Field(ge=1)] = 32
    learning_rate: Positive = 1e-4
    head_learning_rate: Positive | None = 1e-3  # None: same as learning_rate
    weight_decay: Annotated[float, Field(ge=0)] = 0.01
    warmup_ratio: Annotated[float, Field(ge=0, lt=1)] = 0.1
    max_grad_norm: Positive = 1.0
    task_weights: TaskWeights = field(default_factory=TaskWeights)
    sampling: Annotated[str, AfterValidator(check_sampling)] = "proportional"
    temperature: Positive = 2.0
    group_by_length: bool = True
    freeze: Annotated[str, AfterValidator(check_freeze)] = "none"
    seed: int = 42
    eval_batch_size: Annotated[int, Field(ge=1)] = 64
    # fp32 | bf16: autocast of the forward pass (weights, gradients and AdamW's state stay float32)
    precision: Annotated[str, AfterValidator(check_precision)] = "fp32"
    # processes torchrun starts for the train stage (dvc.yaml's command); train() itself takes the world
    # torchrun made, so a run under any --nproc_per_node uses the same code
    processes: Annotated[int, Field(ge=1)] = 1

    def for_source(self, source: str, overrides: dict[str, Any]) -> TrainConfig:
        """This config with a source's overrides (``sources.<source>.train``) applied; a bad one names its key."""
        if not overrides:
            return self
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        values["task_weights"] = dataclasses.asdict(self.task_weights)
        return build(TrainConfig, {**values, **overrides}, f"sources.{source}.train")


@dataclass(config=STRICT)
class EvaluateConfig:
    """``evaluate``: how scoring runs."""

    batch_size: Annotated[int, Field(ge=1)] = 64


@dataclass(config=STRICT)
class GateConfig:
    """Minimum scores on each data set's selection split (SST-2 dev, CoNLL-2003 validation; ``mtl.data.splits``) a new
    model needs before it may become ``champion`` (see ``mtl.registry.gate``). A source gates the tasks its data
    has: a sentence-only source sets ``sentence_accuracy`` alone (None: not gated)."""

    sentence_accuracy: Score | None = None
    entity_f1: Score | None = None

    @model_validator(mode="after")
    def _something_gated(self) -> GateConfig:
        if self.sentence_accuracy is None and self.entity_f1 is None:
            raise ValueError("set sentence_accuracy, entity_f1 or both: a gate with no threshold would promote anything")
        return self

    def thresholds(self, tasks: Sequence[str] = TASKS) -> dict[str, float]:
        """The gate's thresholds by metric (``mtl.registry.gate.decide``), for the metrics it sets of ``tasks``."""
        return {k: v for k, v in self._set().items() if GATED_TASK[k] in tasks}

    def beyond(self, tasks: Sequence[str]) -> list[str]:
        """The thresholds it sets for tasks not in ``tasks``: a gate a model of those tasks could never pass."""
        return [k for k in self._set() if GATED_TASK[k] not in tasks]

    def _set(self) -> dict[str, float]:
        return {k: v for k, v in (("sentence_accuracy", self.sentence_accuracy), ("entity_f1", self.entity_f1)) if v is not None}


@dataclass(config=STRICT)
class ExportConfig:
    """``export``: how much worse than the champion a new model may be (each source's name and gate: ``sources``)."""

    tolerance: Annotated[float, Field(ge=0)] = 0.0


def _message(error: dict) -> str:
    """One pydantic error as ``<what is wrong>, got <value>``, without pydantic's ``Value error,`` prefix."""
    message = error["msg"]
    if error["type"] == "value_error":
        return message.removeprefix("Value error, ")
    if error["type"] in UNKNOWN_KEY:
        return "unknown setting"
    if error["type"] == "missing":
        return "missing setting"
    return f"{message}, got {error['input']!r}"


def _valid_keys(cls: Any, loc: tuple) -> list[str]:
    """The settings a config class accepts at ``loc`` (the path of an unknown key, without the key itself)."""
    for part in loc:
        hints = typing.get_type_hints(cls) if dataclasses.is_dataclass(cls) else {}
        if part in hints:
            cls = hints[part]
        elif typing.get_origin(cls) is dict:
            cls = typing.get_args(cls)[1]
        else:
            return []
    return [f.name for f in dataclasses.fields(cls)] if dataclasses.is_dataclass(cls) else []


def build(cls: type[T], mapping: Any, key: str) -> T:
    """Make a ``cls`` config from ``mapping``; every error names the dotted key of the bad value, below ``key``."""
    if mapping is None:
        mapping = {}
    if not isinstance(mapping, dict):
        raise ParamsError(f"{key}: expected a mapping of settings, got {mapping!r}")
    try:
        return TypeAdapter(cls).validate_python(mapping)
    except ValidationError as err:
        problems = []
        for error in err.errors():
            path = ".".join([key, *(str(part) for part in error["loc"])])
            problem = f"{path}: {_message(error)}"
            valid = _valid_keys(cls, error["loc"][:-1]) if error["type"] in UNKNOWN_KEY else []
            if valid:
                problem += f"; valid settings are {', '.join(valid)}"
            problems.append(problem)
        raise ParamsError("; ".join(problems)) from None


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
