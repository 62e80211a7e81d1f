"""The full-data results table: collect the source runs from MLflow, then render the README's table.

    .venv/bin/python experiments/results.py collect full-mtl full-sentence-only full-token-only
    .venv/bin/python experiments/results.py table

``collect NAME...`` finds the newest pipeline run whose ``dvc_exp_name`` tag is NAME (experiment
``mtl-pipeline``) and writes ``experiments/results/NAME.json``: its ``metrics/scores.json`` artifact
plus a ``training`` block (run id, git commit, epochs, training seconds, sentences per second, the
train params). The Hugging Face peers write the same shape themselves (``experiments/hf_peer.py``).

``table`` renders every training result under ``experiments/results/`` (a JSON with a ``training``
block) as one markdown table, in ``ROWS`` order.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "experiments" / "results"
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

# file stem -> what the table calls it; stems not listed here come after these, by name
ROWS = {
    "full-mtl": "**multi-task (ours)**",
    "full-mtl-seed43": "multi-task, seed 43",
    "full-mtl-token-w0.5": "multi-task, token loss weight 0.5",
    "full-sentence-only": "sentence-only (ours, token weight 0)",
    "full-sentence-only-seed43": "sentence-only, seed 43",
    "full-token-only": "token-only (ours, sentence weight 0)",
    "hf-sst2": "HF peer: `run_glue` recipe",
    "hf-conll": "HF peer: `run_ner` recipe",
}
ENTITY_TYPES = ("PER", "LOC", "ORG", "MISC")


def collect(name: str, experiment: str = "mtl-pipeline") -> dict:
    """The metrics and training facts of the newest pipeline run tagged ``dvc_exp_name = name``."""
    import mlflow
    from mlflow.tracking import MlflowClient

    from mtl import tracking

    tracking.configure(REPO)
    client = MlflowClient()
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise SystemExit(f"no MLflow experiment {experiment!r} in {mlflow.get_tracking_uri()}")
    runs = client.search_runs(
        [found.experiment_id], filter_string=f"tags.dvc_exp_name = '{name}'", order_by=["attributes.start_time DESC"], max_results=1
    )
    if not runs:
        raise SystemExit(f"no run tagged dvc_exp_name={name!r} in experiment {experiment!r}")
    run = runs[0]
    with tempfile.TemporaryDirectory() as tmp:
        metrics = json.loads(Path(client.download_artifacts(run.info.run_id, "metrics/scores.json", tmp)).read_text())
    epochs = client.get_metric_history(run.info.run_id, "train_loss")
    speed = [m.value for m in client.get_metric_history(run.info.run_id, "sentences_per_second")]
    seconds = [m.value for m in client.get_metric_history(run.info.run_id, "train_seconds")]
    if seconds:
        train_seconds, source = sum(seconds), "training steps (train_seconds per epoch)"
    else:  # runs logged before train_seconds existed: run start to the last epoch, validation included
        train_seconds = (max(m.timestamp for m in epochs) - run.info.start_time) / 1000
        source = "run start to last epoch logged (includes model loading and per-epoch validation)"
    params = run.data.params
    training = {
        "run_id": run.info.run_id,
        "dvc_exp_name": name,
        "git_commit": run.data.tags.get("git_commit"),
        "epochs": len(epochs),
        "best_epoch": int(run.data.metrics.get("best_epoch", len(epochs))),
        "train_seconds": round(train_seconds, 1),
        "train_seconds_source": source,
        "sentences_per_second": round(sum(speed) / len(speed), 1) if speed else None,
        "settings": {k: v for k, v in sorted(params.items()) if k.startswith(("train.", "model.", "align.", "prepare."))},
    }
    return {**metrics, "training": training}


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def table(results: dict[str, dict]) -> str:
    """One markdown row per result: SST-2 accuracy, CoNLL F1 (validation, test, test per type), time."""
    header = ["run", "SST-2 val acc", "CoNLL val F1", "CoNLL test F1", *(f"test {t}" for t in ENTITY_TYPES), "train time", "sent/s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    order = [s for s in ROWS if s in results] + sorted(s for s in results if s not in ROWS)
    for stem in order:
        result = results[stem]
        sst2 = result.get("sst2", {}).get("validation", {})
        conll = result.get("conll2003", {})
        # a single-task run of ours still scores the other head, untrained: that column is not a result
        weights = {k: float(v) for k, v in result["training"].get("settings", {}).items() if k.startswith("train.task_weights.")}
        if weights.get("train.task_weights.sentence", 1.0) == 0:
            sst2 = {}
        if weights.get("train.task_weights.token", 1.0) == 0:
            conll = {}
        test = conll.get("test", {})
        training = result["training"]
        minutes = training["train_seconds"] / 60
        cells = [
            ROWS.get(stem, stem),
            _fmt(sst2.get("sentence_accuracy")),
            _fmt(conll.get("validation", {}).get("entity_f1")),
            _fmt(test.get("entity_f1")),
            *(_fmt(test.get("per_type_f1", {}).get(t)) for t in ENTITY_TYPES),
            f"{minutes:.1f} min",
            f"{training['sentences_per_second']:.0f}" if training.get("sentences_per_second") else "–",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    collect_cmd = sub.add_parser("collect", help="write experiments/results/NAME.json from the MLflow run of each DVC experiment")
    collect_cmd.add_argument("names", nargs="+", help="DVC experiment names (the runs' dvc_exp_name tag)")
    sub.add_parser("table", help="print the markdown results table")
    args = parser.parse_args()
    if args.command == "collect":
        RESULTS.mkdir(parents=True, exist_ok=True)
        for name in args.names:
            path = RESULTS / f"{name}.json"
            path.write_text(json.dumps(collect(name), indent=2, sort_keys=True) + "\n")
            print(f"wrote {path.relative_to(REPO)}")
    else:
        loaded = {p.stem: json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"))}
        results = {stem: r for stem, r in loaded.items() if "training" in r}  # not e.g. precision.json
        if not results:
            raise SystemExit(f"no results in {RESULTS}: run experiments/full_data.sh first")
        print(table(results))


if __name__ == "__main__":
    main()
