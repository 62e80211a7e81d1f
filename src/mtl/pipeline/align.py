"""Stage align: tokenise one source's prepared tables and align word tags to word pieces; report truncation."""

from __future__ import annotations

import json
from pathlib import Path

from mtl.config.params import AlignConfig, ModelParams
from mtl.config.paths import Paths
from mtl.data.align import align_tables
from mtl.data.files import replace_dir, write_json
from mtl.data.tables import read_tables, write_tables
from mtl.model.backbones import load_tokenizer
from mtl.pipeline.stage import log


def run(source: str, cfg: AlignConfig, model: ModelParams) -> dict:
    """Tokenise and align ``source`` for ``model.name``; returns the truncation report (a plain output, not a metric)."""
    paths = Paths(source)
    tokenizer = load_tokenizer(model.name)
    prepared = json.loads(paths.prepared_labels.read_text())  # collected by prepare from the training split
    sentence_labels, token_labels = prepared["sentence"], prepared["token"]
    encoded, reports = align_tables(read_tables(paths.prepared), tokenizer, (sentence_labels, token_labels), cfg.strategy, model.max_length)
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
