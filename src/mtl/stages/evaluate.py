"""Stage evaluate: scores per task on every split but train (selection and held-out alike), PNG plots; all logged to the model's MLflow run.

Which split chose and which is held out is ``mtl.splits``' rule (SST-2: dev chose, validation held out;
CoNLL-2003: validation chose, test held out); the summary for ``dvc metrics`` keys them apart.
"""

from __future__ import annotations

from pathlib import Path

import mlflow

from mtl import tracking
from mtl.evaluation import evaluate_table, headline, served_entity_metrics, summary
from mtl.files import dir_hash, replace_dir, write_json
from mtl.model import MultiTaskModel
from mtl.pipeline import read_tables
from mtl.plots import confusion_matrix_png, learning_curves_png, per_entity_f1_png
from mtl.stages import Paths
from mtl.stages.train import read_history


def score_tables(model: MultiTaskModel, tables: dict, batch_size: int) -> tuple[dict[str, dict], dict[str, dict]]:
    """``scores.json``'s content (headline scores and per-type F1 per data set and split) and the full results per table."""
    metrics: dict[str, dict] = {}
    results: dict[str, dict] = {}
    for name, table in tables.items():
        dataset, split = name.split("/")
        if split == "train":
            continue
        result = evaluate_table(model, table, batch_size)
        entry = {k: round(v, 6) for k, v in headline(result).items()}
        if "token" in result:
            entry["per_type_f1"] = {k: round(v["f1"], 6) for k, v in result["token"]["per_type"].items()}
            # the same sentences as a user sends them: joined plain text in, entities matched by character span
            entry["served_entity_f1"] = round(served_entity_metrics(model, table, batch_size)["f1"], 6)
        metrics.setdefault(dataset, {})[split] = entry
        results[name] = result
    return metrics, results


def draw_plots(results: dict[str, dict], history: Path, out: Path) -> list[Path]:
    """Confusion matrices, per-entity scores and learning curves as PNGs in ``out`` (rebuilt whole)."""
    names: list[str] = []

    def fill(tmp: Path) -> None:
        for name, result in results.items():
            dataset, split = name.split("/")
            if "token" in result:
                per_type = result["token"]["per_type"]
                names.append(per_entity_f1_png(per_type, tmp / f"entity_f1_{dataset}_{split}.png", f"{dataset} {split}: entity scores").name)
            if "sentence" in result:
                s = result["sentence"]
                title = f"{dataset} {split}: sentence labels"
                names.append(confusion_matrix_png(s["confusion_matrix"], s["labels"], tmp / f"confusion_{dataset}_{split}.png", title).name)
        if history.exists():
            names.append(learning_curves_png(read_history(history), tmp / "learning_curves.png").name)

    replace_dir(out, fill)
    return [out / name for name in names]


def run(source: str, batch_size: int) -> dict:
    """Score ``source``'s model on every split but train; write scores, the summary and plots; log them all."""
    paths = Paths(source)
    model = MultiTaskModel.load(paths.model)
    scores, results = score_tables(model, read_tables(paths.aligned), batch_size)
    plots = draw_plots(results, paths.history, paths.plots)
    write_json(paths.scores, scores)
    write_json(paths.metrics, summary(scores), sort_keys=False)  # headline first, for `dvc exp show`
    tracking.configure()
    with mlflow.start_run(run_id=tracking.find_run(dir_hash(paths.model)).info.run_id):
        flat = {k.replace(".per_type_f1.", ".f1_"): v for k, v in tracking.flatten(scores).items()}
        mlflow.log_metrics({k.replace(".", "_"): float(v) for k, v in flat.items()})
        mlflow.log_metrics(tracking.headline_metrics(scores))
        for path in (paths.scores, paths.metrics):
            mlflow.log_artifact(str(path), "metrics")
        for plot in plots:
            mlflow.log_artifact(str(plot), "plots")
    return scores
