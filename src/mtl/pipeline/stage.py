"""The frame every stage shares: each data source's files, the stage script's argument, and one clear line for a user's error.

The pipeline trains one model per data source (``real``: SST-2 + CoNLL-2003; ``example``: the generated
Technology / Weather data), and every path is per source, fixed here and in ``dvc.yaml``, and nowhere else.
Each stage writes its outputs atomically (temporary name, then rename), so a failed or killed run never
leaves a half-written output behind.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mtl.config.params import DATA_SOURCES, ParamsError, check_source
from mtl.data.errors import DataError

log = logging.getLogger("mtl")


@dataclass(frozen=True)
class Paths:
    """Every file and directory of one data source's pipeline (see dvc.yaml)."""

    source: str

    def __post_init__(self) -> None:
        check_source(self.source)

    @property
    def prepared(self) -> Path:
        return Path("data/prepared") / self.source

    @property
    def aligned(self) -> Path:
        return Path("data/aligned") / self.source

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


def stage_main(body: Callable[[], object]) -> None:
    """Run a stage's ``body()``; a known user error ends it with one clear line instead of a traceback."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        body()
    except (ParamsError, DataError, FileNotFoundError, LookupError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)


def source_arg(argv: list[str]) -> str:
    """The data source a stage script was called for (``python stages/train.py real``)."""
    if len(argv) != 2 or argv[1] not in DATA_SOURCES:
        sys.exit(f"usage: python {argv[0]} {'|'.join(DATA_SOURCES)}")
    return argv[1]
