"""What each DVC stage does, as library functions; ``stages/*.py`` only read params and call these.

Paths are fixed here and in dvc.yaml, and nowhere else. Each stage writes its outputs atomically
(temporary name, then rename), so a failed run never leaves a half-written output behind.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from pathlib import Path

import mlflow
import pandas as pd
from transformers import AutoTokenizer

from mtl.backbones import resolve_backbone
from mtl.config import AlignConfig, ExportConfig, ModelParams, PrepareConfig
from mtl.evaluation import evaluate_table, headline
from mtl.files import replace_dir, write_atomic, write_json
from mtl.model import ModelConfig, MultiTaskModel
from mtl.pipeline import align_tables, by_role, label_sets, prepare_example, prepare_real, read_tables, write_tables
from mtl.plots import confusion_matrix_png, learning_curves_png, per_entity_f1_png
from mtl.train import EpochResult, TrainConfig, train

log = logging.getLogger("mtl")

PREPARED = Path("data/prepared")
ALIGNED = Path("data/aligned")
ALIGNED_LABELS = ALIGNED / "labels.json"
MODEL_DIR = Path("models/mtl")
RUN_REF = Path("models/mlflow_run.json")
REGISTERED = Path("models/registered.json")
ALIGN_REPORT = Path("metrics/align.json")
HISTORY = Path("metrics/history.csv")
METRICS = Path("metrics/metrics.json")
PLOTS = Path("plots")


def prepare(source: str, cfg: PrepareConfig, out: Path = PREPARED) -> dict[str, pd.DataFrame]:
    """Write the ``example`` or ``real`` tables as ``out/<source>/<dataset>/<split>.parquet``."""
    tables = prepare_example(cfg.example_n, cfg.seed) if source == "example" else prepare_real(cfg)
    replace_dir(out / source, lambda tmp: write_tables(tables, tmp))
    for name, table in tables.items():
        log.info("prepared %s: %d sentences", name, len(table))
    return tables


def align(cfg: AlignConfig, model: ModelParams) -> dict:
    """Tokenise and align the prepared ``cfg.data`` tables for ``model.name``; returns the truncation report."""
    tokenizer = AutoTokenizer.from_pretrained(resolve_backbone(model.name))
    encoded, reports = align_tables(read_tables(PREPARED / cfg.data), tokenizer, cfg.data, cfg.strategy, model.max_length)
    sentence_labels, token_labels = label_sets(cfg.data)
    labels = {"source": cfg.data, "strategy": cfg.strategy, "sentence": sentence_labels, "token": token_labels}

    def fill(tmp: Path) -> None:
        write_tables(encoded, tmp)
        (tmp / ALIGNED_LABELS.name).write_text(json.dumps(labels, indent=2) + "\n")

    replace_dir(ALIGNED, fill)
    report = {name: r.as_dict() for name, r in reports.items()}
    write_json(ALIGN_REPORT, report)
    for name, r in reports.items():
        if r.truncated_words:
            log.warning("%s: %d words in %d sentences cut off by max_length=%d", name, r.truncated_words, r.truncated_sentences, r.max_length)
    return report


def history_row(result: EpochResult) -> dict[str, float]:
    """One epoch as a flat row for metrics/history.csv (and the learning-curve plot)."""
    from mtl.tracking import epoch_metrics

    return {"epoch": result.epoch, **{k: round(v, 6) for k, v in epoch_metrics(result).items()}}


def train_model(model_params: ModelParams, cfg: TrainConfig, logged_params: dict, experiment: str | None = None) -> dict:
    """Train on the aligned tables inside a new MLflow run; saves the model, the history and the run's id."""
    from mtl import tracking

    labels = json.loads(ALIGNED_LABELS.read_text())
    tables = read_tables(ALIGNED)
    config = ModelConfig(
        backbone=model_params.name,
        sentence_labels=labels["sentence"],
        token_labels=labels["token"],
        pooling=model_params.pooling,
        max_length=model_params.max_length,
        dropout=model_params.dropout,
        alignment=labels["strategy"],
    )
    model = MultiTaskModel.from_backbone(config, seed=cfg.seed)
    tracking.configure()
    experiment_id = tracking.ensure_experiment(experiment or tracking.EXPERIMENT)
    history: list[dict] = []
    # a DVC experiment's name doubles as the run's name, so the MLflow UI and `dvc exp show` agree
    with mlflow.start_run(experiment_id=experiment_id, run_name=os.environ.get("DVC_EXP_NAME"), tags=tracking.run_tags()) as run:
        mlflow.log_params(tracking.flatten(logged_params))

        def on_epoch_end(result: EpochResult) -> None:
            tracking.log_epoch(result)
            history.append(history_row(result))

        result = train(model, by_role(tables, "train"), by_role(tables, "validation"), cfg, on_epoch_end, log=log.info)
        mlflow.log_metrics({"best_epoch": result.best_epoch, "best_val_score": result.best_score})
        for component, counts in result.parameters.items():
            mlflow.log_params({f"params.{component}.{k}": v for k, v in counts.items()})
        replace_dir(MODEL_DIR, model.save)
        write_history(history, HISTORY)
        tracking.write_run_ref(RUN_REF, run.info.run_id, experiment_id)
    return {"run_id": run.info.run_id, "best_epoch": result.best_epoch, "best_score": result.best_score}


