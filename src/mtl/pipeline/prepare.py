"""Stage prepare: read or generate one data source into one parquet table per data set and split."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from mtl.config.params import PrepareConfig
from mtl.config.paths import Paths, resolve_path
from mtl.config.sources import DataConfig
from mtl.data.files import file_md5, replace_dir
from mtl.data.raw import raw_sources
from mtl.data.sources import prepare_source
from mtl.data.tables import write_tables
from mtl.pipeline.stage import log


def run(source: str, data: DataConfig, cfg: PrepareConfig) -> dict[str, pd.DataFrame]:
    """Write ``source``'s tables as ``data/prepared/<source>/<dataset>/<split>.parquet`` and its label sets as
    ``labels.json``. Every file is read and checked before anything is written: a bad row fails with file:line and
    touches no other source's output (DVC clears this stage's own output before running it; ``dvc checkout`` restores it)."""
    tables, labels = prepare_source(data, cfg)

    def fill(tmp: Path) -> None:
        write_tables(tables, tmp)
        (tmp / Paths(source).prepared_labels.name).write_text(json.dumps(labels.as_dict(), indent=2) + "\n")
        if data.datasets:
            # which bytes each split came from, as for the raw data below (DVC hashes the files too: data.path)
            files = {f"{name}/{split}": f"md5:{file_md5(resolve_path(path))}" for name, d in data.datasets.items() for split, path in d.files().items()}
            (tmp / "sources.json").write_text(json.dumps(files, indent=2, sort_keys=True) + "\n")
        if data.builtin == "real":
            # The raw files are not a DVC dependency: a path outside the repository breaks `dvc exp run
            # --temp/--queue` (DVC resolves it inside its copy) and the Hub fallback (a missing dependency
            # stops `dvc repro`). Their md5s live in the output instead (README: "Raw data").
            sources = raw_sources(resolve_path(cfg.raw_dir))
            (tmp / "sources.json").write_text(json.dumps(sources, indent=2, sort_keys=True) + "\n")

    replace_dir(Paths(source).prepared, fill)
    for name, table in tables.items():
        log.info("prepared %s: %d sentences", name, len(table))
    log.info("labels: sentence %s; token %s", labels.sentence or "none (no sentence task)", labels.token or "none (no token task)")
    return tables
