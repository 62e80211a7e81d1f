"""Stage export: log one source's model as an MLflow pyfunc (once per training run), register it, apply the gate.

Re-runnable: a changed gate re-runs only this stage, which reuses the version already registered from the
same training run, records the new verdict as tags (MLflow params are write-once) and moves the aliases.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

from mtl.config.params import GATED_TASK, TASKS, ExportConfig, ParamsError
from mtl.config.paths import Paths
from mtl.config.sources import SourceConfig
from mtl.data.files import dir_hash, write_json
from mtl.data.tables import read_tables, selection_fingerprints
from mtl.model.multitask import LABELS
from mtl.pipeline.stage import log
from mtl.registry import gate, versions
from mtl.registry.promotion import gate_version
from mtl.registry.pyfunc import code_hash, log_pyfunc, scoring_hash
from mtl.registry.rescoring import rescore
from mtl.tracking.runs import find_run
from mtl.tracking.store import configure

# Test hook (documented in the README): set to make export fail right after the model is logged and
# registered, before any alias moves, to check that a failed export leaves @champion where it was.
FAIL_AFTER_LOG = "MTL_TEST_FAIL_EXPORT_AFTER_LOG"


def stamp_path(source: str) -> Path:
    """The export stage's DVC output, ``models/<source>/export.json``: what was registered, with nothing that
    differs between clean runs (no version number, no run id; those are in ``registered.json``). Not cached:
    DVC's run cache would restore a cached output without running the stage (going back to an earlier gate
    would then leave the aliases where they were), so every clone runs export once; it reuses the version.

    Why it exists: a stage without outputs counts as done whenever its deps match dvc.lock, so a fresh clone
    of a committed run, which retrains the same model bit for bit into an empty registry, would skip export
    and register nothing. A missing output makes DVC run it. (Defined here rather than in ``Paths``: only
    this stage writes or reads it.)
    """
    return Path("models") / source / "export.json"


def run(source: str, settings: SourceConfig, cfg: ExportConfig) -> dict:
    """Register ``source``'s model (or reuse its version), decide champion or challenger, write registered.json."""
    paths = Paths(source)
    name = settings.model
    saved = json.loads((paths.model / LABELS).read_text())  # the label sets the model was trained with
    tasks = tuple(task for task in TASKS if saved[task])
    beyond = settings.gate.beyond(tasks)
    if beyond:
        # a threshold on a task the data does not have could never pass: say so instead of never promoting
        raise ParamsError(
            f"params.yaml: sources.{source}.gate.{beyond[0]}: this source's model has no {GATED_TASK[beyond[0]]} task "
            f"(its data has {' and '.join(tasks)} labels only); remove the threshold"
        )
    scores = gate.selection_scores(json.loads(paths.scores.read_text()))
    prepared = read_tables(paths.prepared)
    fingerprints = selection_fingerprints(prepared)
    configure()
    client = MlflowClient()
    model_hash = dir_hash(paths.model)  # reads every weight file: once per run
    training_run = find_run(model_hash)
    run_id = training_run.info.run_id
    code = code_hash()
    version = versions.version_for_run(name, run_id, code)
    reused = version is not None
    if version is None:
        with mlflow.start_run(run_id=run_id):
            info = log_pyfunc(paths.model, registered_model_name=name)
        version = client.get_model_version(name, str(info.registered_model_version))
        client.set_model_version_tag(name, version.version, versions.CODE_TAG, code)
        if os.environ.get(FAIL_AFTER_LOG):
            raise RuntimeError(f"{FAIL_AFTER_LOG} is set: failing after registering version {version.version}")
    thresholds = settings.gate.thresholds(tasks)
    outcome = gate_version(
        name, version.version, scores, fingerprints, thresholds, cfg.tolerance, by=f"export@{source}",
        rescore=lambda champion: rescore(name, champion, prepared), scoring=scoring_hash(),
    )
    decision = outcome.decision
    # tags, not params: a gate change re-runs export, and MLflow params are write-once per run
    client.set_tag(run_id, "gate.passed", str(decision.promote).lower())
    client.set_tag(run_id, "gate.thresholds", json.dumps(thresholds, sort_keys=True))
    client.set_tag(run_id, "gate.tolerance", str(cfg.tolerance))
    client.set_tag(run_id, "registered_model", f"{name} version {version.version}")
    record = {
        "model_name": name,
        "version": str(version.version),
        "alias": outcome.alias,
        "reused_version": reused,
        "model_uri": f"models:/{name}@{outcome.alias}",
        "run_id": run_id,
        "champion_before": outcome.champion_before,
        "gate": {
            "thresholds": thresholds, "tolerance": cfg.tolerance, "kept_champion": outcome.kept,
            "champion_rescored": outcome.champion_rescored, **decision.as_dict(),
        },
    }
    write_json(paths.registered, record)
    write_json(stamp_path(source), {"model_name": name, "model_hash": model_hash, "code_hash": code})
    if decision.promote:
        log.info("%s", outcome.describe(name))
    else:
        log.warning("%s", outcome.describe(name))
    return record
