"""The training history, one row per epoch, as the CSV that DVC tracks and the learning-curve plot reads.

Scores and losses only: timings vary between identical runs and would change ``dvc.lock`` every time;
MLflow keeps them (``train_seconds``).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

from mtl.data.files import write_atomic
from mtl.tracking.metrics import epoch_metrics

if TYPE_CHECKING:  # for the annotations only: evaluate reads the history without importing the training loop
    from mtl.training.loop import EpochResult

HISTORY_SKIP = ("train_seconds", "sentences_per_second")


def history_row(result: EpochResult) -> dict[str, float]:
    """One epoch as a flat row for ``history.csv`` (and the learning-curve plot): no timings."""
    metrics = epoch_metrics(result)
    return {"epoch": result.epoch, **{k: round(v, 6) for k, v in metrics.items() if k not in HISTORY_SKIP}}


def write_history(rows: list[dict], path: Path) -> None:
    """Per-epoch rows as CSV."""
    columns = list(dict.fromkeys(k for row in rows for k in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(path, lambda tmp: tmp.write_text(buffer.getvalue()))


def read_history(path: Path) -> list[dict]:
    """The rows of ``history.csv`` with numbers parsed."""
    with open(path) as handle:
        return [{k: float(v) if v else float("nan") for k, v in row.items()} for row in csv.DictReader(handle)]
