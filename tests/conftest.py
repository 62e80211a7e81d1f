"""Shared fixtures: a tiny randomly initialised BERT with the real MiniLM tokenizer, built once per session."""

from __future__ import annotations

import os
from pathlib import Path

# Set before transformers / huggingface_hub are imported: they read these once, at import.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")
# Tests are offline: never wait on Hub retries (every model they load is local).
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest  # noqa: E402
import torch  # noqa: E402
from transformers import AutoTokenizer, BertConfig, BertModel  # noqa: E402

from mtl.backbones import resolve_backbone  # noqa: E402
from mtl.encoder import quiet_transformers  # noqa: E402
from mtl.model import ModelConfig, MultiTaskModel  # noqa: E402

torch.set_num_threads(2)

REPO = Path(__file__).resolve().parents[1]
RAW_DIR = Path(os.environ.get("MTL_RAW_DIR", REPO.parent / "shared" / "data"))
EXAMPLE_SENTENCE = ["Technology", "Weather", "Other"]
EXAMPLE_TOKENS = ["O", "B-TECH", "I-TECH", "B-WEATHER", "I-WEATHER"]


@pytest.fixture(scope="session")
def tokenizer():
    """The real all-MiniLM-L6-v2 word-piece tokenizer (from the locally installed package)."""
    quiet_transformers()
    return AutoTokenizer.from_pretrained(resolve_backbone("sentence-transformers/all-MiniLM-L6-v2"))


@pytest.fixture(scope="session")
def tiny_bert_config(tokenizer) -> BertConfig:
    """A 2-layer, 32-wide BERT config over the MiniLM vocabulary."""
    return BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )


@pytest.fixture(scope="session")
def make_tiny_model(tokenizer, tiny_bert_config):
    """Factory for fresh tiny multi-task models (same seed, same weights) with chosen options."""

    def make(pooling: str = "mean", max_length: int = 64, sentence_labels=None, token_labels=None, seed: int = 0) -> MultiTaskModel:
        torch.manual_seed(seed)
        config = ModelConfig(
            backbone="tiny-random-bert",
            sentence_labels=list(sentence_labels or EXAMPLE_SENTENCE),
            token_labels=list(token_labels or EXAMPLE_TOKENS),
            pooling=pooling,
            max_length=max_length,
        )
        return MultiTaskModel(config, BertModel(tiny_bert_config), tokenizer).eval()

    return make


@pytest.fixture(scope="session")
def tiny_model(make_tiny_model) -> MultiTaskModel:
    """One shared tiny model; tests that change it must use ``make_tiny_model`` instead."""
    return make_tiny_model()


@pytest.fixture(scope="session")
def raw_dir() -> Path:
    """The real data directory; tests that need it skip when it is absent."""
    if not (RAW_DIR / "sst2").is_dir():
        pytest.skip(f"real data not found in {RAW_DIR}")
    return RAW_DIR
