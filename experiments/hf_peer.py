"""Hugging Face peer baselines for the results table: the standard ``Trainer`` recipes, one task each.

``sst2``  is ``run_glue.py``'s recipe: ``AutoModelForSequenceClassification``, the sentence tokenised with
          truncation, ``DataCollatorWithPadding``, ``Trainer``; scored by accuracy on SST-2 dev (the split
          carved out of train that chooses in the pipeline) and on SST-2 validation (held out).
``conll`` is ``run_ner.py``'s recipe: ``AutoModelForTokenClassification``, the words tokenised with
          ``is_split_into_words=True``, each word's label on its first word piece and -100 on the rest
          (``label_all_tokens=False``), ``DataCollatorForTokenClassification``, ``Trainer``; scored by
          seqeval entity F1 (default mode, as ``evaluate.load("seqeval")``) on validation and test.

The peer shares no modelling, alignment or training code with the pipeline: only its data and
``mtl.model.backbones`` (where the local weights are). Its tables come from the pipeline's own prepare step
(``mtl.data.sources.prepare_real`` with the ``prepare`` section of params.yaml), so it trains on exactly the
rows the pipeline trains on: SST-2 train less the dev split and every phrase of a dev sentence
(``mtl.data.dev_split``), all of CoNLL-2003 train, unless ``--train-n`` caps them as ``prepare.sst2_train``
and ``prepare.conll_train`` do. It chooses nothing: it trains ``--epochs`` and is scored once.
Optimiser settings default to the pipeline's (epochs, batch size, learning rate, warm-up, weight decay,
clipping, max length), so the comparison is one of recipes, not of budgets.

Writes a JSON shaped like ``metrics/real/scores.json`` plus a ``training`` block (with ``sst2_dev``, the
dev split's size, which marks a result made with the dev split in force), and logs an MLflow run
(experiment ``mtl-peers``) with the settings as params and the scores as metrics, named as evaluate names
the pipeline's (``sst2_dev_sentence_accuracy``, ``conll2003_test_f1_PER``).

    .venv/bin/python experiments/hf_peer.py sst2 --epochs 3 --seed 42 --run-name hf-sst2-s42 --out experiments/results/hf-sst2-s42.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

EXPERIMENT = "mtl-peers"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("task", choices=["sst2", "conll"], help="which peer to train")
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="folder with sst2/ and conll2003/; default the prepare.raw_dir of --params, as the pipeline reads it"
    )
    parser.add_argument("--params", type=Path, default=REPO / "params.yaml", help="params.yaml whose prepare section (sst2_dev, seed, evaluation caps) splits the data as the pipeline does")
    parser.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2", help="backbone name or directory")
    parser.add_argument(
        "--train-n", type=int, default=None, help="training sentences, a seeded sample as prepare.sst2_train / prepare.conll_train draw it; default all (the pipeline's null)"
    )
    parser.add_argument("--eval-n", type=int, default=None, help="sentences per scored split (first N), for a quick check; default all")
    parser.add_argument("--epochs", type=float, default=1.0, help="passes over the training data (the pipeline's train.epochs)")
    parser.add_argument("--batch-size", type=int, default=32, help="sentences per training step (train.batch_size)")
    parser.add_argument("--learning-rate", type=float, default=1e-4, help="AdamW learning rate, encoder and head alike (train.learning_rate)")
    parser.add_argument("--warmup-ratio", type=float, default=0.1, help="share of steps with a rising learning rate, then linear decay (train.warmup_ratio)")
    parser.add_argument("--weight-decay", type=float, default=0.01, help="AdamW weight decay (train.weight_decay)")
    parser.add_argument("--max-grad-norm", type=float, default=1.0, help="gradient clipping (train.max_grad_norm)")
    parser.add_argument("--max-length", type=int, default=128, help="word pieces kept per sentence (model.max_length)")
    parser.add_argument("--seed", type=int, default=42, help="seed of initialisation, batch order and dropout (train.seed); the data split does not depend on it")
    parser.add_argument("--eval-batch-size", type=int, default=64, help="sentences per batch when scoring")
    parser.add_argument("--run-name", default=None, help="MLflow run name; default hf-<task>")
    parser.add_argument("--no-mlflow", action="store_true", help="only write --out")
    parser.add_argument("--out", type=Path, required=True, help="result JSON")
    return parser.parse_args()


def sst2_rows(tokenizer, table, max_length: int) -> list[dict]:
    """run_glue.py's preprocessing: the sentence tokenised with truncation, the GLUE label id."""
    from mtl.data.readers import SST2_LABELS

    label_id = {name: i for i, name in enumerate(SST2_LABELS)}
    encoded = tokenizer(list(table["text"]), truncation=True, max_length=max_length)
    return [
        {"input_ids": ids, "attention_mask": mask, "labels": label_id[label]}
        for ids, mask, label in zip(encoded["input_ids"], encoded["attention_mask"], table["sentence_label"], strict=True)
    ]