def write_history(rows: list[dict], path: Path) -> None:
    """Per-epoch rows as CSV (``dvc plots`` reads it)."""
    columns = list(dict.fromkeys(k for row in rows for k in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(path, lambda tmp: tmp.write_text(buffer.getvalue()))


def read_history(path: Path = HISTORY) -> list[dict]:
    """The rows of metrics/history.csv with numbers parsed."""
    with open(path) as handle:
        return [{k: float(v) if v else float("nan") for k, v in row.items()} for row in csv.DictReader(handle)]


def evaluate_model(batch_size: int) -> dict:
    """Score validation and test sets; write metrics.json and PNG plots, and log both to the pipeline's run."""
    from mtl import tracking
    from mtl.evaluation import served_entity_metrics

    model = MultiTaskModel.load(MODEL_DIR)
    tables = read_tables(ALIGNED)
    metrics: dict[str, dict] = {}
    plots: list[Path] = []
    for name, table in tables.items():
        dataset, split = name.split("/")
        if split == "train":
            continue
        result = evaluate_table(model, table, batch_size)
        entry = {k: round(v, 6) for k, v in headline(result).items()}
        if "token" in result:
            entry["per_type_f1"] = {k: round(v["f1"], 6) for k, v in result["token"]["per_type"].items()}
            entry["truncated_words"] = result["token"]["truncated_words"]
            # the same sentences as a user sends them: joined plain text, entities matched by character span
            entry["served_entity_f1"] = round(served_entity_metrics(model, table, batch_size)["f1"], 6)
            plots.append(per_entity_f1_png(result["token"]["per_type"], PLOTS / f"entity_f1_{dataset}_{split}.png", f"{dataset} {split}: entity scores"))
        if "sentence" in result:
            s = result["sentence"]
            plots.append(confusion_matrix_png(s["confusion_matrix"], s["labels"], PLOTS / f"confusion_{dataset}_{split}.png", f"{dataset} {split}: sentence labels"))
        metrics.setdefault(dataset, {})[split] = entry
    if HISTORY.exists():
        plots.append(learning_curves_png(read_history(HISTORY), PLOTS / "learning_curves.png"))
    write_json(METRICS, metrics)
    tracking.configure()
    with mlflow.start_run(run_id=tracking.read_run_ref(RUN_REF)):
        flat = {k.replace(".per_type_f1.", ".f1_"): v for k, v in tracking.flatten(metrics).items()}
        mlflow.log_metrics({k.replace(".", "_"): float(v) for k, v in flat.items()})
        mlflow.log_artifact(str(METRICS), "metrics")
        for plot in plots:
            mlflow.log_artifact(str(plot), "plots")
    return metrics


def gate_scores(metrics: dict) -> dict[str, float]:
    """The validation scores the gate compares: best sentence accuracy and entity F1 over the data sets."""
    scores: dict[str, float] = {}
    for splits in metrics.values():
        validation = splits.get("validation", {})
        for key in ("sentence_accuracy", "entity_f1"):
            if key in validation:
                scores[key] = max(scores.get(key, 0.0), validation[key])
    return scores


def export_model(cfg: ExportConfig) -> dict:
    """Log the model as an MLflow pyfunc, register it, and move ``champion`` to it only if it passes the gate."""
    from mtl import tracking
    from mtl.serving import log_pyfunc

    metrics = json.loads(METRICS.read_text())
    scores = gate_scores(metrics)
    thresholds = {"sentence_accuracy": cfg.gate.sentence_accuracy, "entity_f1": cfg.gate.entity_f1}
    failures = [
        f"{key} {scores.get(key, float('nan')):.4f} < {minimum}" for key, minimum in thresholds.items() if not scores.get(key, 0.0) >= minimum
    ]
    tracking.configure()
    with mlflow.start_run(run_id=tracking.read_run_ref(RUN_REF)) as run:
        mlflow.log_params({f"export.gate.{k}": v for k, v in thresholds.items()})
        info = log_pyfunc(MODEL_DIR, registered_model_name=cfg.model_name)
        version = str(info.registered_model_version)
        alias = "challenger" if failures else "champion"
        tracking.set_alias(cfg.model_name, version, alias)
        mlflow.set_tag("registered_model", f"{cfg.model_name}@{alias} (version {version})")
    record = {
        "model_name": cfg.model_name,
        "version": version,
        "alias": alias,
        "model_uri": f"models:/{cfg.model_name}@{alias}",
        "run_id": run.info.run_id,
        "gate": {"thresholds": thresholds, "scores": scores, "passed": not failures, "failures": failures},
    }
    write_json(REGISTERED, record)
    if failures:
        log.warning("version %s of %s is @challenger: the gate failed (%s)", version, cfg.model_name, "; ".join(failures))
    else:
        log.info("version %s of %s is now @champion", version, cfg.model_name)
    return record


def stage_main(body) -> None:
    """Run a stage's ``body()``; a known user error ends it with one clear line instead of a traceback."""
    import sys

    from mtl.config import ParamsError
    from mtl.data import DataError
    from mtl.encoder import quiet_transformers

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    quiet_transformers()
    try:
        body()
    except (ParamsError, DataError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
