"""PNG plots (matplotlib): they render offline, unlike ``dvc plots show``'s HTML, which loads vega from a CDN."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from mtl.data.files import replace_dir  # noqa: E402


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def confusion_matrix_png(matrix: Sequence[Sequence[int]], labels: Sequence[str], path: str | Path, title: str) -> Path:
    """Counts of true (rows) against predicted (columns) sentence labels."""
    data = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(1.2 * len(labels) + 2.5, 1.1 * len(labels) + 2))
    ax.imshow(data, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = data.max() / 2 if data.size else 0
    for (i, j), value in np.ndenumerate(data):
        ax.text(j, i, str(value), ha="center", va="center", color="white" if value > threshold else "black")
    ax.set_title(title)
    return _save(fig, path)


def per_entity_f1_png(per_type: dict[str, dict], path: str | Path, title: str) -> Path:
    """Precision, recall and F1 of each entity type, as grouped bars."""
    kinds = sorted(per_type)
    fig, ax = plt.subplots(figsize=(1.3 * len(kinds) + 3, 3.5))
    x = np.arange(len(kinds))
    for offset, metric in zip((-0.27, 0, 0.27), ("precision", "recall", "f1")):
        ax.bar(x + offset, [per_type[k][metric] for k in kinds], width=0.26, label=metric)
    ax.set_xticks(x, kinds)
    ax.set_ylim(0, 1.05)
    ax.legend(loc="lower right")
    ax.set_title(title)
    return _save(fig, path)


def learning_curves_png(history: Sequence[dict], path: str | Path) -> Path:
    """Training loss and the selection sets' metrics per epoch (``history`` rows: epoch, train_loss, val_<dataset>_<split>_* ...)."""
    epochs = [row["epoch"] for row in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    for key in sorted({k for row in history for k in row if k.endswith("loss")}):
        left.plot(epochs, [row.get(key, np.nan) for row in history], marker="o", label=key)
    left.set_xlabel("epoch")
    left.set_title("training loss")
    left.legend()
    for key in sorted({k for row in history for k in row if k.startswith("val_") and k.endswith(("accuracy", "entity_f1"))}):
        right.plot(epochs, [row.get(key, np.nan) for row in history], marker="o", label=key[4:])
    right.set_xlabel("epoch")
    right.set_ylim(0, 1.02)
    right.set_title("selection sets (choose the epoch)")
    right.legend(loc="lower right")
    for ax in (left, right):
        ax.set_xticks(epochs)
    return _save(fig, path)


def draw_plots(results: dict[str, dict], history: Sequence[dict] | None, out: Path) -> list[Path]:
    """Confusion matrices and per-entity scores of ``results`` (``score_tables``' second part), and the learning curves
    of ``history`` (rows of ``history.csv``) when given, as PNGs in ``out``, rebuilt whole; returns their paths."""
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
        if history:
            names.append(learning_curves_png(history, tmp / "learning_curves.png").name)

    replace_dir(out, fill)
    return [out / name for name in names]
