"""Two tasks, one pass: our MultiTaskModel forward vs two separate single-task models of the same size.

The peer is what one would run without multi-task learning: a transformers
AutoModelForSequenceClassification and an AutoModelForTokenClassification, both built from the same
local all-MiniLM-L6-v2. Both sides get the very same padded batches (length-sorted, as
``mtl.inference.forward_rows`` makes them) under ``torch.inference_mode``; only the forward passes are
timed, so tokenisation and post-processing, identical on both sides, do not dilute the difference.

    .venv/bin/python bench/two_tasks.py --n 1000
"""

from __future__ import annotations

from common import (
    Side,
    alternate,
    base_parser,
    compare,
    conll_words,
    print_header,
    setup,
    sst2_sentences,
)

NAME = "two_tasks"
TARGET_RATIO = 1.8
COMPARED = (
    "one MultiTaskModel forward (encoder once + sentence head + token head) vs "
    "AutoModelForSequenceClassification + AutoModelForTokenClassification (encoder twice)"
)


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0], n=1000, repeats=3, batch_size=32)
    parser.add_argument("--max-length", type=int, default=128, help="word pieces per sentence (the pipeline's default)")
    parser.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2", help="backbone name or directory")
    args = parser.parse_args()
    setup(args)

    import numpy as np
    import torch
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification

    from mtl.backbones import resolve_backbone
    from mtl.data import CONLL_TAGS, SST2_LABELS
    from mtl.encoding import collate
    from mtl.model import ModelConfig, MultiTaskModel

    path = resolve_backbone(args.model)
    # half SST-2 (reviews), half CoNLL (news): the two tasks' real inputs
    n_sst = args.n // 2
    words = [s.split() for s in sst2_sentences(args.data_dir, n_sst, args.seed)] + conll_words(
        args.data_dir, args.n - n_sst, args.seed
    )
    ours = MultiTaskModel.from_backbone(
        ModelConfig(path, list(SST2_LABELS), list(CONLL_TAGS), max_length=args.max_length), seed=args.seed
    ).eval()
    seq = AutoModelForSequenceClassification.from_pretrained(path, num_labels=len(SST2_LABELS)).eval()
    tok = AutoModelForTokenClassification.from_pretrained(path, num_labels=len(CONLL_TAGS)).eval()

    # tokenise once, as predict_texts does, and share the batches: both sides see identical tensors
    input_ids = ours.tokenizer(words, is_split_into_words=True, truncation=True, max_length=args.max_length)["input_ids"]
    order = np.argsort([-len(ids) for ids in input_ids], kind="stable")
    pad = ours.tokenizer.pad_token_id or 0
    batches = [
        collate([(input_ids[i], [], 0) for i in order[start : start + args.batch_size]], pad)
        for start in range(0, len(order), args.batch_size)
    ]
    batches = [(b["input_ids"], b["attention_mask"]) for b in batches]
    lengths = [len(ids) for ids in input_ids]

    settings = print_header(
        "two_tasks: both tasks' predictions",
        COMPARED,
        {
            "model": args.model,
            "model_path": path,
            "n_sentences": len(words),
            "sources": f"{n_sst} SST-2 train + {len(words) - n_sst} CoNLL-2003 train",
            "pieces_per_sentence": f"mean {np.mean(lengths):.1f}, min {min(lengths)}, max {max(lengths)}",
            "batch_size": args.batch_size,
            "n_batches": len(batches),
            "max_length": args.max_length,
            "threads": torch.get_num_threads(),
            "repeats": args.repeats,
            "warmup": args.warmup,
        },
    )

    def run_ours() -> tuple[int, int]:
        with torch.inference_mode():
            shapes = [ours(ids, mask) for ids, mask in batches]
        return shapes[-1].sentence_logits.shape[-1], shapes[-1].token_logits.shape[-1]

    def run_peer() -> tuple[int, int]:
        with torch.inference_mode():
            for ids, mask in batches:
                sentence_logits = seq(input_ids=ids, attention_mask=mask).logits
                token_logits = tok(input_ids=ids, attention_mask=mask).logits
        return sentence_logits.shape[-1], token_logits.shape[-1]

    runs = alternate({"ours": run_ours, "peer": run_peer}, args.repeats, warmup=args.warmup)
    same_outputs = runs.last["ours"] == runs.last["peer"] == (len(SST2_LABELS), len(CONLL_TAGS))
    compare(
        NAME,
        COMPARED,
        settings,
        Side("MultiTaskModel forward", runs.seconds["ours"], len(words)),
        Side("two single-task HF models", runs.seconds["peer"], len(words)),
        TARGET_RATIO,
        f"ratio >= {TARGET_RATIO}",
        extra_checks={"both sides output both tasks' logits": same_outputs},
        out=args.out,
    )


if __name__ == "__main__":
    main()
