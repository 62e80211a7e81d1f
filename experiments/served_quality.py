"""Served quality against reported quality for one trained model, on CoNLL-2003 test (or another split).

The word-level entity F1 the evaluate stage reports (``evaluate_table``) beside the F1 of the entities
``predict_texts`` finds in each sentence's single-space-joined words, matched by exact character span
and type (``served_entity_metrics``). The pairs of figures in docs/serving.md come from here.

    .venv/bin/python experiments/served_quality.py --model "models:/mtl-pipeline@champion"
    .venv/bin/python experiments/served_quality.py --model models/real/model --split validation
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "experiments"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--model", default="models:/mtl-pipeline@champion", help="model directory or MLflow model URI")
    parser.add_argument("--raw-dir", type=Path, default=REPO.parent / "shared" / "data", help="holds conll2003/{validation,test}.txt")
    parser.add_argument("--split", default="test", choices=("validation", "test"))
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    from precision import load

    from mtl.data.align import align_table
    from mtl.data.raw import load_split
    from mtl.evaluation.evaluate import evaluate_table, served_entity_metrics

    model = load(args.model)
    table = load_split("conll2003", args.split, args.raw_dir)
    encoded, _ = align_table(
        table, model.tokenizer, model.config.sentence_labels, model.config.token_labels, max_length=model.config.max_length
    )
    word_level = evaluate_table(model, encoded, args.batch_size)["token"]
    served = served_entity_metrics(model, encoded, args.batch_size)
    result = {
        "model": args.model,
        "split": f"conll2003/{args.split}",
        "sentences": len(table),
        "word_level_entity_f1": round(word_level["f1"], 6),
        "served_entity_f1": round(served["f1"], 6),
        "served_precision": round(served["precision"], 6),
        "served_recall": round(served["recall"], 6),
        "difference": round(served["f1"] - word_level["f1"], 6),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
