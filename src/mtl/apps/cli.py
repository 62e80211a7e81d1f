"""``mtl``: try the encoder, generate example data, fine-tune, and predict from the command line."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from mtl.config.options import (
    ALIGNMENT_STRATEGIES,
    DECODINGS,
    POOLING_MODES,
    PRECISIONS,
    RUNTIMES,
    SAMPLING_STRATEGIES,
    check_freeze,
)
from mtl.config.params import AlignConfig, ExportConfig, ModelParams, PrepareConfig, TaskWeights, TrainConfig
from mtl.config.paths import EXAMPLE_DATA_FILE, FINE_TUNED_DIR
from mtl.config.sources import DEFAULT_SOURCES, PIPELINE_MODEL, SourceConfig

# One source of truth for defaults: the params.yaml sections' configs (TrainConfig, ModelParams, AlignConfig).
# The CLI departs from them only where the guide's defaults are kept on purpose, and its --help says so.
# Only the torch-free config layer is imported here: `mtl --help` and argument errors answer at once, and
# each command imports what it needs.
TRAIN_DEFAULTS = TrainConfig()
WEIGHT_DEFAULTS = TaskWeights()
MODEL_DEFAULTS = ModelParams()
GUIDE_EPOCHS = 5  # the guide's `fine_tune.py` defaults: small example data wants more, smaller steps
GUIDE_BATCH_SIZE = 8
EXAMPLE_SEED = PrepareConfig().seed  # the pipeline's: `mtl example-data` and --create_example_data write its file
# The backbone of a new model when --model_name is not given. The guide-walk test (tests/test_guide_walk.py) sets
# it to a tiny model so that the guide's fine-tuning commands run as written in seconds; docs/cli.md names it.
MODEL_NAME_ENV = "MTL_MODEL_NAME"


def default_model_name() -> str:
    """``$MTL_MODEL_NAME`` if set, else params.yaml's ``model.name`` default (``ModelParams``)."""
    return os.environ.get(MODEL_NAME_ENV) or MODEL_DEFAULTS.name


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


def _probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
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


def _max_length(text: str) -> int:
    value = int(text)
    try:
        ModelParams(max_length=value)  # the bounds params.yaml's model.max_length has
    except ValueError as err:  # pydantic's ValidationError: "Input should be greater than or equal to 8"
        raise argparse.ArgumentTypeError(f"{err.errors()[0]['msg'].replace('Input should be', 'must be')}, got {text}") from None
    return value


def _existing_model(text: str) -> Path:
    path = Path(text)
    # The user guide's `--model_path outputs/models/fine_tuned/model_final.pt`: a model here is a directory
    # (safetensors + JSON, no pickle), so a file name inside a saved model's directory names that model.
    if not path.is_dir() and (path.parent / "config.json").is_file():
        path = path.parent
    path = _existing_dir(str(path))
    if not (path / "config.json").is_file():
        raise argparse.ArgumentTypeError(f"{text} is not a saved mtl model (no config.json); train one with `mtl fine-tune`")
    return path


def _model_reference(text: str) -> str | Path:
    """A saved model directory, or a registered model: ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``."""
    if text.startswith("models:/"):
        if not re.fullmatch(r"models:/[^/@]+(@[\w-]+|/\d+)", text):
            raise argparse.ArgumentTypeError(f"{text}: a registered model is models:/NAME@ALIAS or models:/NAME/VERSION")
        return text
    return _existing_model(text)


def _data_source(text: str) -> str:
    if text in ("example", "real") or Path(text).is_file():
        return text
    raise argparse.ArgumentTypeError(f"choose example, real or the path of a file in the example-data format (JSON Lines or a JSON array); no such file: {text}")


def _add_encoder_options(p: argparse.ArgumentParser, trained: bool) -> None:
    # None when not given, so that a command can tell an explicit option from a default: a trained model keeps
    # its own backbone and pooling, and an option it cannot honour fails or warns, naming it.
    if trained:
        name_help = "backbone to try: a trained model built on it answers, else its untrained heads (with a warning)"
        pooling_help = "pooling of the embeddings and similarity shown (a trained model's sentence head keeps its own)"
        length_help = "word pieces kept per sentence, also for a trained model (longer sentences are cut, and the cut words counted)"
    else:
        name_help = "Hugging Face encoder to train on: Hub id, locally installed model or directory"
        pooling_help = "how token vectors become one sentence vector"
        length_help = "word pieces kept per sentence; longer sentences are truncated and reported"
    p.add_argument("--model_name", default=None, help=f"{name_help} (default: ${MODEL_NAME_ENV} if set, else {MODEL_DEFAULTS.name})")
    p.add_argument("--pooling_strategy", default=None, choices=POOLING_MODES, help=f"{pooling_help} (default: the model's; {MODEL_DEFAULTS.pooling} for a new one)")
    p.add_argument("--max_length", type=_max_length, default=None, help=f"{length_help} (default: the model's; {MODEL_DEFAULTS.max_length} for a new one)")


