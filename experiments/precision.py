"""What the opt-in bf16 path costs in accuracy and gains in speed, on both tasks, for one trained model.

Scores the model on every validation and test table the pipeline aligned (``data/aligned``), once in
float32 and once under bfloat16 autocast, alternating and timing each pass; prints the metric deltas
and the speed ratio, and writes them as JSON.

    .venv/bin/python experiments/precision.py --model "models:/mtl-pipeline@champion" \\
        --out experiments/results/precision.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))


def load(model: str):
    """A MultiTaskModel from a directory or from an MLflow model URI (``models:/name@alias``, ``runs:/...``)."""
    from mtl.model import MultiTaskModel

    if Path(model).is_dir():
        return MultiTaskModel.load(model)
    import mlflow

    from mtl import tracking

    tracking.configure(REPO)
    return mlflow.pyfunc.load_model(model).unwrap_python_model().model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--model", default="models:/mtl-pipeline@champion", help="model directory or MLflow model URI")
    parser.add_argument("--aligned", type=Path, default=REPO / "data" / "aligned", help="the align stage's output")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2, help="timed passes per precision (alternating)")
    parser.add_argument("--limit", type=int, default=None, help="rows per table (first N), for a quick check; default all")
    parser.add_argument("--out", type=Path, default=None, help="result JSON")
    args = parser.parse_args()

    import torch

    from mtl.evaluation import evaluate_table, headline
    from mtl.pipeline import read_tables

    model = load(args.model)
    tables = {name: t.head(args.limit) for name, t in read_tables(args.aligned).items() if not name.endswith("/train")}
    if not tables:
        raise SystemExit(f"no validation or test tables under {args.aligned}: run `dvc repro align` first")
    scores: dict[str, dict[str, dict]] = {"fp32": {}, "bf16": {}}
    seconds: dict[str, list[float]] = {"fp32": [], "bf16": []}
    rows = sum(len(t) for t in tables.values())
    for table in tables.values():  # warm-up: kernels and oneDNN's per-shape primitives
        for precision in scores:
            evaluate_table(model, table.head(256), args.batch_size, precision=precision)
    for _ in range(args.repeats):
        for precision in scores:
            started = time.perf_counter()
            for name, table in tables.items():
                scores[precision][name] = headline(evaluate_table(model, table, args.batch_size, precision=precision))
            seconds[precision].append(time.perf_counter() - started)

    fp32_s, bf16_s = statistics.median(seconds["fp32"]), statistics.median(seconds["bf16"])
    print(f"model {args.model}; {rows} sentences in {len(tables)} tables; threads {torch.get_num_threads()}")
    print(f"{'table / metric':48} {'fp32':>8} {'bf16':>8} {'delta':>8}")
    deltas = {}
    for name in tables:
        for metric, value in scores["fp32"][name].items():
            other = scores["bf16"][name][metric]
            deltas[f"{name}/{metric}"] = other - value
            print(f"{name + ' ' + metric:48} {value:8.4f} {other:8.4f} {other - value:+8.4f}")
    print(f"time: fp32 {fp32_s:.1f}s, bf16 {bf16_s:.1f}s, speed-up {fp32_s / bf16_s:.2f}x ({rows / fp32_s:.0f} vs {rows / bf16_s:.0f} sentences/s)")
    if args.out:
        result = {
            "model": args.model,
            "sentences": rows,
            "scores": scores,
            "deltas": deltas,
            "seconds": seconds,
            "speedup": fp32_s / bf16_s,
            "threads": torch.get_num_threads(),
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
