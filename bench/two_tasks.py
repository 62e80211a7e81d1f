"""Two tasks, one pass: our MultiTaskModel forward vs two separate single-task models of the same size.

The peer is what one would run without multi-task learning: a transformers
AutoModelForSequenceClassification and an AutoModelForTokenClassification, both built from the same
local all-MiniLM-L6-v2. Both sides run the same batches (length-sorted and cut as
``mtl.inference.predict.forward_rows`` cuts them) under ``torch.inference_mode``; only the forward passes (and
padding) are timed, so tokenisation and post-processing, identical on both sides, do not dilute the difference.
``--runtime onnx`` / ``onnx-int8`` runs our side's forward in ONNX Runtime (``mtl.runtime.engines``; the graph is
exported first, not timed); the peer stays PyTorch. Our side goes through the one batching loop
(``mtl.runtime.batching.run_batches``), which cuts the same batches and pads each one (microseconds): an ONNX
forward runs one batch per thread only there, and called batch by batch it would use one core of two.

    .venv/bin/python bench/two_tasks.py --n 1000
    .venv/bin/python bench/two_tasks.py --n 1000 --runtime onnx
"""

from __future__ import annotations

import tempfile
from pathlib import Path

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
    parser.add_argument("--runtime", choices=["torch", "onnx", "onnx-int8"], default="torch", help="our side's runtime (the peer's is torch)")
    args = parser.parse_args()
    setup(args)

    import numpy as np
    import torch
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification

    from mtl.config.model import ModelConfig
    from mtl.data.readers import CONLL_TAGS, SST2_LABELS
    from mtl.model.backbones import resolve_backbone
    from mtl.model.multitask import MultiTaskModel
    from mtl.runtime.batching import length_sorted, pad_ids, run_batches
    from mtl.runtime.engines import ONNX_FILES, attach_onnx, batch_forward

    path = resolve_backbone(args.model)
    # half SST-2 (reviews), half CoNLL (news): the two tasks' real inputs
    n_sst = args.n // 2
    words = [s.split() for s in sst2_sentences(args.data_dir, n_sst, args.seed)] + conll_words(
        args.data_dir, args.n - n_sst, args.seed
    )
    ours = MultiTaskModel.from_backbone(
        # no case feature: the peers have none, and the batches below carry pieces only (like for like)
        ModelConfig(name=path, sentence_labels=list(SST2_LABELS), token_labels=list(CONLL_TAGS), max_length=args.max_length, case_feature=False), seed=args.seed
    ).eval()
    seq = AutoModelForSequenceClassification.from_pretrained(path, num_labels=len(SST2_LABELS)).eval()
    tok = AutoModelForTokenClassification.from_pretrained(path, num_labels=len(CONLL_TAGS)).eval()

    # tokenise once, as predict_texts does, and share the batches: both sides see identical tensors
    input_ids = ours.tokenizer(words, is_split_into_words=True, truncation=True, max_length=args.max_length)["input_ids"]
    pad = ours.tokenizer.pad_token_id or 0
    batches = [pad_ids([input_ids[i] for i in idx], pad) for idx in length_sorted([len(ids) for ids in input_ids], args.batch_size)]
    peer_batches = [(torch.from_numpy(ids), torch.from_numpy(mask)) for ids, mask in batches]
    graphs = tempfile.TemporaryDirectory(prefix="bench-two-tasks-onnx-")
    exported = {}
    if args.runtime != "torch":
        from mtl.inference.onnx import export_onnx, quantize_onnx

        exported["onnx"] = export_onnx(ours, Path(graphs.name) / ONNX_FILES["onnx"])
        if args.runtime == "onnx-int8":
            exported["onnx-int8"] = quantize_onnx(exported["onnx"]["path"], Path(graphs.name) / ONNX_FILES["onnx-int8"])
        attach_onnx(ours, graphs.name)
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
            "ours_runtime": args.runtime,
            "onnx_export_seconds": {k: v["seconds"] for k, v in exported.items()},
            "threads": torch.get_num_threads(),
            "repeats": args.repeats,
            "warmup": args.warmup,
        },
    )

    def run_ours() -> tuple[int, int]:
        with batch_forward(ours, ("sentence_logits", "token_logits"), args.runtime) as forward:
            outputs = [out for _, out in run_batches(forward, input_ids, args.batch_size, pad, show_progress=False)]
        return outputs[-1]["sentence_logits"].shape[-1], outputs[-1]["token_logits"].shape[-1]

    def run_peer() -> tuple[int, int]:
        with torch.inference_mode():
            for ids, mask in peer_batches:
                sentence_logits = seq(input_ids=ids, attention_mask=mask).logits
                token_logits = tok(input_ids=ids, attention_mask=mask).logits
        return sentence_logits.shape[-1], token_logits.shape[-1]

    runs = alternate({"ours": run_ours, "peer": run_peer}, args.repeats, warmup=args.warmup)
    same_outputs = runs.last["ours"] == runs.last["peer"] == (len(SST2_LABELS), len(CONLL_TAGS))
    compare(
        NAME if args.runtime == "torch" else f"{NAME}_{args.runtime}",
        COMPARED,
        settings,
        Side(f"MultiTaskModel forward ({args.runtime})", runs.seconds["ours"], len(words)),
        Side("two single-task HF models", runs.seconds["peer"], len(words)),
        TARGET_RATIO,
        f"ratio >= {TARGET_RATIO}",
        extra_checks={"both sides output both tasks' logits": same_outputs},
        out=args.out,
    )
    graphs.cleanup()


if __name__ == "__main__":
    main()
