"""Train a tiny model on tiny data and save its final weights: run by test_distributed.py, alone or under torchrun.

    python tests/distributed_train.py OUT.safetensors
    torchrun --standalone --nproc_per_node 2 tests/distributed_train.py OUT.safetensors

Both runs see the same global batches; what must hold for them to end with the same weights:
- no dropout (each rank would draw its own masks): BERT's and the heads' dropout are 0;
- every global batch splits into equal shares with equally many labelled items, so the mean of the
  ranks' mean losses is the global batch's mean loss: all training rows have the same length and the
  same number of tagged words, and every set's size is a multiple of the global batch.
"""

from __future__ import annotations

import os
import sys
from collections import Counter

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from transformers import AutoTokenizer, BertConfig, BertModel  # noqa: E402

from mtl.config.model import ModelConfig  # noqa: E402
from mtl.config.params import TrainConfig  # noqa: E402
from mtl.data.align import align_tables  # noqa: E402
from mtl.data.sources import label_sets, prepare_example  # noqa: E402
from mtl.data.tables import by_role  # noqa: E402
from mtl.model.backbones import quiet_transformers, resolve_backbone  # noqa: E402
from mtl.model.multitask import MultiTaskModel  # noqa: E402
from mtl.text.alignment import IGNORE  # noqa: E402
from mtl.training import distributed  # noqa: E402
from mtl.training.loop import train  # noqa: E402

GLOBAL_BATCH = 8
SENTENCE_ROWS = 16  # two global batches of a sentence-only set
TOKEN_ROWS = 24  # three global batches of a token-only set


def tiny_sets(tokenizer):
    """A sentence-only and a token-only training set of identically shaped rows, and a validation set."""
    encoded, _ = align_tables(prepare_example(600, 0), tokenizer, label_sets("example"), "first", 48)
    table = by_role(encoded, "train")["example"]
    shape = [(len(ids), sum(label != IGNORE for label in labels)) for ids, labels in zip(table["input_ids"], table["token_labels"])]
    common = Counter(shape).most_common(1)[0][0]
    same = table[[s == common for s in shape]].reset_index(drop=True)
    assert len(same) >= SENTENCE_ROWS + TOKEN_ROWS, f"only {len(same)} rows of shape {common}"
    sentences = same.iloc[:SENTENCE_ROWS].copy()
    sentences["token_labels"] = [[IGNORE] * len(t) for t in sentences["token_labels"]]
    tokens = same.iloc[SENTENCE_ROWS : SENTENCE_ROWS + TOKEN_ROWS].copy()
    tokens["sentence_label_id"] = IGNORE
    return {"sentences": sentences, "tokens": tokens}, by_role(encoded, "validation")


def main(out: str) -> None:
    torch.set_num_threads(1)
    quiet_transformers()
    tokenizer = AutoTokenizer.from_pretrained(resolve_backbone("sentence-transformers/all-MiniLM-L6-v2"))
    bert = BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )
    torch.manual_seed(0)
    sentence_labels, token_labels = label_sets("example")
    config = ModelConfig(name="tiny-random-bert", sentence_labels=sentence_labels, token_labels=token_labels, max_length=48, dropout=0.0)
    model = MultiTaskModel(config, BertModel(bert), tokenizer)
    train_sets, validation_sets = tiny_sets(tokenizer)
    cfg = TrainConfig(epochs=2, batch_size=GLOBAL_BATCH, learning_rate=1e-3, head_learning_rate=1e-2, warmup_ratio=0.0, seed=7, group_by_length=False)
    weights: dict[str, torch.Tensor] = {}

    def snapshot(epoch) -> None:
        # every epoch's end, not only the kept (best) epoch: all steps must agree
        weights.update({f"epoch{epoch.epoch}.{k}": v.detach().clone() for k, v in model.state_dict().items()})

    result = train(model, train_sets, validation_sets, cfg, on_epoch_end=snapshot)
    if distributed.is_main():
        weights.update({f"kept.{k}": v.detach().clone() for k, v in model.state_dict().items()})
        save_file({k: v.contiguous() for k, v in weights.items()}, out)
        print(f"world {distributed.world_size()}: best epoch {result.best_epoch}, score {result.best_score:.6f}, losses "
              + " ".join(f"{e.train_loss:.6f}" for e in result.history))


if __name__ == "__main__":
    main(sys.argv[1])
