"""What each runtime and precision costs in accuracy and gains in speed, on both tasks, for one trained model.

Scores the model on every validation and test table the pipeline aligned (``data/aligned``) under each
setting: PyTorch float32 (the reference), PyTorch bf16 autocast, the float32 ONNX graph and the int8
ONNX graph (``mtl.runtime.engines``). The passes alternate and are timed; it prints the task metrics with their
change from float32, how often each setting agrees with float32 (sentence argmax, word tags, embedding
cosine), and the speed, and writes them as JSON. A model directory without ONNX graphs gets them built
into a temporary copy first (``mtl.inference.onnx``); a registered MLflow model carries its own.

    .venv/bin/python experiments/precision.py --model "models:/mtl-pipeline@champion" \\
        --out experiments/results/precision.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))


def load(model: str):
    """A MultiTaskModel from a directory or from an MLflow model URI (``models:/name@alias``, ``runs:/...``)."""
    from mtl.model.multitask import MultiTaskModel

    if Path(model).is_dir():
        return MultiTaskModel.load(model)
    from mtl.registry.loading import load_registered
    from mtl.tracking.store import configure

    configure(REPO)
    return load_registered(model)


SETTINGS: dict[str, dict[str, str]] = {
    "fp32": {"runtime": "torch", "precision": "fp32"},
    "bf16": {"runtime": "torch", "precision": "bf16"},
    "onnx": {"runtime": "onnx", "precision": "fp32"},
    "onnx-int8": {"runtime": "onnx-int8", "precision": "fp32"},
}


def with_graphs(model, graphs: tempfile.TemporaryDirectory) -> None:
    """Build the ONNX graphs into ``graphs`` and attach them, unless the model already has them beside it."""
    from mtl.inference.onnx import build_onnx
    from mtl.runtime.engines import ONNX_FILES, attach_onnx

    directory = model.encoder.onnx_dir
    if directory is not None and all((Path(directory) / name).is_file() for name in ONNX_FILES.values()):
        return
    model.save(graphs.name)
    report = build_onnx(graphs.name)
    attach_onnx(model, graphs.name)
    print(f"built the ONNX graphs in {sum(r['seconds'] for r in report.values()):.0f} s (no graphs beside the model)")


def agreement(reference, other) -> dict[str, float]:
    """How often ``other`` gives what float32 PyTorch gives: sentence argmax, word tags, embedding cosine."""
    import numpy as np

    same_label = float(np.mean(reference.sentence_probs.argmax(1) == other.sentence_probs.argmax(1)))
    words = [(a, b) for ra, rb in zip(reference.word_tag_ids, other.word_tag_ids) for a, b in zip(ra, rb)]
    cosines = np.sum(reference.embeddings * other.embeddings, axis=1)  # both L2-normalised
    return {
        "sentence_argmax_equal": same_label,
        "word_tags_equal": float(np.mean([a == b for a, b in words])),
        "embedding_min_cosine": float(cosines.min()),
        "embedding_mean_cosine": float(cosines.mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--model", default="models:/mtl-pipeline@champion", help="model directory or MLflow model URI")
    parser.add_argument("--aligned", type=Path, default=REPO / "data" / "aligned", help="the align stage's output")
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS), help="what to compare (fp32 always runs)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=1, help="timed passes per setting (alternating)")
    parser.add_argument("--limit", type=int, default=None, help="rows per table (first N), for a quick check; default all")
    parser.add_argument("--out", type=Path, default=None, help="result JSON")
    args = parser.parse_args()

    import numpy as np
    import torch

    from mtl.data.tables import read_tables
    from mtl.evaluation.evaluate import headline, score_rows, served_entity_metrics, table_rows
    from mtl.inference.predict import RowPredictions

    model = load(args.model)
    tables = {name: t.head(args.limit) for name, t in read_tables(args.aligned).items() if not name.endswith("/train")}
    if not tables:
        raise SystemExit(f"no validation or test tables under {args.aligned}: run `dvc repro align` first")
    names = list(dict.fromkeys(["fp32", *args.settings]))
    graphs = tempfile.TemporaryDirectory(prefix="mtl-precision-onnx-")
    if any(SETTINGS[n]["runtime"] != "torch" for n in names):
        with_graphs(model, graphs)
    scores: dict[str, dict[str, dict]] = {n: {} for n in names}
    rows: dict[str, dict] = {n: {} for n in names}
    seconds: dict[str, list[float]] = {n: [] for n in names}
    n_rows = sum(len(t) for t in tables.values())
    for table in tables.values():  # warm-up: kernels, oneDNN's per-shape primitives, ORT's arena
        for n in names:
            table_rows(model, table.head(256), args.batch_size, **SETTINGS[n])
    for r in range(args.repeats):
        for n in names if r % 2 == 0 else names[::-1]:
            started = time.perf_counter()
            for name, table in tables.items():
                rows[n][name] = table_rows(model, table, args.batch_size, return_embeddings=True, **SETTINGS[n])
            seconds[n].append(time.perf_counter() - started)
    for n in names:
        for name, table in tables.items():
            scores[n][name] = headline(score_rows(model, table, rows[n][name]))
            # what a user of the served model gets: plain text in, entities by character span (not timed)
            served = served_entity_metrics(model, table, args.batch_size, **SETTINGS[n])
            if served is not None:
                scores[n][name]["served_entity_f1"] = served["f1"]

    base = statistics.median(seconds["fp32"])
    print(f"model {args.model}; {n_rows} sentences in {len(tables)} tables; threads {torch.get_num_threads()}")
    print(f"{'table / metric':48} " + " ".join(f"{n:>9}" for n in names) + "   (change from fp32)")
    deltas: dict[str, dict[str, float]] = {n: {} for n in names if n != "fp32"}
    for name in tables:
        for metric, value in scores["fp32"][name].items():
            cells = [f"{value:9.4f}"]
            for n in names[1:]:
                other = scores[n][name][metric]
                deltas[n][f"{name}/{metric}"] = other - value
                cells.append(f"{other:9.4f}")
            changes = ", ".join(f"{n} {deltas[n][f'{name}/{metric}']:+.4f}" for n in names[1:])
            print(f"{name + ' ' + metric:48} " + " ".join(cells) + f"   ({changes})")
    def joined(setting: str) -> RowPredictions:
        """One setting's predictions over all tables, as one set of rows."""
        parts = [rows[setting][name] for name in tables]
        tags = [t for p in parts for t in p.word_tag_ids]
        return RowPredictions(
            np.concatenate([p.sentence_probs for p in parts]), tags, [], [], np.concatenate([p.embeddings for p in parts])
        )

    agree: dict[str, dict[str, float]] = {}
    for n in names[1:]:
        agree[n] = a = agreement(joined("fp32"), joined(n))
        print(
            f"agreement with fp32, {n}: sentence argmax {a['sentence_argmax_equal']:.2%}, word tags {a['word_tags_equal']:.3%}, "
            f"embedding cosine min {a['embedding_min_cosine']:.6f} / mean {a['embedding_mean_cosine']:.6f}"
        )
    speed = ", ".join(
        f"{n} {statistics.median(seconds[n]):.1f}s ({n_rows / statistics.median(seconds[n]):.0f}/s, {base / statistics.median(seconds[n]):.2f}x)"
        for n in names
    )
    print(f"time (both heads, tokenised rows): {speed}")
    graphs.cleanup()
    if args.out:
        result = {
            "model": args.model,
            "sentences": n_rows,
            "settings": {n: SETTINGS[n] for n in names},
            "scores": scores,
            "deltas": deltas,
            "agreement_with_fp32": agree,
            "seconds": seconds,
            "speedup_over_fp32": {n: base / statistics.median(seconds[n]) for n in names},
            "threads": torch.get_num_threads(),
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
