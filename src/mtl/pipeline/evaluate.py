"""Stage evaluate: scores per task on every split but train (selection and held-out alike), PNG plots, the answer to the
sample sentences; all logged to the model's MLflow run.

Which split chose and which is held out is ``mtl.data.splits``' rule (SST-2: dev chose, validation held out;
CoNLL-2003: validation chose, test held out); the summary for ``dvc metrics`` keys them apart.
"""

from __future__ import annotations

import mlflow

from mtl.config.paths import Paths
from mtl.data.files import dir_hash, write_json
from mtl.data.tables import read_tables
from mtl.evaluation.evaluate import score_tables
from mtl.evaluation.plots import draw_plots
from mtl.evaluation.summary import summary
from mtl.inference.predict import predict_texts
from mtl.inference.samples import SAMPLE_SENTENCES
from mtl.model.multitask import MultiTaskModel
from mtl.tracking.history import read_history
from mtl.tracking.metrics import headline_metrics, score_metrics
from mtl.tracking.runs import find_run
from mtl.tracking.store import configure


def run(source: str, batch_size: int) -> dict:
    """Score ``source``'s model on every split but train; write scores, the summary and plots; log them all."""
    paths = Paths(source)
    model = MultiTaskModel.load(paths.model)
    scores, results = score_tables(model, read_tables(paths.aligned), batch_size)
    history = read_history(paths.history) if paths.history.exists() else None
    plots = draw_plots(results, history, paths.plots)
    write_json(paths.scores, scores)
    write_json(paths.sample, predict_texts(model, list(SAMPLE_SENTENCES)), sort_keys=False)
    write_json(paths.metrics, summary(scores), sort_keys=False)  # headline first, for `dvc exp show`
    configure()
    with mlflow.start_run(run_id=find_run(dir_hash(paths.model)).info.run_id):
        mlflow.log_metrics(score_metrics(scores))
        mlflow.log_metrics(headline_metrics(scores))
        for path in (paths.scores, paths.metrics, paths.sample):
            mlflow.log_artifact(str(path), "metrics")
        for plot in plots:
            mlflow.log_artifact(str(plot), "plots")
    return scores
