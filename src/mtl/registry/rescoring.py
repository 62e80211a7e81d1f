"""Re-scoring a registered version on another model's selection sets, with the current code, so the gate compares like with like.

A champion's recorded scores may come from other data (its selection sets' fingerprints differ from the
candidate's: ``prepare.conll_validation`` changed, say) or from other scoring code (decoding, metrics). Comparing
those numbers would be comparing different things, so the gate re-scores the champion first: its saved model on
the candidate's prepared selection tables, aligned with its own tokenizer and settings, scored by this code. That
takes seconds on SST-2 dev and CoNLL-2003 validation.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from mtl.data.align import align_table
from mtl.data.splits import selection_split, splits_by_dataset
from mtl.evaluation.evaluate import evaluate_table, recorded_headline
from mtl.registry.gate import selection_scores
from mtl.registry.loading import load_registered


def rescore(name: str, version: str, tables: Mapping[str, pd.DataFrame]) -> dict[str, float] | None:
    """``name`` version ``version``'s gated scores on the selection splits of ``tables`` (prepared ``<dataset>/<split>``),
    or None when it cannot be scored there (its labels are not the data's: such models are not comparable)."""
    model = load_registered(f"models:/{name}/{version}")
    config = model.config
    scores: dict[str, dict[str, dict]] = {}
    for dataset, splits in splits_by_dataset(tables).items():
        split = selection_split(splits)
        if split is None:
            continue
        try:
            aligned, _ = align_table(
                tables[f"{dataset}/{split}"], model.tokenizer, config.sentence_labels, config.token_labels, config.alignment, config.max_length
            )
        except ValueError:  # a label the model has no head for
            return None
        scores.setdefault(dataset, {})[split] = recorded_headline(evaluate_table(model, aligned))
    return selection_scores(scores)
