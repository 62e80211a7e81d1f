"""Case feature off vs on, and argmax vs Viterbi decoding of the same model, on CoNLL-2003 validation.

A short, CPU-sized comparison (docs/results.md, "Decoding and the case feature"): MiniLM fine-tuned on
a seeded sample of CoNLL-2003 training sentences (token task only; SST-2 is left out, its head is not
scored), once per ``case_feature`` setting with everything else equal (same seed, same batches: the
zero-initialised case embedding is created after the heads, so both models start from the same
weights). Each trained model is scored on all of CoNLL-2003 **validation** twice, decoded by argmax and
by Viterbi (``mtl.text.decoding``). Test is never read: the defaults are chosen from these figures.

    .venv/bin/python experiments/case_decoding.py --train 1500 --epochs 1 --seeds 42 \\
        --out experiments/results/case-decoding.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))


def scores(model, table) -> dict:
    """Entity F1 (P / R, per type) of ``model`` on ``table`` under each decoding, and argmax's invalid sequences."""
    from mtl.config.options import DECODINGS
    from mtl.evaluation.evaluate import score_rows, table_rows
    from mtl.text.decoding import is_valid

    out = {}
    labels = model.config.token_labels
    for decoding in DECODINGS:
        model.config = dataclasses.replace(model.config, decoding=decoding)
        started = time.perf_counter()
        rows = table_rows(model, table)
        token = score_rows(model, table, rows)["token"]
        tags = [[labels[t] for t in row] for row in rows.word_tag_ids]
        out[decoding] = {
            "entity_f1": round(token["f1"], 4),
            "precision": round(token["precision"], 4),
            "recall": round(token["recall"], 4),
            "per_type_f1": {k: round(v["f1"], 4) for k, v in sorted(token["per_type"].items())},
            "invalid_sentences": sum(not is_valid(t, labels) for t in tags),
            "seconds": round(time.perf_counter() - started, 1),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--raw-dir", type=Path, default=REPO.parent / "shared" / "data", help="holds conll2003/{train,validation}.txt")
    parser.add_argument("--train", type=int, default=1500, help="CoNLL-2003 training sentences (seeded sample)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42], help="training seeds; each trains both settings")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here too")
    args = parser.parse_args()

    import torch

    from mtl.config.model import ModelConfig
    from mtl.config.params import TrainConfig
    from mtl.data.align import align_table
    from mtl.data.raw import load_split
    from mtl.data.readers import CONLL_TAGS, SST2_LABELS
    from mtl.data.tables import sample_rows
    from mtl.model.backbones import MINILM, load_backbone
    from mtl.model.multitask import MultiTaskModel
    from mtl.training.loop import train

    _, tokenizer = load_backbone(MINILM)

    def encoded(table):
        return align_table(table, tokenizer, SST2_LABELS, CONLL_TAGS, max_length=args.max_length)[0]

    conll_train = encoded(sample_rows(load_split("conll2003", "train", args.raw_dir), args.train, seed=0))
    validation = encoded(load_split("conll2003", "validation", args.raw_dir))
    runs = []
    for seed in args.seeds:
        for case_feature in (False, True):
            config = ModelConfig(name=MINILM, sentence_labels=list(SST2_LABELS), token_labels=list(CONLL_TAGS), max_length=args.max_length, case_feature=case_feature)
            model = MultiTaskModel.from_backbone(config, seed=seed)
            cfg = TrainConfig(epochs=args.epochs, seed=seed)  # the pipeline's defaults otherwise (batch 32, lr 1e-4 / 1e-3)
            started = time.perf_counter()
            train(model, {"conll2003": conll_train}, {}, cfg, log=lambda _: None)
            run = {"seed": seed, "case_feature": case_feature, "train_seconds": round(time.perf_counter() - started, 1)}
            run["validation"] = scores(model, validation)
            runs.append(run)
            print(json.dumps(run), flush=True)
    result = {
        "settings": {
            "backbone": MINILM, "train_sentences": len(conll_train), "validation_sentences": len(validation),
            "epochs": args.epochs, "max_length": args.max_length, "torch_threads": torch.get_num_threads(),
        },
        "runs": runs,
    }
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    print("| seed | case_feature | argmax F1 | viterbi F1 | argmax invalid sentences | train s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for run in runs:
        v = run["validation"]
        print(f"| {run['seed']} | {run['case_feature']} | {v['argmax']['entity_f1']:.4f} | {v['viterbi']['entity_f1']:.4f} | "
              f"{v['argmax']['invalid_sentences']} | {run['train_seconds']} |")


if __name__ == "__main__":
    main()
