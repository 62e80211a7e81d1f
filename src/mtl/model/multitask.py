"""The multi-task model: one shared encoder, a sentence head and a token head, one forward pass."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import torch
from safetensors.torch import load_model, save_model
from torch import nn
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from mtl.config.model import ModelConfig
from mtl.model.backbones import backbone_from_config, load_backbone, quiet_transformers, tokenizer_at
from mtl.model.encoder import SentenceEncoder
from mtl.model.heads import SentenceHead, TokenHead
from mtl.text.shapes import NONE, SHAPES, piece_shapes

FORMAT = "mtl-model/1"
WEIGHTS = "model.safetensors"
CONFIG = "config.json"
LABELS = "labels.json"


class MultiTaskOutput(NamedTuple):
    """Both tasks' logits and the pooled sentence vectors, from one forward pass."""

    sentence_logits: torch.Tensor  # (batch, n_sentence_labels)
    token_logits: torch.Tensor  # (batch, seq, n_token_labels)
    embeddings: torch.Tensor  # (batch, dim), not normalised


class MultiTaskModel(nn.Module):
    """A shared sentence encoder with a sentence-classification head and a token-classification head."""

    OUTPUTS: tuple[str, ...] = MultiTaskOutput._fields  # what ``forward`` returns, by name (and the ONNX graph's outputs)

    def __init__(self, config: ModelConfig, backbone: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
        super().__init__()
        self.config = config
        # The backbone's own pooler is a dense layer on [CLS] that we never use; dropping it keeps it out of
        # the optimiser and of the saved weights.
        if getattr(backbone, "pooler", None) is not None:
            backbone.pooler = None
        self.encoder = SentenceEncoder(backbone, tokenizer, pooling=config.pooling, max_length=config.max_length)
        # a task without labels gets a head with no outputs: one architecture, and every runtime and export path, for
        # one task or two (the predictions skip it: mtl.inference.predict)
        self.sentence_head = SentenceHead(self.encoder.dim, len(config.sentence_labels), config.dropout)
        self.token_head = TokenHead(self.encoder.dim, len(config.token_labels), config.dropout)
        self.case_embedding: nn.Embedding | None = None
        if config.case_feature:
            # zero at the start, so a new model predicts as it would without the feature and learns what shapes add;
            # "none" (padding, special tokens) stays zero for good (padding_idx: no gradient)
            self.case_embedding = nn.Embedding(len(SHAPES), self.encoder.dim, padding_idx=NONE)
            nn.init.zeros_(self.case_embedding.weight)

    @classmethod
    def from_backbone(cls, config: ModelConfig, seed: int | None = None) -> MultiTaskModel:
        """A new model on the pretrained backbone ``config.backbone``; heads initialised from ``seed``."""
        backbone, tokenizer = load_backbone(config.backbone)
        if seed is not None:
            torch.manual_seed(seed)
        return cls(config, backbone, tokenizer)

    @property
    def tokenizer(self) -> PreTrainedTokenizerBase:
        """The backbone's tokenizer."""
        return self.encoder.tokenizer

    @property
    def input_names(self) -> tuple[str, ...]:
        """What ``forward`` takes, in order (and the ONNX graph's inputs): ``case_ids`` too with the case feature."""
        return ("input_ids", "attention_mask") + (("case_ids",) if self.case_embedding is not None else ())

    def extra_inputs(self, words: Sequence[Sequence[str]], word_ids: Sequence[Sequence[int | None]]) -> dict[str, list[list[int]]]:
        """Per-piece inputs beyond the pieces, for rows of ``words`` tokenised with ``word_ids``: ``{}``, or
        ``{"case_ids": ...}`` with the case feature (``mtl.text.shapes.piece_shapes``). Training, evaluation,
        prediction and the ONNX export all get them here, so they see the same ids."""
        if self.case_embedding is None:
            return {}
        return {"case_ids": [piece_shapes(w, ids) for w, ids in zip(words, word_ids, strict=True)]}

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, case_ids: torch.Tensor | None = None) -> MultiTaskOutput:
        """Run the encoder once and both heads on its output (``case_ids``: the pieces' word shapes, with the case feature)."""
        states, pooled = self.encoder(input_ids, attention_mask)
        token_vectors = states
        if self.case_embedding is not None:
            if case_ids is None:
                raise ValueError("this model has the case feature: pass case_ids (MultiTaskModel.extra_inputs)")
            token_vectors = states + self.case_embedding(case_ids)
        return MultiTaskOutput(self.sentence_head(pooled), self.token_head(token_vectors), pooled)

    def set_max_length(self, max_length: int) -> None:
        """Keep at most ``max_length`` word pieces per sentence from now on, in place of the length the model was
        saved with: ``--max_length`` on a trained model. A shorter limit needs less memory and cuts long sentences
        (their cut words are counted, as ever); the weights do not depend on it."""
        import dataclasses

        self.config = dataclasses.replace(self.config, max_length=max_length)  # validated as model.max_length is
        self.encoder.max_length = max_length

    def save(self, directory: str | Path) -> Path:
        """Write weights (safetensors), config, label maps and tokenizer files into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        save_model(self, str(directory / WEIGHTS))
        encoder = self.encoder.backbone.config.to_dict()
        # transformers records the absolute path it loaded from; it would make the saved model (and its
        # DVC hash) depend on where the repository lives. config.backbone already names the backbone.
        encoder.pop("_name_or_path", None)
        config = {"format": FORMAT, **self.config.as_saved(), "encoder": encoder}
        (directory / CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        labels = {"sentence": self.config.sentence_labels, "token": self.config.token_labels}
        (directory / LABELS).write_text(json.dumps(labels, indent=2) + "\n")
        self.tokenizer.save_pretrained(str(directory))
        return directory

    @classmethod
    def load(cls, directory: str | Path, device: str | torch.device = "cpu") -> MultiTaskModel:
        """Load a model saved by ``save``; no network and no pickles involved."""
        directory = Path(directory)
        if not (directory / CONFIG).exists():
            raise FileNotFoundError(f"{directory}: not a saved mtl model (no {CONFIG})")
        raw = json.loads((directory / CONFIG).read_text())
        if raw.pop("format", None) != FORMAT:
            raise ValueError(f"{directory / CONFIG}: unknown format (expected {FORMAT})")
        labels = json.loads((directory / LABELS).read_text())
        encoder_config = raw.pop("encoder")
        config = ModelConfig.from_saved(raw, labels["sentence"], labels["token"])
        quiet_transformers()
        model = cls(config, backbone_from_config(encoder_config), tokenizer_at(str(directory)))
        load_model(model, str(directory / WEIGHTS), device=str(device))
        # the exported ONNX graphs, if built, sit beside the weights (``mtl.runtime.engines``)
        model.encoder.onnx_dir = directory
        return model.eval()