def build_parser() -> argparse.ArgumentParser:
    """The ``mtl`` argument parser with its subcommands."""
    parser = argparse.ArgumentParser(prog="mtl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="encode sentences, print their similarity matrix and both tasks' predictions")
    _add_encoder_options(demo, trained=True)
    demo.add_argument(
        "--model_path", type=_model_reference,
        help="a trained model directory (or a file in it, as the guide's model_final.pt), or models:/NAME@ALIAS or models:/NAME/VERSION "
        f"(default: the mtl-example @champion, else models/example/model, else {FINE_TUNED_DIR}; with --real-data the mtl-pipeline "
        "@champion, else models/real/model); without any, the heads are untrained and their predictions are random, with a warning",
    )
    demo.add_argument(
        "--real-data", dest="real_data", action="store_true",
        help="with a trained model: predictions beside gold labels on a sample of SST-2 / CoNLL-2003 validation sentences, with accuracy / F1",
    )
    demo.add_argument("--raw_dir", default="../shared/data", help="directory with sst2/ and conll2003/ for --real-data; missing: the Hub (default: %(default)s)")
    demo.add_argument("--sample", type=_positive_int, default=50, help="validation sentences per data set scored by --real-data (default: %(default)s)")

    example = sub.add_parser("example-data", help="write the generated example data set: a JSON array to a .json file, JSON Lines otherwise")
    example.add_argument("--output", type=Path, default=EXAMPLE_DATA_FILE, help="file to write: a JSON array for .json, JSON Lines otherwise (default: %(default)s)")
    example.add_argument("--n", type=_positive_int, default=900, help="number of sentences (default: %(default)s)")
    example.add_argument("--seed", type=int, default=EXAMPLE_SEED, help="generator seed; the same seed gives the same file (default: %(default)s, the pipeline's prepare.seed)")

    tune = sub.add_parser(
        "fine-tune",
        help="train the multi-task model, track the run in MLflow (experiment mtl-cli), report held-out metrics",
        description="Train the multi-task model and save it; the run is tracked in MLflow (experiment mtl-cli) and, with "
        "--register NAME, the model is registered so the app lists it. Defaults come from mtl.config.params.TrainConfig, except "
        f"--num_epochs {GUIDE_EPOCHS} and --batch_size {GUIDE_BATCH_SIZE}, the guide's defaults, kept on purpose for small data sets.",
    )
    _add_encoder_options(tune, trained=False)
    tune.add_argument(
        "--data", type=_data_source, default=None,
        help="example (generated), real (SST-2 + CoNLL-2003), or the path of your own file in the example-data format, JSON Lines "
        "or a JSON array (docs: Command line; one object per sentence with text, words, word_tags, sentence_label, optional split) "
        "(default: --example_output if that file exists, as --create_example_data wrote it, else example)",
    )
    tune.add_argument("--create_example_data", action="store_true", help="only write the generated example data (as `mtl example-data`) to --example_output and exit")
    tune.add_argument("--example_output", type=Path, default=EXAMPLE_DATA_FILE, help="file --create_example_data writes, and the default --data once it exists (default: %(default)s)")
    tune.add_argument("--validation_fraction", type=_positive_float, default=0.2, help="share of your own data held out for validation when its lines carry no split (default: %(default)s)")
    tune.add_argument("--raw_dir", default="../shared/data", help="directory with sst2/ and conll2003/ for --data real; missing: the Hub (default: %(default)s)")
    tune.add_argument("--max_train_rows", type=_positive_int, default=None, help="cap on training sentences per real data set (default: all)")
    tune.add_argument("--n", type=_positive_int, default=900, help="generated example sentences for --data example and --create_example_data (default: %(default)s)")
    tune.add_argument("--example_seed", type=int, default=EXAMPLE_SEED, help="generator seed of --data example and --create_example_data (default: %(default)s, as `mtl example-data`)")
    tune.add_argument("--num_epochs", type=_positive_int, default=GUIDE_EPOCHS, help=f"passes over the training data (default: %(default)s, the guide's; TrainConfig's is {TRAIN_DEFAULTS.epochs})")
    tune.add_argument(
        "--batch_size", type=_positive_int, default=GUIDE_BATCH_SIZE,
        help=f"sentences per step; under torchrun the global batch, split between the processes (default: %(default)s, the guide's; TrainConfig's is {TRAIN_DEFAULTS.batch_size})",
    )
    tune.add_argument("--learning_rate", type=_positive_float, default=TRAIN_DEFAULTS.learning_rate, help="AdamW learning rate of the encoder (default: %(default)s, TrainConfig's)")
    tune.add_argument(
        "--head_learning_rate", type=_positive_float, default=TRAIN_DEFAULTS.head_learning_rate,
        help="learning rate of the two heads, which start from random (default: %(default)s, TrainConfig's; None: --learning_rate)",
    )
    tune.add_argument("--task_a_weight", type=_non_negative_float, default=WEIGHT_DEFAULTS.sentence, help="weight of the sentence-classification loss; 0 turns the task off (default: %(default)s)")
    tune.add_argument("--task_b_weight", type=_non_negative_float, default=WEIGHT_DEFAULTS.token, help="weight of the token-classification loss; 0 turns the task off (default: %(default)s)")
    tune.add_argument("--sampling", choices=SAMPLING_STRATEGIES, default=TRAIN_DEFAULTS.sampling, help="how batches of the tasks' data sets are mixed (default: %(default)s)")
    tune.add_argument(
        "--decoding", choices=DECODINGS, default=MODEL_DEFAULTS.decoding,
        help="how word tags are read from the token head, saved with the model: viterbi (the best sequence IOB2 allows) "
        "or argmax (each word's own best tag) (default: %(default)s)",
    )
    tune.add_argument(
        "--case_feature", action=argparse.BooleanOptionalAction, default=MODEL_DEFAULTS.case_feature,
        help="give the token head each word's shape (lower, Title, UPPER, mixed, digit, other) as a learned vector: "
        "the capitalisation an uncased backbone never sees (default: %(default)s)",
    )
    tune.add_argument("--alignment", choices=ALIGNMENT_STRATEGIES, default=AlignConfig().strategy, help="which word pieces carry a word's tag (default: %(default)s)")
    tune.add_argument("--freeze", type=_freeze, default=TRAIN_DEFAULTS.freeze, help="none, embeddings, layers:N (embeddings + first N layers) or encoder (heads only) (default: %(default)s)")
    tune.add_argument("--seed", type=int, default=TRAIN_DEFAULTS.seed, help="seed for initialisation, batching and data (default: %(default)s)")
    tune.add_argument("--precision", choices=PRECISIONS, default=TRAIN_DEFAULTS.precision, help="bf16: bfloat16 autocast of the training forward pass (weights stay float32) (default: %(default)s)")
    tune.add_argument("--output_dir", type=Path, default=FINE_TUNED_DIR, help="the directory the trained model is saved in (default: %(default)s, the guide's)")
    tune.add_argument(
        "--register", metavar="NAME", default=None,
        help="also register the model under NAME in the MLflow registry, judged by the pipeline's gate (it takes @champion only "
        "if it passes, else @challenger); the app then lists it (default: not registered)",
    )
    tune.add_argument("--force", action="store_true", help="allow --register under a name the pipeline owns (params.yaml export.models); the gate still decides")
    tune.add_argument("--run_name", default=None, help="the MLflow run's name (default: MLflow picks one)")

    predict = sub.add_parser("predict", help="label your own sentences with a trained model")
    predict.add_argument("sentences", nargs="+", help="sentences to label (quote each one)")
    predict.add_argument(
        "--model_path", type=_model_reference, default=None,
        help="a trained model directory (or a file in it), or models:/NAME@ALIAS or models:/NAME/VERSION (default: the mtl-pipeline "
        "@champion, which `make serve` serves, else models/real/model)",
    )
    predict.add_argument(
        "--max_length", type=_max_length, default=None,
        help="word pieces kept per sentence (default: the model's); longer sentences are cut and their cut words counted (truncated_words)",
    )
    predict.add_argument("--json", action="store_true", help="print the full answers as JSON")
    predict.add_argument(
        "--threshold", type=_probability, default=0.0,
        help="drop every entity whose score (the mean of its words' tag probabilities) is below it, whole; as the served "
        "model's threshold param and the app's entity slider do (default: %(default)s, keep all)",
    )
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

    summary = sub.add_parser("summary", help="what the last pipeline run registered, with headline scores, and where to serve and browse it")
    summary.add_argument("--host", default="127.0.0.1", help="the address make serve, make app and make ui bind (default: %(default)s)")
    summary.add_argument("--port", type=_positive_int, default=5001, help="the port make serve listens on (default: %(default)s)")
    summary.add_argument("--links", action="store_true", help="print only each pipeline experiment's runs table in the MLflow UI (make ui)")

    registry = sub.add_parser(
        "registry", help="the registered models: list versions, promote one through the gate, roll back, show every alias move",
        description="@champion moves only through the gate (params.yaml's export settings for the model's name) or with "
        "--force and a reason; every move is recorded, and rollback walks the record back (docs: Pipeline, the gate).",
    )
    actions = registry.add_subparsers(dest="action", required=True, metavar="ACTION", help="list, promote, rollback or history")
    listing = actions.add_parser("list", help="every version: aliases, the gate's verdict, its gated scores, run and commit")
    listing.add_argument("name", nargs="?", default=PIPELINE_MODEL, help="registered model (default: %(default)s)")
    promote = actions.add_parser("promote", help="make VERSION @champion if it passes the gate against the current champion")
    promote.add_argument("name", help="registered model, e.g. mtl-pipeline")
    promote.add_argument("version", type=_positive_int, help="the version to promote")
    promote.add_argument("--force", action="store_true", help="promote even if it fails the gate (needs --reason, which is recorded)")
    promote.add_argument("--reason", default=None, help="why: recorded with the move (required with --force)")
    rollback = actions.add_parser("rollback", help="move @champion back to the previous champion (the recorded moves say which)")
    rollback.add_argument("name", nargs="?", default=PIPELINE_MODEL, help="registered model (default: %(default)s)")
    rollback.add_argument("--reason", default="rollback", help="why: recorded with the move (default: %(default)s)")
    history = actions.add_parser("history", help="every alias move: when, which alias, from and to which version, and why")
    history.add_argument("name", nargs="?", default=PIPELINE_MODEL, help="registered model (default: %(default)s)")

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
    """Readable table of ``predict_texts`` answers: sentence label and confidence, then tagged words (a one-task
    model's answer: its task's lines only)."""
    for answer in answers:
        print(answer["text"])
        if "sentence_label" in answer:
            print(f"  sentence: {answer['sentence_label']} ({answer['sentence_score']:.3f})")
        if "words" not in answer:
            continue
        entities = answer["entities"]
        if entities:
            for e in entities:
                print(f"  entity:   {e['type']:<8} {e['text']!r} [{e['start']}:{e['end']}] ({e['score']:.3f})")
        else:
            print("  entity:   none")
        tags = " ".join(f"{w['word']}/{w['tag']}" for w in answer["words"])
        print(f"  words:    {tags}")


def _model_config(args: argparse.Namespace, source: str, labels=None, **data: object):
    """The config of a new model from the command's model flags (the rest from ``ModelParams``) and its labels:
    ``labels`` (``mtl.data.labels.LabelSets``), else the built-in ``source``'s."""
    from mtl.config.model import ModelConfig
    from mtl.data.sources import label_sets

    flags = {
        "name": args.model_name or default_model_name(),
        "pooling": args.pooling_strategy or MODEL_DEFAULTS.pooling,
        "max_length": args.max_length or MODEL_DEFAULTS.max_length,
    }
    flags.update({key: getattr(args, key) for key in ("decoding", "case_feature") if hasattr(args, key)})
    sentence_labels, token_labels = label_sets(source) if labels is None else (labels.sentence, labels.token)
    return ModelConfig.from_params(
        ModelParams(**flags), sentence_labels=sentence_labels, token_labels=token_labels, data_source=source, **data
    )


def _same_backbone(a: str, b: str) -> bool:
    from mtl.model.backbones import resolve_backbone

    return a.rstrip("/") == b.rstrip("/") or resolve_backbone(a) == resolve_backbone(b)


def _trained_model(args: argparse.Namespace, source: str, command: str):
    """The trained model a command answers with and the line that names it, ``--max_length`` applied; or, when
    there is none to use, a string that says why (and how to get one).

    ``--model_name`` names a backbone, and a trained model keeps the one it was built on: an explicit
    ``--model_path`` on another backbone fails, naming both; a default model gives way to untrained heads on
    the backbone asked for, with that reason."""
    from mtl.apps.hints import HOW_TO_TRAIN, NO_TRAINED_MODEL
    from mtl.registry.loading import find_trained_model

    found = find_trained_model(args.model_path, source=source)
    if found is None:
        return f"{NO_TRAINED_MODEL} for the {source} data, so the heads are untrained and their predictions random;\n  {HOW_TO_TRAIN}"
    model, where = found
    wanted = getattr(args, "model_name", None)
    if wanted and not _same_backbone(wanted, model.config.backbone):
        if args.model_path is not None:
            raise SystemExit(
                f"mtl {command}: error: --model_name {wanted}: {where} is built on {model.config.backbone}, and a trained "
                f"model keeps its backbone; leave out --model_name, or train on it: python src/fine_tune.py --model_name {wanted}"
            )
        return (
            f"--model_name {wanted}: the trained model ({where}) is built on {model.config.backbone}, so the heads are untrained "
            f"here and their predictions random;\n  to train them on it: python src/fine_tune.py --model_name {wanted}"
        )
    if args.max_length is not None:
        model.set_max_length(args.max_length)
    return model, where


def _demo(args: argparse.Namespace) -> None:
    from mtl.apps.examples import DEMO_SENTENCES, REAL_DEMO_SENTENCES
    from mtl.inference.predict import embed_texts, predict_texts
    from mtl.model.encoder import cosine_similarity
    from mtl.model.multitask import MultiTaskModel

    source = "real" if args.real_data else "example"
    sentences = REAL_DEMO_SENTENCES if args.real_data else DEMO_SENTENCES
    found = _trained_model(args, source, "demo")
    if isinstance(found, str):
        print(f"warning: {found}\n", file=sys.stderr)
        model = MultiTaskModel.from_backbone(_model_config(args, source), seed=0)
    else:
        model, where = found
        print(f"model: {where}\n")
        if args.real_data:
            from mtl.apps.demo import compare_on_sample, real_validation_sample

            compare_on_sample(model, real_validation_sample(args.raw_dir, args.sample))
            return
    pooling = args.pooling_strategy or model.config.pooling
    embeddings = embed_texts(model.encoder, sentences, pooling=pooling)
    kept = f"; the sentence head keeps its {model.config.pooling}" if pooling != model.config.pooling else ""
    print(f"embeddings: {embeddings.shape[0]} x {embeddings.shape[1]} ({model.config.backbone}, {pooling} pooling{kept})")
    _print_matrix(sentences, cosine_similarity(embeddings, embeddings))
    print()
    print_answers(predict_texts(model, sentences))


def _fine_tune(args: argparse.Namespace) -> None:
    from mtl.data.sources import prepare_custom, prepare_example, prepare_real
    from mtl.data.splits import held_out_splits, splits_by_dataset
    from mtl.model.multitask import MultiTaskModel
    from mtl.pipeline.finetune import fine_tune

    if args.create_example_data:
        _write_example_data(args.example_output, args.n, args.example_seed)
        return
    if args.data is None:
        # the guide's flow: `--create_example_data`, then a plain run trains on the file it wrote
        args.data = str(args.example_output) if args.example_output.is_file() else "example"
        if args.data != "example":
            print(f"data: {args.data} (--example_output; --data example would generate the example data afresh)")
    export, sources = _export_settings()
    owned = {m.model for m in sources.values()}
    if args.register in owned and not args.force:
        # checked before any training: the pipeline's names hold the models `make serve` and the app show
        raise SystemExit(
            f"mtl fine-tune: error: {args.register} is a name the pipeline registers (params.yaml sources.<name>.model); "
            "pick another name, or pass --force to register there (the gate still decides its alias)"
        )
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
        precision=args.precision,
    )
    labels = None  # the built-in data's own label sets; a user's file brings its own (collected from its training split)
    if args.data == "example":
        source, tables = "example", prepare_example(args.n, args.example_seed)
    elif args.data == "real":
        cap = args.max_train_rows
        source, tables = "real", prepare_real(PrepareConfig(raw_dir=args.raw_dir, sst2_train=cap, conll_train=cap, seed=args.seed))
    else:
        source, (tables, labels) = "custom", prepare_custom(args.data, args.validation_fraction, args.seed)
    extra = {"data_path": str(Path(args.data).resolve())} if source == "custom" else {}
    model = MultiTaskModel.from_backbone(_model_config(args, source, labels, alignment=args.alignment, extra=extra), seed=args.seed)
    # the gate of the pipeline's model of the same data (a user's own file: the example's, for the tasks it has)
    known = "real" if source == "real" else "example"
    thresholds = sources.get(known, DEFAULT_SOURCES[known]).gate.thresholds(model.config.tasks)
    outcome = fine_tune(
        model, tables, cfg, args.output_dir, register=args.register, run_name=args.run_name, extra_params={"data": args.data},
        thresholds=thresholds, tolerance=export.tolerance,
    )
    if outcome["run_id"] is None:  # a torchrun rank other than 0: rank 0 reports
        return
    print(f"saved the model to {args.output_dir}; MLflow run {outcome['run_id']} (experiment mtl-cli)")
    if "version" in outcome:
        print(f"registered as {args.register} version {outcome['version']} (models:/{args.register}/{outcome['version']})")
        print(outcome["gate"].describe(args.register))
    # the splits that chose nothing (mtl.data.splits): CoNLL-2003 test and SST-2 validation, not SST-2 dev
    held_out_prefixes = tuple(f"{d}_{s}_" for d, splits in splits_by_dataset(tables).items() for s in held_out_splits(splits))
    held_out = {k: v for k, v in outcome["metrics"].items() if k.startswith(held_out_prefixes)} or outcome["metrics"]
    print("held-out: " + json.dumps({k: round(v, 4) for k, v in held_out.items()}))


