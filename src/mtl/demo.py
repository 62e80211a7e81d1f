"""``mtl demo --real-data`` with a trained model: predictions beside gold labels on a sample of real validation sentences."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mtl.alignment import group_entities, word_offsets
from mtl.data import load_split, sample_rows
from mtl.encoding import word_ids_of
from mtl.evaluation import evaluate_table, headline
from mtl.inference import forward_rows
from mtl.model import MultiTaskModel
from mtl.pipeline import align_tables

REGISTERED_MODEL = "mtl-pipeline"
# the pipeline's saved real-data model: models/real/model since the pipeline trains one model per data source
DEFAULT_MODEL_DIRS = (Path("models/real/model"),)  # the pipeline's real-data model


def champion_model(name: str = REGISTERED_MODEL, root: str | Path = ".") -> tuple[MultiTaskModel, str] | None:
    """``models:/name@champion`` from the project's MLflow store, or None when there is no store or no champion."""
    from mtl.tracking import tracking_uri

    uri = tracking_uri(root)
    if uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///") :]).is_file():
        return None  # no store yet: do not create one just to look
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from mtl.tracking import configure

    configure(root)
    try:
        version = MlflowClient().get_model_version_by_alias(name, "champion").version
    except MlflowException:
        return None
    reference = f"models:/{name}/{version}"
    return mlflow.pyfunc.load_model(reference).unwrap_python_model().model, f"{reference} (@champion)"


def find_trained_model(model_path: Path | None, root: str | Path = ".") -> tuple[MultiTaskModel, str] | None:
    """The model ``--real-data`` uses: ``model_path``, else the champion, else a saved pipeline model; None if none exists."""
    if model_path is not None:
        return MultiTaskModel.load(model_path), str(model_path)
    found = champion_model(root=root)
    if found is not None:
        return found
    for directory in DEFAULT_MODEL_DIRS:
        if (Path(root) / directory / "config.json").is_file():
            return MultiTaskModel.load(Path(root) / directory), str(directory)
    return None


def real_validation_sample(raw_dir: str | Path, n: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    """``n`` seeded sentences of SST-2 validation and of CoNLL-2003 validation (local files, else the Hub)."""
    return {f"{name}/validation": sample_rows(load_split(name, "validation", raw_dir), n, seed) for name in ("sst2", "conll2003")}


def _entities(words: list[str], tags: list[str]) -> str:
    text = " ".join(words)
    found = group_entities(text, tags, word_offsets(text, words))
    return "; ".join(f"{e.type} {e.text!r}" for e in found) or "none"


def compare_on_sample(model: MultiTaskModel, tables: dict[str, pd.DataFrame], shown: int = 4) -> dict[str, dict[str, float]]:
    """Print ``shown`` predictions beside their gold labels per data set; return each set's headline scores on the whole sample."""
    encoded, _ = align_tables(tables, model.tokenizer, "real", model.config.alignment, model.config.max_length)
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