def conll_rows(tokenizer, table, max_length: int, label_id: dict[str, int]) -> list[dict]:
    """run_ner.py's tokenize_and_align_labels with label_all_tokens=False: first piece labelled, rest -100."""
    encoded = tokenizer([list(w) for w in table["words"]], truncation=True, max_length=max_length, is_split_into_words=True)
    rows = []
    for i, tags in enumerate(table["word_tags"]):
        labels, previous = [], None
        for word in encoded.word_ids(batch_index=i):
            labels.append(-100 if word is None or word == previous else label_id[tags[word]])
            previous = word
        rows.append({"input_ids": encoded["input_ids"][i], "attention_mask": encoded["attention_mask"][i], "labels": labels})
    return rows


# What each peer trains on and is scored on: (training table, scored splits), as ``<dataset>/<split>`` names.
TASK_TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "sst2": ("sst2/train", ("sst2/dev", "sst2/validation")),
    "conll": ("conll2003/train", ("conll2003/validation", "conll2003/test")),
}


def prepare_config(params: Path, data_dir: Path | None, train_n: int | None):
    """The pipeline's ``PrepareConfig`` from ``params`` (raw data, dev split size, seed, evaluation caps), with
    ``train_n`` training sentences per data set (None: all the rows left) and the raw data in ``data_dir``
    if given; a relative ``raw_dir`` is taken from the folder of ``params``, the project root."""
    import dataclasses

    from mtl.config.params import PrepareConfig, load_params, section

    cfg = section(load_params(params), "prepare", PrepareConfig, params)
    if data_dir is not None:
        raw = Path(data_dir).expanduser().resolve()
    else:
        raw = Path(cfg.raw_dir).expanduser()
        raw = (raw if raw.is_absolute() else params.resolve().parent / raw).resolve()
    return dataclasses.replace(cfg, raw_dir=str(raw), sst2_train=train_n, conll_train=train_n)


def peer_tables(task: str, cfg) -> tuple[object, dict[str, object]]:
    """The training table and the scored tables (by split) of one peer, from the pipeline's prepare step.

    ``mtl.data.sources.prepare_real`` is what the prepare stage runs, so the SST-2 training rows are the
    pipeline's: SST-2 train less the dev split and its phrases (``mtl.data.dev_split``).
    """
    from mtl.data.sources import prepare_real

    tables = prepare_real(cfg)
    train_name, scored = TASK_TABLES[task]
    return tables[train_name], {name.split("/")[1]: tables[name] for name in scored}


def sst2_scores(trainer, rows: list[dict]) -> dict:
    """run_glue.py's compute_metrics for SST-2: accuracy of the argmax label."""
    import numpy as np

    output = trainer.predict(rows)
    predicted = np.argmax(output.predictions, axis=-1)
    return {"sentence_accuracy": round(float((predicted == output.label_ids).mean()), 6)}


def metric_names(scores: dict) -> dict[str, float]:
    """Flat MLflow metric names as the pipeline's evaluate logs them: ``conll2003_test_f1_PER``, ``sst2_dev_sentence_accuracy``."""
    from mtl.tracking.metrics import score_metrics

    return score_metrics(scores)


def per_device_batch(global_batch: int, devices: int) -> int:
    """The ``per_device_train_batch_size`` that keeps ``global_batch`` sentences per step on ``devices`` GPUs.

    A plain-python ``Trainer`` runs DataParallel over every visible GPU, each taking a per-device batch,
    so one GPU or none takes the whole batch and several share it (the pipeline's ``train.batch_size`` is
    global too). Raises ValueError when the batch does not split evenly.
    """
    devices = max(devices, 1)
    if global_batch % devices:
        raise ValueError(f"--batch-size {global_batch} does not split evenly over {devices} GPUs: use a multiple of {devices}")
    return global_batch // devices


def conll_scores(trainer, rows: list[dict], tags: list[str]) -> dict:
    """run_ner.py's compute_metrics: argmax, drop -100 positions, seqeval on the remaining (first-piece) tags."""
    import numpy as np
    from seqeval.metrics import classification_report, f1_score, precision_score, recall_score

    output = trainer.predict(rows)
    predictions = np.argmax(output.predictions, axis=-1)
    true, pred = [], []
    for p_row, l_row in zip(predictions, output.label_ids, strict=True):
        keep = l_row != -100
        true.append([tags[t] for t in l_row[keep]])
        pred.append([tags[t] for t in p_row[keep]])
    report = classification_report(true, pred, output_dict=True, zero_division=0)
    return {
        "entity_f1": round(float(f1_score(true, pred)), 6),
        "entity_precision": round(float(precision_score(true, pred)), 6),
        "entity_recall": round(float(recall_score(true, pred)), 6),
        "per_type_f1": {k: round(float(v["f1-score"]), 6) for k, v in sorted(report.items()) if " avg" not in k},
    }


