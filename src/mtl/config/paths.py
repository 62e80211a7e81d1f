"""Where things are: the repository root a stage runs for, each data source's pipeline files, and the user guide's paths.

Every path of the pipeline is per data source, fixed in ``Paths`` and in ``dvc.yaml``, and nowhere else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mtl.config.sources import check_name

# The user guide's paths, the defaults of `mtl fine-tune` and `mtl example-data` (and so of its src/*.py scripts):
# outside data/ and models/, which the pipeline owns (DVC outputs, emptied by `make clean`).
FINE_TUNED_DIR = Path("outputs/models/fine_tuned")
EXAMPLE_DATA_FILE = Path("outputs/data/example_data.json")


def project_root() -> Path:
    """The main repository's root: ``DVC_ROOT`` when DVC runs the stage, else the working directory.

    ``dvc exp run --temp`` and ``--queue`` run stages in a copy under ``.dvc/tmp/exps``; DVC (3.x) sets
    ``DVC_ROOT`` to the main repository there too, so the MLflow store and a relative raw-data directory
    resolve to the same places as in the workspace.
    """
    return Path(os.environ.get("DVC_ROOT") or ".").resolve()


def resolve_path(path: str | Path) -> Path:
    """``path`` as is when absolute, else relative to ``project_root()``."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else project_root() / path


@dataclass(frozen=True)
class Paths:
    """Every file and directory of one data source's pipeline (see dvc.yaml)."""

    source: str

    def __post_init__(self) -> None:
        check_name("source", self.source)

    @property
    def prepared(self) -> Path:
        return Path("data/prepared") / self.source

    @property
    def aligned(self) -> Path:
        return Path("data/aligned") / self.source

    @property
    def prepared_labels(self) -> Path:
        # the label sets prepare collected from the training split (mtl.data.labels), in the order the heads use
        return self.prepared / "labels.json"

    @property
    def labels(self) -> Path:
        return self.aligned / "labels.json"

    @property
    def model(self) -> Path:
        return Path("models") / self.source / "model"

    @property
    def registered(self) -> Path:
        # not a DVC output: it holds a registry version number, which differs between clean runs
        return Path("models") / self.source / "registered.json"

    @property
    def align_report(self) -> Path:
        return Path("metrics") / self.source / "align.json"

    @property
    def history(self) -> Path:
        return Path("metrics") / self.source / "history.csv"

    @property
    def scores(self) -> Path:
        # every score of every split (the gate reads it; MLflow gets it all): a plain output
        return Path("metrics") / self.source / "scores.json"

    @property
    def metrics(self) -> Path:
        # the summary people compare (``dvc metrics show``, ``dvc exp show``)
        return Path("metrics") / self.source / "metrics.json"

    @property
    def sample(self) -> Path:
        # the model's answer to the sample sentences (mtl.inference.samples): the README shows the real source's
        return Path("metrics") / self.source / "sample.json"

    @property
    def plots(self) -> Path:
        return Path("plots") / self.source


def pipeline_model_dirs(root: str | Path = ".") -> list[Path]:
    """Every source's trained model directory under ``root`` (``Paths(<source>).model``), whatever sources params.yaml declares."""
    return sorted((Path(root) / Paths("real").model.parent.parent).glob(f"*/{Paths('real').model.name}"))
