"""What the last pipeline run gave, in five lines: each source's registered model and headline scores, and where to go next.

``make run`` ends with it (``mtl summary``): the registered versions come from ``models/<source>/registered.json``
and the scores from ``metrics/<source>/metrics.json`` (the summary ``dvc metrics show`` reads), both written by
the pipeline; the MLflow store is asked only for its experiments' ids, to link their runs.
"""

from __future__ import annotations

import json
from pathlib import Path

from mlflow.tracking import MlflowClient

from mtl.config.paths import Paths
from mtl.config.sources import DEFAULT_SOURCES, PIPELINE_MODEL, SourceConfig
from mtl.tracking.store import configure, has_store
from mtl.tracking.ui import runs_url

UI_PORT = 5000  # make ui
APP_PORT = 8501  # make app

# a data set's held-out headline (plain keys) and its selection split's (prefixed): mtl.evaluation.summary
_HEADLINES = (("acc", "acc"), ("f1", "F1"))


def scores_line(summary: dict[str, dict[str, float]]) -> str:
    """One data source's headline scores: each data set's held-out accuracy / entity F1, the selection split's after it."""
    parts = []
    for dataset, values in summary.items():
        shown = []
        for key, name in _HEADLINES:
            if key not in values:
                continue
            chose = next((f"{prefix} {values[f'{prefix}_{key}']:.3f}" for prefix in ("dev", "val") if f"{prefix}_{key}" in values), None)
            shown.append(f"{name} {values[key]:.3f}" + (f" ({chose})" if chose else ""))
        if shown:
            parts.append(f"{dataset} " + ", ".join(shown))
    return ", ".join(parts)


def model_line(root: Path, source: str) -> str | None:
    """``mtl-pipeline v1 @champion: sst2 acc 0.844 (dev 0.846), conll F1 0.832 (val 0.864)``; None before the source's first run."""
    paths = Paths(source)
    registered, metrics = root / paths.registered, root / paths.metrics
    if not registered.is_file() or not metrics.is_file():
        return None
    record = json.loads(registered.read_text())
    line = f"{record['model_name']} v{record['version']} @{record['alias']}: {scores_line(json.loads(metrics.read_text()))}"
    failures = record["gate"]["failures"]
    if failures:
        kept = "kept, fails the gate now: " if record["alias"] == "champion" else "gate: "
        line += f" ({kept}{failures[0]})"
    return line


def declared_sources(root: Path | str = ".") -> dict[str, SourceConfig]:
    """The sources ``root``'s params.yaml declares (its defaults without one)."""
    from mtl.config.params import load_params
    from mtl.config.sources import load_sources

    path = Path(root) / "params.yaml"
    return load_sources(load_params(path), str(path)) if path.is_file() else dict(DEFAULT_SOURCES)


def experiment_links(root: str | Path = ".", host: str = "127.0.0.1") -> dict[str, str]:
    """Each pipeline experiment's runs table in the MLflow UI (``make ui``), in its "Headline scores" view, by name."""
    if not has_store(root):
        return {}
    configure(root)
    client = MlflowClient()
    found = {name: client.get_experiment_by_name(name) for name in (s.model for s in declared_sources(root).values())}
    return {name: runs_url(f"http://{host}:{UI_PORT}", e.experiment_id) for name, e in found.items() if e is not None}


def summary_lines(root: str | Path = ".", host: str = "127.0.0.1", port: int = 5001) -> list[str]:
    """The models the pipeline registered under ``root``, then how to serve one, open the app and open the MLflow UI."""
    root = Path(root)
    models = [line for line in (model_line(root, source) for source in declared_sources(root)) if line is not None]
    if not models:
        return ["no pipeline run yet: `make run` trains and registers the models"]
    runs = experiment_links(root, host).get(PIPELINE_MODEL, f"http://{host}:{UI_PORT}")
    return models + [
        f"serve:  make serve  -> http://{host}:{port}/invocations (MODEL=mtl-example)",
        f"app:    make app    -> http://{host}:{APP_PORT}",
        f"runs:   make ui     -> {runs}",
    ]
