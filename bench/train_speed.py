"""Training speed: our training loop (``mtl.training.loop.train``) vs Hugging Face ``transformers.Trainer``.

Both sides fine-tune all-MiniLM-L6-v2 for SST-2 sentence classification on the same sentences (the same
word-piece ids: both get the rows our aligner produced), for one epoch, with the same batch size, length
limit, learning rate, weight decay, warm-up share and gradient clipping; no evaluation, no checkpoints.
Ours runs single-task (TaskWeights(1.0, 0.0)); the peer is AutoModelForSequenceClassification with
DataCollatorWithPadding (dynamic padding, HF's default). Each run starts from the same initial weights,
restored untimed; the time is the wall time of ``train(...)`` vs ``trainer.train()``, so both include
their optimiser set-up and data loading but not model loading.

Sampling: by default each side uses its own default order (ours groups sentences of similar length,
HF's Trainer samples at random); ``--hf-sampling group_by_length`` gives HF length grouping too.

Needs ``accelerate`` (the Trainer's dependency): pip install 'accelerate>=1.1.0'.

    .venv/bin/python bench/train_speed.py --n 512
"""

from __future__ import annotations

import copy
import importlib.util
import tempfile

from common import Side, alternate, base_parser, compare, print_header, setup

NAME = "train_speed"
TARGET_RATIO = 1.0
COMPARED = "mtl.training.loop.train (single task) vs transformers.Trainer + AutoModelForSequenceClassification, 1 epoch"


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0], n=512, repeats=3, batch_size=32)
    parser.add_argument("--max-length", type=int, default=128, help="word pieces per sentence, both sides")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per measured run")
    parser.add_argument("--learning-rate", type=float, default=5e-5, help="AdamW learning rate, both sides")
    parser.add_argument(
        "--hf-sampling",
        choices=["random", "group_by_length"],
        default="random",
        help="the Trainer's train_sampling_strategy (random is its default; ours always groups by length)",
    )
    parser.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2", help="backbone name or directory")
    args = parser.parse_args()
    if importlib.util.find_spec("accelerate") is None:
        raise SystemExit("transformers.Trainer needs accelerate: .venv/bin/pip install 'accelerate>=1.1.0'")
    setup(args)

    import numpy as np
    import torch
    import transformers
    from transformers import AutoModelForSequenceClassification, DataCollatorWithPadding, Trainer, TrainingArguments
    from transformers.trainer_callback import PrinterCallback

    from mtl.config.model import ModelConfig
    from mtl.config.params import TaskWeights, TrainConfig
    from mtl.data.align import align_tables
    from mtl.data.readers import SST2_LABELS, read_sst2
    from mtl.data.sources import label_sets
    from mtl.data.tables import sample_rows
    from mtl.model.backbones import resolve_backbone
    from mtl.model.multitask import MultiTaskModel
    from mtl.training.loop import train

    path = resolve_backbone(args.model)
    # the pipeline's own way of taking a training sample (phrases and sentences, as GLUE has them)
    table = sample_rows(read_sst2(args.data_dir / "sst2" / "train.tsv"), args.n, args.seed)
    sentence_labels, token_labels = label_sets("real")
    ours = MultiTaskModel.from_backbone(ModelConfig(name=path, sentence_labels=sentence_labels, token_labels=token_labels, max_length=args.max_length), seed=args.seed)
    encoded, _ = align_tables({"sst2/train": table}, ours.tokenizer, "real", "first", args.max_length)
    encoded = encoded["sst2/train"]
    lengths = [len(ids) for ids in encoded["input_ids"]]
    cfg = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        head_learning_rate=None,  # one learning rate, as the Trainer has
        weight_decay=0.01,
        warmup_ratio=0.1,
        max_grad_norm=1.0,
        task_weights=TaskWeights(1.0, 0.0),
        seed=args.seed,
    )

    peer = AutoModelForSequenceClassification.from_pretrained(path, num_labels=len(SST2_LABELS))
    peer_rows = [
        {"input_ids": list(ids), "attention_mask": [1] * len(ids), "labels": int(label)}
        for ids, label in zip(encoded["input_ids"], encoded["sentence_label_id"], strict=True)
    ]
    collator = DataCollatorWithPadding(ours.tokenizer)
    out_dir = tempfile.TemporaryDirectory(prefix="bench-trainer-")
    # Parameter names checked against the installed transformers 5 TrainingArguments signature:
    # warmup_ratio is gone (a float warmup_steps < 1 is a ratio), group_by_length became train_sampling_strategy.
    training_args = TrainingArguments(
        output_dir=out_dir.name,
        per_device_train_batch_size=args.batch_size,
        num_train_epochs=args.epochs,
        learning_rate=args.learning_rate,
        weight_decay=0.01,
        warmup_steps=0.1,
        max_grad_norm=1.0,
        lr_scheduler_type="linear",
        eval_strategy="no",
        save_strategy="no",
        report_to=[],
        disable_tqdm=True,
        use_cpu=True,
        dataloader_num_workers=0,
        dataloader_pin_memory=False,  # nothing to pin for on a CPU; avoids a warning per run
        train_sampling_strategy=args.hf_sampling,
        logging_strategy="no",
        seed=args.seed,
    )

    ours_initial = copy.deepcopy(ours.state_dict())
    peer_initial = copy.deepcopy(peer.state_dict())
    state: dict[str, object] = {}

    def reset_ours() -> None:
        ours.load_state_dict(ours_initial)

    def reset_peer() -> None:
        peer.load_state_dict(peer_initial)
        trainer = Trainer(model=peer, args=training_args, train_dataset=peer_rows, data_collator=collator)
        trainer.remove_callback(PrinterCallback)  # it prints a metrics dict per run; the benchmark prints its own
        state["trainer"] = trainer

    def run_ours() -> float:
        result = train(ours, {"sst2": encoded}, {}, cfg, log=lambda _: None)
        return result.history[-1].train_loss

    def run_peer() -> float:
        return state["trainer"].train().training_loss

    settings = print_header(
        "train_speed: fine-tuning throughput",
        COMPARED,
        {
            "model": args.model,
            "model_path": path,
            "n_sentences": len(encoded),
            "source": "SST-2 train, seeded sample (mtl.data.tables.sample_rows)",
            "pieces_per_sentence": f"mean {np.mean(lengths):.1f}, min {min(lengths)}, max {max(lengths)}",
            "batch_size": args.batch_size,
            "max_length": args.max_length,
            "epochs": args.epochs,
            "learning_rate": args.learning_rate,
            "ours_sampling": "group_by_length (TrainConfig default)",
            "hf_sampling": args.hf_sampling,
            "threads": torch.get_num_threads(),
            "repeats": args.repeats,
            "warmup": args.warmup,
            "transformers": transformers.__version__,
        },
    )
    runs = alternate(
        {"ours": run_ours, "peer": run_peer}, args.repeats, warmup=args.warmup, setup={"ours": reset_ours, "peer": reset_peer}
    )
    out_dir.cleanup()
    losses = {side: float(loss) for side, loss in runs.last.items()}
    print(f"   final training loss: ours {losses['ours']:.4f}, peer {losses['peer']:.4f} (both must be finite)")
    items = len(encoded) * args.epochs
    compare(
        NAME,
        COMPARED,
        settings,
        Side("mtl.training.loop.train", runs.seconds["ours"], items),
        Side(f"transformers.Trainer ({args.hf_sampling})", runs.seconds["peer"], items),
        TARGET_RATIO,
        f"ratio >= {TARGET_RATIO}",
        extra={"train_loss": losses},
        extra_checks={"losses finite": all(np.isfinite(v) for v in losses.values())},
        out=args.out,
    )


if __name__ == "__main__":
    main()