def _write_example_data(path: Path, n: int, seed: int) -> None:
    from mtl.data.example import write_examples

    table = write_examples(path, n=n, seed=seed)
    print(f"wrote {len(table)} sentences to {path}")


def _predict(args: argparse.Namespace) -> None:
    from mtl.inference.predict import predict_texts

    if args.precision != "fp32" and args.runtime != "torch":
        raise SystemExit(f"mtl predict: error: --precision {args.precision} needs --runtime torch (got --runtime {args.runtime})")
    # the model the served endpoint and the demo use, so that the CLI's answers are the server's
    found = _trained_model(args, "real", "predict")
    if isinstance(found, str):
        from mtl.apps.hints import HOW_TO_TRAIN, NO_TRAINED_MODEL

        raise SystemExit(f"mtl predict: error: {NO_TRAINED_MODEL} (no --model_path, no {PIPELINE_MODEL} @champion, no models/real/model); {HOW_TO_TRAIN}")
    model, where = found
    print(f"model: {where}", file=sys.stderr)  # stderr, so that --json output stays JSON
    try:
        answers = predict_texts(
            model, args.sentences, return_embeddings=args.embeddings, precision=args.precision, runtime=args.runtime, threshold=args.threshold
        )
    except FileNotFoundError as err:
        raise SystemExit(f"mtl predict: error: {err}") from None
    if args.json:
        print(json.dumps(answers, indent=2))
    else:
        print_answers(answers)


