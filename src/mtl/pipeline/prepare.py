"""Stage prepare: read or generate one data source into one parquet table per data set and split."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from mtl.config.params import PrepareConfig
from mtl.config.paths import Paths, resolve_path
from mtl.data.files import replace_dir
from mtl.data.raw import raw_sources
from mtl.data.sources import prepare_example, prepare_real
from mtl.data.tables import write_tables
from mtl.pipeline.stage import log


def run(source: str, cfg: PrepareConfig) -> dict[str, pd.DataFrame]:
    """Write the ``example`` or ``real`` tables as ``data/prepared/<source>/<dataset>/<split>.parquet``."""
    tables = prepare_example(cfg.example_n, cfg.seed) if source == "example" else prepare_real(cfg)

    def fill(tmp: Path) -> None:
        write_tables(tables, tmp)
        if source == "real":
            # The raw files are not a DVC dependency: a path outside the repository breaks `dvc exp run
            # --temp/--queue` (DVC resolves it inside its copy) and the Hub fallback (a missing dependency
            # stops `dvc repro`). Their md5s live in the output instead (README: "Raw data").
            sources = raw_sources(resolve_path(cfg.raw_dir))
            (tmp / "sources.json").write_text(json.dumps(sources, indent=2, sort_keys=True) + "\n")

    replace_dir(Paths(source).prepared, fill)
    for name, table in tables.items():
        log.info("prepared %s: %d sentences", name, len(table))
    return tables
