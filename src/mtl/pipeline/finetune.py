"""``mtl fine-tune`` as a library function: the pipeline in one process (align, train, score, save, track, register).

The run goes to experiment ``mtl-cli`` (not the pipeline's ``mtl-pipeline``), tagged with the saved model's
directory, so the app can list every CLI model from MLflow and the project's ``models/`` folder. It is scored
and logged as the pipeline's evaluate stage scores and logs (``score_tables``, ``score_metrics``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, is_dataclass
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient

from mtl.config.params import TrainConfig
from mtl.data.align import align_tables
from mtl.data.splits import selection_sets
from mtl.data.tables import by_role, selection_fingerprints
from mtl.evaluation.evaluate import score_tables
from mtl.model.multitask import MultiTaskModel
from mtl.registry.gate import selection_scores
from mtl.registry.promotion import gate_version
from mtl.registry.pyfunc import code_hash, log_pyfunc, scoring_hash
from mtl.registry.rescoring import rescore
from mtl.registry.versions import CODE_TAG
from mtl.tracking.metrics import headline_metrics, log_epoch, score_metrics
from mtl.tracking.runs import CLI_EXPERIMENT, MODEL_DIR_TAG, SOURCE_TAG, flatten, git_commit
from mtl.tracking.store import configure, ensure_experiment
from mtl.training import distributed
from mtl.training.loop import train


def plain(value: object) -> object:
    """A config object (dataclass or pydantic model) as nested dicts, for MLflow params."""
    if is_dataclass(value) and not isinstance(value, type):
        return {k: plain(v) for k, v in asdict(value).items()}
    if hasattr(value, "model_dump"):
        return {k: plain(v) for k, v in value.model_dump().items()}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def fine_tune(
    model: MultiTaskModel,
    tables: dict[str, pd.DataFrame],
    cfg: TrainConfig,
    output_dir: str | Path,
    register: str | None = None,
    run_name: str | None = None,
    root: str | Path = ".",
    extra_params: dict | None = None,
    log: Callable[[str], None] = print,
    thresholds: Mapping[str, float] | None = None,
    tolerance: float = 0.0,
) -> dict:
    """Align ``tables`` (``<dataset>/<split>``), train ``model`` in a new MLflow run, save it to ``output_dir``.

    The run records params, per-epoch metrics (``mtl.tracking.metrics.log_epoch``), every split's scores but
    train's (``score_metrics``: selection and held-out splits alike) and the model directory; with ``register``
    the model is also logged as a pyfunc, registered under that name and judged by the same gate as the
    pipeline's export (``thresholds``, ``tolerance``; ``mtl.registry.promotion``): it takes ``@champion`` only
    if it passes. Returns the run id, those scores (flat, as logged) and, when registered, the version and the
    gate's outcome.
    """
    config = model.config
    encoded, reports = align_tables(tables, model.tokenizer, (config.sentence_labels, config.token_labels), config.alignment, config.max_length)
    for name, report in reports.items():
        if report.truncated_words:
            log(f"{name}: {report.truncated_words} words in {report.truncated_sentences} sentences cut by max_length={config.max_length}")
    if distributed.init_from_env() and not distributed.is_main():
        # under torchrun the other ranks train along; rank 0 alone tracks the run and writes the model
        train(model, by_role(encoded, "train"), selection_sets(encoded), cfg, log=log)
        return {"run_id": None, "model_dir": None, "metrics": {}}
    configure(root)
    experiment_id = ensure_experiment(CLI_EXPERIMENT, root)
    output_dir = Path(output_dir).resolve()
    tags = {SOURCE_TAG: "cli", MODEL_DIR_TAG: str(output_dir), "mtl.data_source": config.data_source}
    commit = git_commit(root)
    if commit:
        tags["git_commit"] = commit
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=tags) as run:
        model_params = {k: v for k, v in plain(config).items() if k not in ("sentence_labels", "token_labels", "extra")}
        params = {"train": plain(cfg), "model": model_params, **(extra_params or {})}
        mlflow.log_params(flatten(params))
        result = train(model, by_role(encoded, "train"), selection_sets(encoded), cfg, log_epoch, log=log)
        mlflow.log_metrics({"best_epoch": result.best_epoch, "best_val_score": result.best_score})
        model.save(output_dir)
        scores, _ = score_tables(model, encoded, cfg.eval_batch_size)
        metrics = score_metrics(scores)
        mlflow.log_metrics(metrics)
        mlflow.log_metrics(headline_metrics(scores))
        outcome = {"run_id": run.info.run_id, "model_dir": str(output_dir), "metrics": metrics}
        if register:
            info = log_pyfunc(output_dir, registered_model_name=register)
            version = str(info.registered_model_version)
            MlflowClient().set_model_version_tag(register, version, CODE_TAG, code_hash())
            gated = gate_version(
                register, version, selection_scores(scores), selection_fingerprints(tables), thresholds or {}, tolerance,
                by="mtl fine-tune", rescore=lambda champion: rescore(register, champion, tables), scoring=scoring_hash(),
            )
            outcome.update(version=version, gate=gated)
            mlflow.set_tag("registered_model", f"{register} version {version}")
    return outcome
