"""Stage align: tokenise one source's prepared tables and align word tags to word pieces; report truncation."""

from __future__ import annotations

import json
from pathlib import Path

from mtl.config.params import AlignConfig, ModelParams
from mtl.config.paths import Paths
from mtl.data.align import align_tables
from mtl.data.files import replace_dir, write_json
from mtl.data.sources import label_sets
from mtl.data.tables import read_tables, write_tables
from mtl.model.backbones import load_tokenizer
from mtl.pipeline.stage import log


def run(source: str, cfg: AlignConfig, model: ModelParams) -> dict:
    """Tokenise and align ``source`` for ``model.name``; returns the truncation report (a plain output, not a metric)."""
    paths = Paths(source)
    tokenizer = load_tokenizer(model.name)
    encoded, reports = align_tables(read_tables(paths.prepared), tokenizer, source, cfg.strategy, model.max_length)
    sentence_labels, token_labels = label_sets(source)
    labels = {"source": source, "strategy": cfg.strategy, "sentence": sentence_labels, "token": token_labels}

    def fill(tmp: Path) -> None:
        write_tables(encoded, tmp)
        (tmp / paths.labels.name).write_text(json.dumps(labels, indent=2) + "\n")

    replace_dir(paths.aligned, fill)
    report = {name: r.as_dict() for name, r in reports.items()}
    write_json(paths.align_report, report)
    for name, r in reports.items():
        if r.truncated_words:
            log.warning("%s: %d words in %d sentences cut off by max_length=%d", name, r.truncated_words, r.truncated_sentences, r.max_length)
    return report
