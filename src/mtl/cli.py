"""``mtl``: try the encoder, generate example data, fine-tune, and predict from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from mtl.alignment import ALIGNMENT_STRATEGIES
from mtl.backbones import MINILM
from mtl.config import PrepareConfig
from mtl.freezing import check_freeze
from mtl.losses import TaskWeights
from mtl.pooling import POOLING_MODES
from mtl.precision import PRECISIONS
from mtl.runtime import RUNTIMES
from mtl.sampling import SAMPLING_STRATEGIES

DEMO_SENTENCES = [
    "Apple unveiled a new iPhone in California",
    "The weather in Paris is terrible today",
    "Kubernetes makes it easy to deploy Python services",
    "Heavy rain and strong winds are expected this weekend",
    "She cooked pasta for her friends on Sunday",
]
REAL_DEMO_SENTENCES = [
    "a gorgeous , witty , seductive movie .",
    "the plot is nothing but boilerplate clichés from start to finish",
    "EU rejects German call to boycott British lamb .",
    "Peter Blackburn flew from Brussels to New York on Monday .",
]


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def _freeze(text: str) -> str:
    try:
        return check_freeze(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _existing_dir(text: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"no such directory: {text}")
    return path


def _existing_model(text: str) -> Path:
    path = _existing_dir(text)
    if not (path / "config.json").is_file():
        raise argparse.ArgumentTypeError(f"{text} is not a saved mtl model (no config.json); train one with `mtl fine-tune`")
    return path


def _add_encoder_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model_name", default=MINILM, help="Hugging Face encoder: Hub id, locally installed model or directory (default: %(default)s)")
    p.add_argument("--pooling_strategy", default="mean", choices=POOLING_MODES, help="how token vectors become one sentence vector (default: %(default)s)")
    p.add_argument("--max_length", type=_positive_int, default=128, help="word pieces kept per sentence; longer sentences are truncated and reported (default: %(default)s)")


def build_parser() -> argparse.ArgumentParser:
    """The ``mtl`` argument parser with its subcommands."""
    parser = argparse.ArgumentParser(prog="mtl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="encode sentences, print their similarity matrix and both tasks' predictions")
    _add_encoder_options(demo)
    demo.add_argument("--model_path", type=_existing_model, help="a trained model directory; without it the heads are untrained and their predictions are random")
    demo.add_argument("--real-data", dest="real_data", action="store_true", help="use SST-2 / CoNLL-style sentences and their label sets")

    example = sub.add_parser("example-data", help="write the generated example data set as JSON Lines")
    example.add_argument("--output", type=Path, default=Path("data/example.jsonl"), help="file to write (default: %(default)s)")
    example.add_argument("--n", type=_positive_int, default=900, help="number of sentences (default: %(default)s)")
    example.add_argument("--seed", type=int, default=0, help="generator seed; the same seed gives the same file (default: %(default)s)")

    tune = sub.add_parser("fine-tune", help="train the multi-task model and report held-out metrics")
    _add_encoder_options(tune)
    tune.add_argument("--data", choices=("example", "real"), default="example", help="generated example data, or SST-2 + CoNLL-2003 (default: %(default)s)")
    tune.add_argument("--raw_dir", default="../shared/data", help="directory with sst2/ and conll2003/ for --data real; missing: the Hub (default: %(default)s)")
    tune.add_argument("--max_train_rows", type=_positive_int, default=None, help="cap on training sentences per real data set (default: all)")
    tune.add_argument("--n", type=_positive_int, default=900, help="generated example sentences for --data example (default: %(default)s)")
    tune.add_argument("--num_epochs", type=_positive_int, default=5, help="passes over the training data (default: %(default)s)")
    tune.add_argument("--batch_size", type=_positive_int, default=8, help="sentences per step (default: %(default)s)")
    # 1e-4, not the classic BERT-base 2e-5: MiniLM-L6 on a few hundred sentences learns entity boundaries
    # (B- vs I-) too slowly at 2e-5 (held-out entity F1 0.62 after 3 epochs, against 1.0 at 1e-4).
    tune.add_argument("--learning_rate", type=_positive_float, default=1e-4, help="AdamW learning rate of the encoder (default: %(default)s)")
    tune.add_argument("--head_learning_rate", type=_positive_float, default=1e-3, help="learning rate of the two heads, which start from random (default: %(default)s)")
    tune.add_argument("--task_a_weight", type=_non_negative_float, default=1.0, help="weight of the sentence-classification loss; 0 turns the task off (default: %(default)s)")
    tune.add_argument("--task_b_weight", type=_non_negative_float, default=1.0, help="weight of the token-classification loss; 0 turns the task off (default: %(default)s)")
    tune.add_argument("--sampling", choices=SAMPLING_STRATEGIES, default="proportional", help="how batches of the tasks' data sets are mixed (default: %(default)s)")
    tune.add_argument("--alignment", choices=ALIGNMENT_STRATEGIES, default="first", help="which word pieces carry a word's tag (default: %(default)s)")
    tune.add_argument("--freeze", type=_freeze, default="none", help="none, embeddings, layers:N (embeddings + first N layers) or encoder (heads only) (default: %(default)s)")
    tune.add_argument("--seed", type=int, default=42, help="seed for initialisation, batching and data (default: %(default)s)")
    tune.add_argument("--output_dir", type=Path, default=Path("models/cli"), help="where the trained model directory is written (default: %(default)s)")

    predict = sub.add_parser("predict", help="label your own sentences with a trained model")
    predict.add_argument("sentences", nargs="+", help="sentences to label (quote each one)")
    predict.add_argument("--model_path", type=_existing_model, default=None, help="trained model directory (default: models/mtl, the pipeline's model)")
    predict.add_argument("--json", action="store_true", help="print the full answers as JSON")
    predict.add_argument("--embeddings", action="store_true", help="include each sentence's embedding (with --json)")
    predict.add_argument(
        "--precision", choices=PRECISIONS, default="fp32", help="bf16: bfloat16 autocast, faster on CPUs with native bf16; torch only (see README)"
    )
    predict.add_argument(
        "--runtime",
        choices=RUNTIMES,
        default="torch",
        help="torch, onnx (the exported float32 graph: same outputs, faster) or onnx-int8 (int8 weights: faster, "
        "different outputs); the ONNX files come from `mtl export-onnx` (default: %(default)s)",
    )

    export = sub.add_parser("export-onnx", help="export a trained model to ONNX (model.onnx, model.int8.onnx) for --runtime onnx")
    export.add_argument("--model_path", type=_existing_model, required=True, help="trained model directory (from `mtl fine-tune` or the pipeline)")
    export.add_argument("--output_dir", type=Path, default=None, help="where the ONNX files go (default: --model_path, where --runtime onnx looks)")
    export.add_argument("--no-int8", dest="int8", action="store_false", help="skip the int8 graph")
    return parser


def _print_matrix(names: Sequence[str], matrix) -> None:
    print("similarity (cosine):")
    for i, row in enumerate(matrix):
        print(f"  [{i}] " + " ".join(f"{v:6.3f}" for v in row) + f"   {names[i][:50]}")


def print_answers(answers: list[dict]) -> None:
    """Readable table of ``predict_texts`` answers: sentence label and confidence, then tagged words."""
    for answer in answers:
        print(f"{answer['text']}\n  sentence: {answer['sentence_label']} ({answer['sentence_score']:.3f})")
        entities = answer["entities"]
        if entities:
            for e in entities:
                print(f"  entity:   {e['type']:<8} {e['text']!r} [{e['start']}:{e['end']}] ({e['score']:.3f})")
        else:
            print("  entity:   none")
        tags = " ".join(f"{w['word']}/{w['tag']}" for w in answer["words"])
        print(f"  words:    {tags}")


def _demo(args: argparse.Namespace) -> None:
    from mtl.encoder import cosine_similarity
    from mtl.inference import predict_texts
    from mtl.model import ModelConfig, MultiTaskModel
    from mtl.pipeline import label_sets

    sentences = REAL_DEMO_SENTENCES if args.real_data else DEMO_SENTENCES
    if args.model_path:
        model = MultiTaskModel.load(args.model_path)
    else:
        sentence_labels, token_labels = label_sets("real" if args.real_data else "example")
        config = ModelConfig(args.model_name, sentence_labels, token_labels, pooling=args.pooling_strategy, max_length=args.max_length)
        model = MultiTaskModel.from_backbone(config, seed=0)
        print("note: no --model_path, so both heads are untrained and their predictions are random\n")
    embeddings = model.encoder.encode(sentences)
    print(f"embeddings: {embeddings.shape[0]} x {embeddings.shape[1]} ({model.config.pooling} pooling)")
    _print_matrix(sentences, cosine_similarity(embeddings, embeddings))
    print()
    print_answers(predict_texts(model, sentences))


def _fine_tune(args: argparse.Namespace) -> None:
    from mtl.evaluation import evaluate_table, headline
    from mtl.model import ModelConfig, MultiTaskModel
    from mtl.pipeline import align_tables, by_role, label_sets, prepare_example, prepare_real
    from mtl.train import TrainConfig, train

    weights = TaskWeights(args.task_a_weight, args.task_b_weight)
    cfg = TrainConfig(
        epochs=args.num_epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        head_learning_rate=args.head_learning_rate,
        task_weights=weights,
        sampling=args.sampling,
        freeze=args.freeze,
        seed=args.seed,
    )
    if args.data == "example":
        tables = prepare_example(args.n, args.seed)
    else:
        cap = args.max_train_rows
        tables = prepare_real(PrepareConfig(raw_dir=args.raw_dir, sst2_train=cap, conll_train=cap, seed=args.seed))
    sentence_labels, token_labels = label_sets(args.data)
    config = ModelConfig(args.model_name, sentence_labels, token_labels, pooling=args.pooling_strategy, max_length=args.max_length, alignment=args.alignment)
    model = MultiTaskModel.from_backbone(config, seed=args.seed)
    encoded, reports = align_tables(tables, model.tokenizer, args.data, args.alignment, args.max_length)
    for name, report in reports.items():
        if report.truncated_words:
            print(f"{name}: {report.truncated_words} words in {report.truncated_sentences} sentences cut by max_length={args.max_length}")
    train(model, by_role(encoded, "train"), by_role(encoded, "validation"), cfg)
    model.save(args.output_dir)
    print(f"saved the model to {args.output_dir}")
    held_out = by_role(encoded, "test") or by_role(encoded, "validation")
    for name, table in held_out.items():
        print(f"held-out {name}: " + json.dumps({k: round(v, 4) for k, v in headline(evaluate_table(model, table)).items()}))


def _predict(args: argparse.Namespace) -> None:
    from mtl.inference import predict_texts
    from mtl.model import MultiTaskModel

    path = args.model_path or Path("models/mtl")
    if not (path / "config.json").is_file():
        raise SystemExit(f"mtl predict: error: no trained model at {path}; pass --model_path or run `make run` first")
    if args.precision != "fp32" and args.runtime != "torch":
        raise SystemExit(f"mtl predict: error: --precision {args.precision} needs --runtime torch (got --runtime {args.runtime})")
    try:
        answers = predict_texts(
            MultiTaskModel.load(path), args.sentences, return_embeddings=args.embeddings, precision=args.precision, runtime=args.runtime
        )
    except FileNotFoundError as err:
        raise SystemExit(f"mtl predict: error: {err}") from None
    if args.json:
        print(json.dumps(answers, indent=2))
    else:
        print_answers(answers)


def _export_onnx(args: argparse.Namespace) -> None:
    from mtl.onnx_export import build_onnx

    report = build_onnx(args.model_path, args.output_dir, int8=args.int8)
    for runtime, done in report.items():
        print(f"{runtime}: wrote {done['path']} in {done['seconds']:.1f} s")
    fp32 = report["onnx"]
    print("float32 graph, largest difference from PyTorch: " + ", ".join(f"{k} {v:.1e}" for k, v in fp32["max_abs_diff"].items()))


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``mtl`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "example-data":
        from mtl.example_data import write_examples

        table = write_examples(args.output, n=args.n, seed=args.seed)
        print(f"wrote {len(table)} sentences to {args.output}")
    elif args.command == "demo":
        _demo(args)
    elif args.command == "fine-tune":
        _fine_tune(args)
    elif args.command == "predict":
        _predict(args)
    elif args.command == "export-onnx":
        _export_onnx(args)


if __name__ == "__main__":
    sys.exit(main())
