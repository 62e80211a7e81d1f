"""A trained model's whole config: ``params.yaml``'s ``model`` section plus what the data decided.

``ModelConfig`` derives from ``ModelParams`` (the ``model`` section), so a setting is declared, defaulted
and validated once. The DVC train stage, ``mtl fine-tune`` and an untrained demo model all build theirs with
``ModelConfig.from_params``; a saved model writes it to ``config.json`` (``as_saved``) and reads it back
(``from_saved``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import Annotated, Any

from pydantic import AfterValidator, model_validator
from pydantic.dataclasses import dataclass

from mtl.config.options import check_alignment
from mtl.config.params import STRICT, ModelParams

# What a config saved before a setting existed meant: such a model still loads and predicts as it did.
LEGACY_DEFAULTS: dict[str, object] = {"decoding": "argmax", "case_feature": False}
# config.json has called the backbone ``backbone`` since the first saved model (params.yaml calls it
# ``model.name``); keeping the saved key keeps every saved model's bytes, and so its DVC hash, the same.
_SAVED_NAME = "backbone"


@dataclass(config=STRICT, kw_only=True)
class ModelConfig(ModelParams):
    """What it takes to rebuild a model: the ``model`` settings, the label sets, the alignment and the data source."""

    sentence_labels: list[str]
    token_labels: list[str]
    # which word pieces carried a word's tag in training (``align.strategy``)
    alignment: Annotated[str, AfterValidator(check_alignment)] = "first"
    # which data the heads were trained on: "real", "example" or "custom" (``mtl.data.sources``);
    # "" for a model saved before this was recorded (it still loads; the app infers the task from its labels)
    data_source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @model_validator(mode="after")
    def _two_labels_each(self) -> ModelConfig:
        # an empty label list: the model does not have that task (a source with sentence labels only, or tags only)
        if not self.sentence_labels and not self.token_labels:
            raise ValueError("a model needs sentence labels, token labels or both")
        if len(self.sentence_labels) == 1 or len(self.token_labels) == 1:
            raise ValueError("a task needs at least two labels (a sentence task two classes; a token task O and an entity type)")
        return self

    @property
    def tasks(self) -> tuple[str, ...]:
        """The tasks this model has, of ``sentence`` and ``token``: those it has labels for."""
        return tuple(t for t, labels in (("sentence", self.sentence_labels), ("token", self.token_labels)) if labels)

    @property
    def backbone(self) -> str:
        """The backbone the model was built on (``model.name``): a Hub id, a locally installed model or a directory."""
        return self.name

    @classmethod
    def from_params(
        cls,
        params: ModelParams,
        *,
        sentence_labels: Sequence[str],
        token_labels: Sequence[str],
        alignment: str = "first",
        data_source: str = "",
        extra: Mapping[str, Any] | None = None,
    ) -> ModelConfig:
        """The config of a model built from ``params`` (``params.yaml``'s ``model`` section, or the CLI's flags) and its data."""
        settings = {f.name: getattr(params, f.name) for f in dataclasses.fields(ModelParams)}
        return cls(
            **settings,
            sentence_labels=list(sentence_labels),
            token_labels=list(token_labels),
            alignment=alignment,
            data_source=data_source,
            extra=dict(extra or {}),
        )

    @property
    def params(self) -> ModelParams:
        """Just the ``model`` settings (what ``params.yaml`` sets), without labels and data."""
        return ModelParams(**{f.name: getattr(self, f.name) for f in dataclasses.fields(ModelParams)})

    def as_saved(self) -> dict[str, Any]:
        """The settings as ``config.json`` stores them (the label sets go to ``labels.json``)."""
        saved = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("sentence_labels", "token_labels")}
        saved[_SAVED_NAME] = saved.pop("name")
        return saved

    @classmethod
    def from_saved(cls, saved: Mapping[str, Any], sentence_labels: Sequence[str], token_labels: Sequence[str]) -> ModelConfig:
        """The config ``as_saved`` wrote, with ``LEGACY_DEFAULTS`` for settings older models did not record."""
        values = {**LEGACY_DEFAULTS, **saved}
        values["name"] = values.pop(_SAVED_NAME)
        return cls(**values, sentence_labels=list(sentence_labels), token_labels=list(token_labels))