def _export_onnx(args: argparse.Namespace) -> None:
    from mtl.inference.onnx import build_onnx

    report = build_onnx(args.model_path, args.output_dir, int8=args.int8)
    for runtime, done in report.items():
        print(f"{runtime}: wrote {done['path']} in {done['seconds']:.1f} s")
    fp32 = report["onnx"]
    print("float32 graph, largest difference from PyTorch: " + ", ".join(f"{k} {v:.1e}" for k, v in fp32["max_abs_diff"].items()))


def _export_settings() -> tuple[ExportConfig, dict[str, SourceConfig]]:
    """params.yaml's ``export`` and ``sources`` sections when the working directory has a params.yaml, else their defaults."""
    from mtl.config.params import load_params, section
    from mtl.config.sources import load_sources

    if not Path("params.yaml").is_file():
        return ExportConfig(), dict(DEFAULT_SOURCES)
    params = load_params()
    return section(params, "export", ExportConfig), load_sources(params)


def _gate_settings(name: str) -> tuple[dict[str, float], float] | None:
    """The thresholds and tolerance params.yaml sets for registered model ``name`` (its source's gate), or None."""
    cfg, sources = _export_settings()
    settings = next((s for s in sources.values() if s.model == name), None)
    return None if settings is None else (settings.gate.thresholds(), cfg.tolerance)


