"""``mtl demo --real-data`` with a trained model: predictions beside gold labels on a sample of real validation sentences."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mtl.data.align import align_tables, word_ids_of
from mtl.data.raw import load_split
from mtl.data.tables import sample_rows
from mtl.evaluation.evaluate import evaluate_table, headline
from mtl.inference.predict import forward_rows
from mtl.model.multitask import MultiTaskModel
from mtl.text.entities import group_entities
from mtl.text.words import word_offsets


def real_validation_sample(raw_dir: str | Path, n: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    """``n`` seeded sentences of SST-2 validation and of CoNLL-2003 validation (local files, else the Hub)."""
    return {f"{name}/validation": sample_rows(load_split(name, "validation", raw_dir), n, seed) for name in ("sst2", "conll2003")}


def _entities(words: list[str], tags: list[str]) -> str:
    text = " ".join(words)
    found = group_entities(text, tags, word_offsets(text, words))
    return "; ".join(f"{e.type} {e.text!r}" for e in found) or "none"


def compare_on_sample(model: MultiTaskModel, tables: dict[str, pd.DataFrame], shown: int = 4) -> dict[str, dict[str, float]]:
    """Print ``shown`` predictions beside their gold labels per data set; return each set's headline scores on the whole sample."""
    encoded, _ = align_tables(tables, model.tokenizer, (model.config.sentence_labels, model.config.token_labels), model.config.alignment, model.config.max_length)
    scores = {}
    for name, table in encoded.items():
        rows = forward_rows(model, list(table["input_ids"]), [word_ids_of(w) for w in table["word_ids"]], [list(w) for w in table["words"]])
        print(f"{name} ({len(table)} sentences):")
        for i in range(min(shown, len(table))):
            print(f"  {table['text'].iloc[i][:90]}")
            if table["sentence_label"].iloc[i] is not None:
                probs = rows.sentence_probs[i]
                predicted = model.config.sentence_labels[int(probs.argmax())]
                print(f"    gold {table['sentence_label'].iloc[i]:<9} predicted {predicted} ({probs.max():.2f})")
            if table["word_tags"].iloc[i] is not None:
                words = list(table["words"].iloc[i])
                predicted_tags = [model.config.token_labels[t] for t in rows.word_tag_ids[i]]
                print(f"    gold      {_entities(words, list(table['word_tags'].iloc[i]))}")
                print(f"    predicted {_entities(words, predicted_tags)}")
        scores[name] = {k: round(v, 4) for k, v in headline(evaluate_table(model, table)).items()}
        print("  on the sample: " + ", ".join(f"{k} {v:.3f}" for k, v in scores[name].items()) + "\n")
    return scores
