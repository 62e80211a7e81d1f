"""Embedding speed: our ``SentenceEncoder.encode`` vs ``sentence_transformers.SentenceTransformer.encode``.

Both sides load the same local all-MiniLM-L6-v2 files and embed the same real SST-2 sentences with mean
pooling, L2 normalisation, max length 256 (ST's setting for this model) and the same batch size. The
embeddings must agree, or a speed-up would be meaningless: min cosine >= 0.9999 for PyTorch float32 and
bf16, >= 0.99999 for the float32 ONNX graph. ``--precision bf16`` measures our opt-in bfloat16 autocast
path against the peer's float32 (see ``mtl.runtime.precision``). ``--runtime onnx`` / ``onnx-int8`` export the
encoder first (``mtl.inference.onnx``, timed and printed, not measured) and run it in ONNX Runtime; several
runtimes in one call alternate with the one peer in the same loop, one result row each. The int8 row's
cosine is printed, not checked: its outputs differ by design and it is judged on task scores
(``experiments/precision.py``).

    .venv/bin/python bench/encode.py --n 2000
    .venv/bin/python bench/encode.py --n 2000 --runtime torch onnx onnx-int8
    .venv/bin/python bench/encode.py --n 2000 --precision bf16
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from common import (
    RESULTS_DIR,
    Side,
    alternate,
    base_parser,
    compare,
    print_header,
    setup,
    sst2_sentences,
)

NAME = "encode"
# per row: the target ratio and the smallest cosine with the peer's embeddings (None: reported, not checked)
TARGETS: dict[str, tuple[float, float | None]] = {
    "torch": (1.5, 0.9999),
    "torch-bf16": (1.5, 0.9999),
    "onnx": (1.5, 0.99999),
    "onnx-int8": (3.0, None),
}
COMPARED = "mtl SentenceEncoder.encode vs SentenceTransformer.encode (mean pooling, normalised)"


def row_name(runtime: str, precision: str) -> str:
    """The result's name: ``encode`` for the default row, ``encode_<variant>`` for the others."""
    if runtime == "torch":
        return NAME if precision == "fp32" else f"{NAME}_{precision}"
    return f"{NAME}_{runtime}"


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0], n=2000, repeats=3, batch_size=32)
    parser.add_argument("--max-length", type=int, default=256, help="word pieces per sentence, both sides")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="our torch side's precision (the peer's is fp32)")
    parser.add_argument(
        "--runtime", nargs="+", choices=["torch", "onnx", "onnx-int8"], default=["torch"], help="our side's runtime(s), one row each"
    )
    parser.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2", help="backbone name or directory")
    args = parser.parse_args()
    setup(args)

    import torch
    from sentence_transformers import SentenceTransformer

    from mtl.config.options import check_runtime_precision
    from mtl.model.backbones import resolve_backbone
    from mtl.model.encoder import SentenceEncoder
    from mtl.runtime.engines import ONNX_FILES, attach_onnx

    runtimes = list(dict.fromkeys(args.runtime))
    for runtime in runtimes:
        check_runtime_precision(runtime, args.precision if runtime == "torch" else "fp32")
    path = resolve_backbone(args.model)
    sentences = sst2_sentences(args.data_dir, args.n, args.seed)
    ours = SentenceEncoder.from_pretrained(path, pooling="mean", normalize=True, max_length=args.max_length)
    peer = SentenceTransformer(path, device="cpu")
    peer.max_seq_length = args.max_length
    pieces = [len(ids) for ids in ours.tokenizer(sentences, truncation=True, max_length=args.max_length)["input_ids"]]

    graphs = tempfile.TemporaryDirectory(prefix="bench-encode-onnx-")
    exported = {}
    if any(r != "torch" for r in runtimes):
        from mtl.inference.onnx import export_onnx, quantize_onnx

        exported["onnx"] = export_onnx(ours, Path(graphs.name) / ONNX_FILES["onnx"])
        if "onnx-int8" in runtimes:
            exported["onnx-int8"] = quantize_onnx(exported["onnx"]["path"], Path(graphs.name) / ONNX_FILES["onnx-int8"])
        attach_onnx(ours, graphs.name)

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
            "ours_runtimes": runtimes,
            "ours_precision": args.precision,
            "onnx_export_seconds": {k: v["seconds"] for k, v in exported.items()},
            "threads": torch.get_num_threads(),
            "repeats": args.repeats,
            "warmup": args.warmup,
        },
    )

    def ours_side(runtime: str, texts: list[str]):
        precision = args.precision if runtime == "torch" else "fp32"
        return lambda: ours.encode(texts, batch_size=args.batch_size, show_progress=False, precision=precision, runtime=runtime)

    def peer_side(texts: list[str]):
        return lambda: peer.encode(
            texts, batch_size=args.batch_size, normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True
        )

    warm = sentences[: min(len(sentences), 8 * args.batch_size)]  # a short warm-up: kernels, allocator, caches
    for _ in range(args.warmup):
        for runtime in runtimes:
            ours_side(runtime, warm)()
        peer_side(warm)()
    sides = {runtime: ours_side(runtime, sentences) for runtime in runtimes}
    sides["peer"] = peer_side(sentences)
    runs = alternate(sides, args.repeats, warmup=0)

    b = runs.last["peer"]
    for runtime in runtimes:
        a = runs.last[runtime]
        # both are unit vectors, so the row-wise dot product is the cosine
        cosines = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        min_cos = float(cosines.min())
        key = "torch-bf16" if runtime == "torch" and args.precision == "bf16" else runtime
        target, min_cosine = TARGETS[key]
        label = f"{args.precision}, torch" if runtime == "torch" else runtime
        name = row_name(runtime, args.precision)
        print(f"== {name}: ours on {label}")
        checked = "" if min_cosine is None else f" (must be >= {min_cosine})"
        print(f"   embeddings agreement: min cosine {min_cos:.6f}{checked}, mean {float(cosines.mean()):.6f}, shapes {a.shape} / {b.shape}")
        extra_checks = {"same shapes": a.shape == b.shape}
        if min_cosine is not None:
            extra_checks["embeddings agree"] = a.shape == b.shape and min_cos >= min_cosine
        target_text = f"ratio >= {target}" + ("" if min_cosine is None else f" and min cosine >= {min_cosine}")
        if len(runtimes) == 1:
            out = args.out
        else:  # one file per row, beside --out if given
            out = (args.out.parent if args.out else RESULTS_DIR) / f"{name}.json"
        compare(
            name,
            COMPARED,
            settings,
            Side(f"mtl SentenceEncoder.encode ({label})", runs.seconds[runtime], len(sentences)),
            Side("sentence-transformers encode", runs.seconds["peer"], len(sentences)),
            target,
            target_text,
            extra={"min_cosine": min_cos, "mean_cosine": float(cosines.mean())},
            extra_checks=extra_checks,
            out=out,
        )
    graphs.cleanup()


if __name__ == "__main__":
    main()