def _registry(args: argparse.Namespace) -> None:
    from mtl.registry import promotion, versions
    from mtl.tracking.store import configure

    configure()
    if args.action == "list":
        rows = versions.version_rows(args.name)
        metrics = sorted({score for row in rows for score in row["scores"]})
        print(f"{args.name}: {len(rows)} version(s)")
        print("  ".join(["version", f"{'aliases':<20}", f"{'gate':<8}", *metrics, f"{'run':<8}", "commit "]))
        for row in rows:
            scores = [f"{row['scores'][m]:.4f}".ljust(len(m)) if m in row["scores"] else "–".ljust(len(m)) for m in metrics]
            commit = (row["commit"] or "–")[:7]
            print("  ".join([row["version"].rjust(7), f"{', '.join('@' + a for a in row['aliases']):<20}", f"{row['gate']:<8}", *scores, f"{(row['run_id'] or '–')[:8]:<8}", commit]))
    elif args.action == "history":
        for move in promotion.moves(args.name):
            print(f"{move['at']}  {move['alias']:<10}  {move['from'] or '–':>3} -> {move['to']:<3}  {move['kind']:<8}  {move['why']}")
    elif args.action == "rollback":
        before, after = promotion.rollback(args.name, args.reason)
        print(f"{args.name}: @champion moved back from version {before} to version {after}")
    else:
        if args.force and not args.reason:
            raise SystemExit("mtl registry promote: error: --force needs --reason (it is recorded with the move)")
        settings = _gate_settings(args.name)
        if settings is None and not args.force:
            raise SystemExit(f"mtl registry promote: error: {args.name} has no gate in params.yaml's export.models; promote it with --force --reason")
        thresholds, tolerance = settings or ({}, 0.0)
        outcome = promotion.promote(args.name, str(args.version), thresholds, tolerance, force=args.reason if args.force else None)
        print(outcome.describe(args.name))
        if outcome.alias != versions.CHAMPION:
            raise SystemExit(1)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``mtl`` console script."""
    from mtl.config.params import ParamsError
    from mtl.data.errors import DataError

    args = build_parser().parse_args(argv)
    try:
        if args.command == "example-data":
            _write_example_data(args.output, args.n, args.seed)
        elif args.command == "demo":
            _demo(args)
        elif args.command == "fine-tune":
            _fine_tune(args)
        elif args.command == "predict":
            _predict(args)
        elif args.command == "export-onnx":
            _export_onnx(args)
        elif args.command == "registry":
            _registry(args)
        elif args.command == "summary":
            from mtl.apps.summary import experiment_links, summary_lines

            if args.links:
                print("\n".join(f"{name}: {url}" for name, url in experiment_links(".", args.host).items()))
            else:
                print("\n".join(summary_lines(".", args.host, args.port)))
    except (DataError, FileNotFoundError, LookupError, ParamsError) as err:
        # a bad row in the user's data (file:line), data that is not there, or more rows asked than it has
        # (--max_train_rows past what SST-2 train leaves after its dev split): one line, no traceback
        raise SystemExit(f"mtl {args.command}: error: {err}") from None
    except (MemoryError, RuntimeError) as err:
        if not out_of_memory(err):
            raise
        raise SystemExit(f"mtl {args.command}: error: out of memory ({str(err).strip().splitlines()[0]}); {OUT_OF_MEMORY_HINT}") from None


# the user guide's remedies, in its order; TROUBLESHOOTING.md has the measured cases
OUT_OF_MEMORY_HINT = "try a smaller --batch_size (4), a shorter --max_length (64) or a smaller backbone (--model_name sentence-transformers/all-MiniLM-L6-v2)"


def out_of_memory(err: BaseException) -> bool:
    """Whether ``err`` is torch (CPU or GPU) or Python running out of memory."""
    torch = sys.modules.get("torch")  # imported by then whenever a model ran
    if isinstance(err, MemoryError) or (torch is not None and isinstance(err, torch.OutOfMemoryError)):
        return True
    return "can't allocate memory" in str(err) or "out of memory" in str(err).lower()


if __name__ == "__main__":
    sys.exit(main())
