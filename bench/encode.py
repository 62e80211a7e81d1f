"""Embedding speed: our ``SentenceEncoder.encode`` vs ``sentence_transformers.SentenceTransformer.encode``.

Both sides load the same local all-MiniLM-L6-v2 files and embed the same real SST-2 sentences with mean
pooling, L2 normalisation, max length 256 (ST's setting for this model) and the same batch size. The
embeddings must agree (min cosine >= 0.9999), or a speed-up would be meaningless. ``--precision bf16``
measures our opt-in bfloat16 autocast path against the peer's float32 (see ``mtl.precision``).

    .venv/bin/python bench/encode.py --n 2000
    .venv/bin/python bench/encode.py --n 2000 --precision bf16
"""

from __future__ import annotations

import numpy as np
from common import (
    Side,
    alternate,
    base_parser,
    compare,
    print_header,
    setup,
    sst2_sentences,
)

NAME = "encode"
TARGET_RATIO = 1.5
MIN_COSINE = 0.9999
COMPARED = "mtl SentenceEncoder.encode vs SentenceTransformer.encode (mean pooling, normalised)"


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0], n=2000, repeats=3, batch_size=32)
    parser.add_argument("--max-length", type=int, default=256, help="word pieces per sentence, both sides")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="our side's precision (the peer's is fp32)")
    parser.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2", help="backbone name or directory")
    args = parser.parse_args()
    setup(args)

    import torch
    from sentence_transformers import SentenceTransformer

    from mtl.backbones import resolve_backbone
    from mtl.encoder import SentenceEncoder

    path = resolve_backbone(args.model)
    sentences = sst2_sentences(args.data_dir, args.n, args.seed)
    ours = SentenceEncoder.from_pretrained(path, pooling="mean", normalize=True, max_length=args.max_length)
    peer = SentenceTransformer(path, device="cpu")
    peer.max_seq_length = args.max_length
    pieces = [len(ids) for ids in ours.tokenizer(sentences, truncation=True, max_length=args.max_length)["input_ids"]]

    settings = print_header(
        "encode: sentence embeddings",
        COMPARED,
        {
            "model": args.model,
            "model_path": path,
            "n_sentences": len(sentences),
            "pieces_per_sentence": f"mean {np.mean(pieces):.1f}, min {min(pieces)}, max {max(pieces)}",
            "batch_size": args.batch_size,
            "max_length": args.max_length,
            "ours_precision": args.precision,
            "threads": torch.get_num_threads(),
            "repeats": args.repeats,
            "warmup": args.warmup,
        },
    )

    warm = sentences[: min(len(sentences), 8 * args.batch_size)]  # a short warm-up: kernels, allocator, caches
    sides = {
        "ours": lambda: ours.encode(sentences, batch_size=args.batch_size, show_progress=False, precision=args.precision),
        "peer": lambda: peer.encode(
            sentences, batch_size=args.batch_size, normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True
        ),
    }
    for _ in range(args.warmup):
        ours.encode(warm, batch_size=args.batch_size, show_progress=False, precision=args.precision)
        peer.encode(warm, batch_size=args.batch_size, normalize_embeddings=True, show_progress_bar=False)
    runs = alternate(sides, args.repeats, warmup=0)

    a, b = runs.last["ours"], runs.last["peer"]
    # both are unit vectors, so the row-wise dot product is the cosine
    cosines = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    min_cos = float(cosines.min())
    print(f"   embeddings agreement: min cosine {min_cos:.6f} (must be >= {MIN_COSINE}), shapes {a.shape} / {b.shape}")
    compare(
        NAME if args.precision == "fp32" else f"{NAME}_{args.precision}",
        COMPARED,
        settings,
        Side(f"mtl SentenceEncoder.encode ({args.precision})", runs.seconds["ours"], len(sentences)),
        Side("sentence-transformers encode", runs.seconds["peer"], len(sentences)),
        TARGET_RATIO,
        f"ratio >= {TARGET_RATIO} and min cosine >= {MIN_COSINE}",
        extra={"min_cosine": min_cos},
        extra_checks={"embeddings agree": a.shape == b.shape and min_cos >= MIN_COSINE},
        out=args.out,
    )


if __name__ == "__main__":
    main()