def main() -> None:
    args = parse_args()
    import torch
    import transformers
    from transformers import (
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoTokenizer,
        DataCollatorForTokenClassification,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    from mtl.data.files import write_json
    from mtl.data.readers import CONLL_TAGS, SST2_LABELS
    from mtl.model.backbones import resolve_backbone
    from mtl.tracking.runs import git_commit
    from mtl.tracking.store import configure, ensure_experiment

    set_seed(args.seed)
    prepare = prepare_config(args.params, args.data_dir, args.train_n)
    train_table, eval_tables = peer_tables(args.task, prepare)
    path = resolve_backbone(args.model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if args.task == "sst2":
        model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=len(SST2_LABELS))
        rows = partial(sst2_rows, tokenizer, max_length=args.max_length)
        collator = DataCollatorWithPadding(tokenizer)
    else:
        tags = list(CONLL_TAGS)
        label_id = {t: i for i, t in enumerate(tags)}
        model = AutoModelForTokenClassification.from_pretrained(
            path, num_labels=len(tags), id2label=dict(enumerate(tags)), label2id=label_id
        )
        rows = partial(conll_rows, tokenizer, max_length=args.max_length, label_id=label_id)
        collator = DataCollatorForTokenClassification(tokenizer)
    if args.eval_n is not None:
        eval_tables = {split: table.head(args.eval_n) for split, table in eval_tables.items()}
    train_rows = rows(train_table)

    out_dir = tempfile.TemporaryDirectory(prefix="hf-peer-")
    # transformers 5: a float warmup_steps below 1 is a share of the steps (warmup_ratio is gone).
    training_args = TrainingArguments(
        output_dir=out_dir.name,
        per_device_train_batch_size=per_device_batch(args.batch_size, torch.cuda.device_count()),
        per_device_eval_batch_size=args.eval_batch_size,
        num_train_epochs=args.epochs,
        learning_rate=args.learning_rate,
        weight_decay=args.weight_decay,
        warmup_steps=args.warmup_ratio,
        max_grad_norm=args.max_grad_norm,
        lr_scheduler_type="linear",
        eval_strategy="no",
        save_strategy="no",
        report_to=[],
        disable_tqdm=True,
        logging_strategy="epoch",
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),
        seed=args.seed,
    )
    trainer = Trainer(model=model, args=training_args, train_dataset=train_rows, data_collator=collator)
    started = time.perf_counter()
    train_loss = trainer.train().training_loss
    train_seconds = time.perf_counter() - started

    score = partial(sst2_scores, trainer) if args.task == "sst2" else partial(conll_scores, trainer, tags=tags)
    dataset = "sst2" if args.task == "sst2" else "conll2003"
    metrics = {dataset: {split: score(rows(table)) for split, table in eval_tables.items()}}
    out_dir.cleanup()

    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k not in ("out", "no_mlflow")}
    training = {
        "recipe": "run_glue.py" if args.task == "sst2" else "run_ner.py (label_all_tokens=False)",
        # the commit the run was made from, as the pipeline's results record it (results.py lists it in docs/results.md)
        "git_commit": git_commit(REPO),
        "train_sentences": len(train_rows),
        # the data split in force: the pipeline's prepare section (a result without sst2_dev predates the dev split)
        "sst2_dev": prepare.sst2_dev,
        "prepare_seed": prepare.seed,
        "raw_dir": prepare.raw_dir,
        "train_rows_from": "mtl.data.sources.prepare_real (SST-2 train less the dev split and its phrases)",
        "train_seconds": round(train_seconds, 1),
        "sentences_per_second": round(len(train_rows) * args.epochs / train_seconds, 1),
        "train_loss": round(float(train_loss), 6),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
        "threads": torch.get_num_threads(),
        "machine": platform.processor() or platform.machine(),
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "settings": settings,
    }
    result = {**metrics, "training": training}
    write_json(args.out, result)
    print(json.dumps(result, indent=2, sort_keys=True))

    if not args.no_mlflow:
        import mlflow

        configure(REPO)
        experiment_id = ensure_experiment(EXPERIMENT, REPO)
        with mlflow.start_run(experiment_id=experiment_id, run_name=args.run_name or f"hf-{args.task}") as run:
            # the JSON (written above, so a tracking failure loses no result) names its run, as ours do
            training["run_id"] = run.info.run_id
            mlflow.log_params(settings)
            mlflow.log_metrics(metric_names(metrics) | {"train_seconds": train_seconds, "train_loss": float(train_loss)})
            mlflow.log_dict(result, "metrics.json")
        write_json(args.out, result)


if __name__ == "__main__":
    main()
