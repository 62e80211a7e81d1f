import json
import os
import subprocess
import sys

import pytest

from mtl.apps.cli import build_parser, main
from mtl.config.params import ModelParams, TrainConfig
from mtl.data.errors import DataError
from mtl.data.readers import read_example


def _error(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err


def test_example_data_writes_a_readable_file(tmp_path, capsys):
    out = tmp_path / "ex.jsonl"
    main(["example-data", "--output", str(out), "--n", "60", "--seed", "3"])
    assert "wrote 60 sentences" in capsys.readouterr().out
    table = read_example(out)
    assert len(table) == 60 and set(table["sentence_label"]) == {"Technology", "Weather", "Other"}


@pytest.mark.parametrize(
    "argv, message",
    [
        (["fine-tune", "--pooling_strategy", "avg"], "--pooling_strategy: invalid choice: 'avg' (choose from mean, max, cls)"),
        (["fine-tune", "--learning_rate", "-1"], "--learning_rate: must be > 0, got -1"),
        (["fine-tune", "--freeze", "half"], "--freeze: unknown freeze 'half': choose one of none, embeddings, layers:N, encoder"),
        (["fine-tune", "--sampling", "random"], "--sampling: invalid choice"),
        (["fine-tune", "--decoding", "crf"], "--decoding: invalid choice: 'crf' (choose from viterbi, argmax)"),
        (["predict", "hi", "--model_path", "/no/such/dir"], "--model_path: no such directory: /no/such/dir"),
        (["demo", "--model_path", "/no/such/dir"], "--model_path: no such directory"),
        (["predict", "hi", "--runtime", "tensorrt"], "--runtime: invalid choice: 'tensorrt' (choose from torch, onnx, onnx-int8)"),
        (["export-onnx"], "the following arguments are required: --model_path"),
    ],
)
def test_bad_options_name_the_option_and_valid_values(capsys, argv, message):
    err = _error(capsys, argv).replace("'mean', 'max', 'cls'", "mean, max, cls").replace("'viterbi', 'argmax'", "viterbi, argmax").replace("'torch', 'onnx', 'onnx-int8'", "torch, onnx, onnx-int8")
    assert message in err


def test_every_option_has_help():
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    for name, sub in subparsers.items():
        for action in sub._actions:
            if action.dest != "help":
                assert action.help, f"{name} {action.dest} has no help"


def test_fine_tune_defaults_come_from_train_config_except_the_guides(monkeypatch):
    from mtl.apps.cli import MODEL_NAME_ENV, _model_config
    from mtl.config.params import PrepareConfig
    from mtl.config.paths import EXAMPLE_DATA_FILE, FINE_TUNED_DIR

    monkeypatch.delenv(MODEL_NAME_ENV, raising=False)
    cfg = TrainConfig()
    args = build_parser().parse_args(["fine-tune"])
    assert (args.learning_rate, args.head_learning_rate, args.sampling, args.freeze, args.seed) == (
        cfg.learning_rate, cfg.head_learning_rate, cfg.sampling, cfg.freeze, cfg.seed)
    assert (args.task_a_weight, args.task_b_weight) == (cfg.task_weights.sentence, cfg.task_weights.token)
    # the model options are unset unless given (a trained model keeps its own); a new model takes ModelParams'
    assert (args.model_name, args.pooling_strategy, args.max_length) == (None, None, None)
    config = _model_config(args, "example")
    assert (config.name, config.pooling, config.max_length) == ("sentence-transformers/all-MiniLM-L6-v2", "mean", 128)
    monkeypatch.setenv(MODEL_NAME_ENV, "/some/tiny/backbone")  # what the guide-walk test sets
    assert _model_config(args, "example").name == "/some/tiny/backbone"
    # the user guide's paths; --create_example_data writes what `mtl example-data` writes (the pipeline's seed)
    assert (args.output_dir, args.example_output, args.data) == (FINE_TUNED_DIR, EXAMPLE_DATA_FILE, None)
    example = build_parser().parse_args(["example-data"])
    assert (example.output, example.seed) == (EXAMPLE_DATA_FILE, args.example_seed) and args.example_seed == PrepareConfig().seed
    assert (args.decoding, args.case_feature) == (ModelParams().decoding, ModelParams().case_feature)
    assert build_parser().parse_args(["fine-tune", "--case_feature"]).case_feature is True
    assert build_parser().parse_args(["fine-tune", "--no-case_feature"]).case_feature is False
    # the guide's epochs and batch size, kept on purpose: --help says so
    assert (args.num_epochs, args.batch_size) == (5, 8)
    tune = next(a for a in build_parser()._actions if a.dest == "command").choices["fine-tune"]
    assert "the guide's defaults, kept on purpose" in " ".join(tune.format_help().split())


def _tiny_tune(tmp_path, backbone, *extra):
    return ["fine-tune", "--model_name", str(backbone), "--num_epochs", "1", "--batch_size", "16", "--max_length", "48",
            "--output_dir", str(tmp_path / "models" / "cli"), *extra]


@pytest.fixture
def tracked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    return tmp_path


@pytest.mark.slow
def test_fine_tune_logs_a_run_and_registers_the_model(tracked, tiny_backbone, capsys):
    from mlflow.tracking import MlflowClient

    from mtl.model.multitask import MultiTaskModel

    main(_tiny_tune(tracked, tiny_backbone, "--n", "60", "--register", "my-model", "--run_name", "tiny"))
    out = capsys.readouterr().out
    assert "registered as my-model version 1" in out and "held-out:" in out
    client = MlflowClient()
    run = client.search_runs([client.get_experiment_by_name("mtl-cli").experiment_id])[0]
    assert run.info.run_name == "tiny" and run.data.params["train.epochs"] == "1" and run.data.params["model.data_source"] == "example"
    assert run.data.tags["mtl.model_dir"] == str(tracked / "models" / "cli")
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val_score")] == [1]  # per-epoch metrics
    assert "example_test_entity_f1" in run.data.metrics
    version = client.get_model_version("my-model", "1")
    assert version.run_id == run.info.run_id
    # no side door: the version is judged by the pipeline's gate for its data (example: 0.9 / 0.9) and tagged as export tags
    assert {"score.example.validation.sentence_accuracy", "score.example.validation.entity_f1", "selection_md5.example.validation",
            "gate.passed", "mtl.code_md5"} <= set(version.tags)
    passed = version.tags["gate.passed"] == "true"
    assert {k: str(v) for k, v in client.get_registered_model("my-model").aliases.items()} == {("champion" if passed else "challenger"): "1"}
    assert ("is @champion" if passed else "is @challenger: example.validation.") in out
    assert MultiTaskModel.load(tracked / "models" / "cli").config.data_source == "example"


@pytest.mark.slow
def test_fine_tune_reads_back_example_data_and_user_data(tracked, tiny_backbone, capsys):
    from mtl.model.multitask import MultiTaskModel

    main(["fine-tune", "--create_example_data", "--example_output", "mine.jsonl", "--n", "40", "--seed", "1"])
    assert "wrote 40 sentences to mine.jsonl" in capsys.readouterr().out
    main(_tiny_tune(tracked, tiny_backbone, "--data", "mine.jsonl"))  # its own split column is used
    assert "custom_test_" in capsys.readouterr().out
    # the user's own file without split info: a seeded 80/20 split
    lines = [json.loads(line) for line in (tracked / "mine.jsonl").read_text().splitlines()]
    (tracked / "own.jsonl").write_text("".join(json.dumps({k: v for k, v in row.items() if k != "split"}) + "\n" for row in lines))
    main(_tiny_tune(tracked, tiny_backbone, "--data", "own.jsonl"))
    assert "custom_validation_" in capsys.readouterr().out
    config = MultiTaskModel.load(tracked / "models" / "cli").config
    assert config.data_source == "custom" and config.extra["data_path"] == str(tracked / "own.jsonl")


def test_fine_tune_refuses_a_name_the_pipeline_owns_before_training(tmp_path, monkeypatch, capsys):
    """`--register mtl-example` would put an ungated CLI model beside the pipeline's: it needs --force, and it says so at once."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="mtl-example is a name the pipeline registers .* pass --force"):
        main(["fine-tune", "--register", "mtl-example", "--model_name", str(tmp_path / "no-such-backbone")])
    assert "saved the model" not in capsys.readouterr().out


def test_fine_tune_on_bad_user_data_names_file_and_line(tmp_path):
    from mtl.data.sources import prepare_custom

    row = {"text": "Rain today", "words": ["Rain", "today"], "word_tags": ["B-WEATHER", "O"], "sentence_label": "Weather"}
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(row) + "\n" + json.dumps({**row, "word_tags": ["I-WEATHER", "O"]}) + "\n")
    with pytest.raises(SystemExit, match=r"mtl fine-tune: error: .*bad.jsonl:2: word 1 \('Rain'\): tag 'I-WEATHER' after 'O'"):
        main(["fine-tune", "--data", str(bad)])
    # a user's labels are free, but validation may not hold one that training never saw
    unseen = tmp_path / "unseen.jsonl"
    unseen.write_text("".join(json.dumps({**row, "sentence_label": label, "split": split}) + "\n"
                              for label, split in (("Weather", "train"), ("Other", "train"), ("Sports", "validation"))))
    with pytest.raises(SystemExit, match=r"mtl fine-tune: error: .*unseen.jsonl:3: sentence label 'Sports' never appears in training \(training has: Other, Weather\)"):
        main(["fine-tune", "--data", str(unseen)])
    one_class = tmp_path / "one_class.jsonl"
    one_class.write_text(json.dumps(row) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(SystemExit, match=r"one_class.jsonl: one sentence label only \('Weather'\): add sentences of at least one other class"):
        main(["fine-tune", "--data", str(one_class)])
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(json.dumps({**row, "split": "train"}) + "\n\n" + json.dumps(row) + "\n")
    with pytest.raises(DataError, match=r"mixed.jsonl:3: no 'split' here"):
        prepare_custom(mixed)
    odd = tmp_path / "odd.jsonl"
    odd.write_text(json.dumps({**row, "split": "dev"}) + "\n")
    with pytest.raises(DataError, match=r"odd.jsonl:1: unknown split 'dev'"):
        prepare_custom(odd)
    rows = tmp_path / "rows.jsonl"
    # two classes: a task needs at least two (one only fails, naming the file)
    rows.write_text("".join(json.dumps({**row, "text": f"Rain {i}", "words": ["Rain", str(i)], "sentence_label": ("Weather", "Other")[i % 2]}) + "\n" for i in range(10)))
    (first, _), (again, _) = prepare_custom(rows, 0.2, seed=3), prepare_custom(rows, 0.2, seed=3)
    assert len(first["custom/validation"]) == 2 and len(first["custom/train"]) == 8
    assert list(first["custom/validation"]["text"]) == list(again["custom/validation"]["text"])  # deterministic
    with pytest.raises(SystemExit):
        main(["fine-tune", "--data", str(tmp_path / "missing.jsonl")])


@pytest.mark.slow
def test_fine_tune_on_more_real_rows_than_the_dev_split_leaves_says_so_in_one_line(raw_dir):
    """SST-2 train loses its dev sentences and their phrases: asking for all 67,349 rows names the key that asks too much."""
    with pytest.raises(SystemExit, match=r"mtl fine-tune: error: prepare.sst2_train: 67349 training sentences asked, but \d+ of the 67349 rows are left once the 872 dev"):
        main(["fine-tune", "--data", "real", "--raw_dir", str(raw_dir), "--max_train_rows", "67349"])


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path, monkeypatch, capsys):
    """With nothing trained (an empty folder, no store), the demo still runs, on untrained heads, and says so."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    main(["demo"])
    captured = capsys.readouterr()
    out = captured.out
    assert "embeddings: 5 x 384 (sentence-transformers/all-MiniLM-L6-v2, mean pooling" in out and "untrained" in captured.err and "sentence:" in out


@pytest.mark.slow
def test_demo_real_data_with_a_trained_model_prints_gold_and_scores(make_tiny_model, raw_dir, tmp_path, capsys):
    from mtl.data.readers import CONLL_TAGS, SST2_LABELS

    model = make_tiny_model(sentence_labels=SST2_LABELS, token_labels=CONLL_TAGS)
    model.save(tmp_path / "m")
    main(["demo", "--real-data", "--model_path", str(tmp_path / "m"), "--raw_dir", str(raw_dir), "--sample", "12"])
    out = capsys.readouterr().out
    assert "sst2/validation (12 sentences)" in out and "conll2003/validation (12 sentences)" in out
    assert "gold negative" in out or "gold positive" in out
    assert "sentence_accuracy" in out and "entity_f1" in out


@pytest.mark.slow
def test_demo_real_data_without_a_model_warns(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    main(["demo", "--real-data"])
    captured = capsys.readouterr()
    assert "warning: no trained model" in captured.err and "sentence:" in captured.out
    assert not (tmp_path / "mlruns").exists()  # looking for a champion created no store


def test_predict_prints_a_table_and_json(make_tiny_model, tmp_path, capsys):
    model_dir = tmp_path / "m"
    make_tiny_model().save(model_dir)
    main(["predict", "Kubernetes rocks in Paris .", "--model_path", str(model_dir)])
    captured = capsys.readouterr()
    assert "sentence:" in captured.out and "Kubernetes/" in captured.out
    assert captured.err == f"model: {model_dir}\n"
    main(["predict", "Kubernetes rocks", "Rain", "--model_path", str(model_dir), "--json", "--embeddings"])
    answers = json.loads(capsys.readouterr().out)
    assert [a["text"] for a in answers] == ["Kubernetes rocks", "Rain"]
    assert len(answers[0]["embedding"]) == 32 and answers[0]["words"][1] == {**answers[0]["words"][1], "word": "rocks", "start": 11, "end": 16}


def test_predict_without_a_model_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with pytest.raises(SystemExit, match=r"no trained model yet \(no --model_path, no mtl-pipeline @champion, no models/real/model\); "
                       r"to get one, run `make run` .* or `python src/fine_tune.py`"):
        main(["predict", "hello"])
    assert not (tmp_path / "mlruns").exists()  # looking for a champion created no store


def test_demo_uses_a_trained_example_model_and_says_which(make_tiny_model, tmp_path, monkeypatch, capsys):
    """No --model_path: mtl-example @champion, else the pipeline's example model, else the guide's fine-tuned one."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    make_tiny_model().save(tmp_path / "outputs/models/fine_tuned")
    main(["demo"])
    captured = capsys.readouterr()
    assert captured.out.startswith("model: outputs/models/fine_tuned\n") and "warning" not in captured.err
    make_tiny_model().save(tmp_path / "models/example/model")
    main(["demo"])
    assert capsys.readouterr().out.startswith("model: models/example/model\n")


def test_options_a_trained_model_cannot_honour_fail_or_warn(make_tiny_model, tmp_path, capsys):
    model_dir = tmp_path / "fine_tuned"
    make_tiny_model().save(model_dir)
    # the guide's model_final.pt names the model saved in its folder
    main(["demo", "--model_path", str(model_dir / "model_final.pt")])
    assert capsys.readouterr().out.startswith(f"model: {model_dir}\n")
    # another backbone: a trained model keeps its own, so an explicit --model_path fails, naming both
    with pytest.raises(SystemExit, match=r"--model_name sentence-transformers/all-mpnet-base-v2: .* is built on .*tiny.*keeps its backbone"):
        main(["demo", "--model_path", str(model_dir), "--model_name", "sentence-transformers/all-mpnet-base-v2"])
    # another pooling: the embeddings shown use it, and the line says the sentence head keeps its own
    main(["demo", "--model_path", str(model_dir), "--pooling_strategy", "max"])
    assert "max pooling; the sentence head keeps its mean)" in capsys.readouterr().out


def test_max_length_cuts_a_trained_models_input(make_tiny_model, tmp_path, capsys):
    model_dir = tmp_path / "m"
    make_tiny_model().save(model_dir)
    long = " ".join(["word"] * 40)
    answers = {}
    for limit in ([], ["--max_length", "16"]):
        main(["predict", long, "--model_path", str(model_dir), "--json", *limit])
        answers[len(limit)] = json.loads(capsys.readouterr().out)[0]
    assert answers[0]["truncated_words"] == 0 and len(answers[0]["words"]) == 40
    assert answers[2]["truncated_words"] == 40 - 14 and len(answers[2]["words"]) == 14  # 16 pieces less [CLS] and [SEP]
    with pytest.raises(SystemExit):
        main(["predict", long, "--max_length", "4"])
    assert "argument --max_length: must be greater than or equal to 8, got 4" in capsys.readouterr().err


def test_a_backbone_neither_local_nor_on_the_hub_says_how_to_get_it(tmp_path):
    """Offline, a name with no local copy fails in one line naming it, not with transformers' traceback."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    done = subprocess.run([sys.executable, "-m", "mtl.apps.cli", "demo", "--model_name", "someone/no-such-model"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(
        "mtl demo: error: backbone someone/no-such-model: no local copy and the Hugging Face Hub could not provide it ("
    )
    assert "pass a local directory with the model's files as --model_name" in done.stderr


def test_export_onnx_then_predict_on_each_runtime(make_tiny_model, tmp_path, capsys):
    model_dir = tmp_path / "m"
    make_tiny_model().save(model_dir)
    with pytest.raises(SystemExit, match=f"needs {model_dir}/model.onnx, which does not exist: build it with `mtl export-onnx --model_path {model_dir}`"):
        main(["predict", "Rain in Paris", "--model_path", str(model_dir), "--runtime", "onnx"])
    main(["export-onnx", "--model_path", str(model_dir)])
    out = capsys.readouterr().out
    assert f"onnx: wrote {model_dir}/model.onnx" in out and f"onnx-int8: wrote {model_dir}/model.int8.onnx" in out
    answers = {}
    for runtime in ("torch", "onnx", "onnx-int8"):
        main(["predict", "Rain in Paris", "--model_path", str(model_dir), "--json", "--runtime", runtime])
        answers[runtime] = json.loads(capsys.readouterr().out)[0]
    assert answers["onnx"]["sentence_label"] == answers["torch"]["sentence_label"]
    assert [w["word"] for w in answers["onnx-int8"]["words"]] == ["Rain", "in", "Paris"]
    with pytest.raises(SystemExit, match="--precision bf16 needs --runtime torch"):
        main(["predict", "Rain", "--model_path", str(model_dir), "--runtime", "onnx", "--precision", "bf16"])


def test_running_out_of_memory_says_what_to_try(monkeypatch, capsys):
    """A real allocation failure of torch ends in one line with the guide's remedies, not a traceback."""
    import torch

    import mtl.apps.cli as cli

    monkeypatch.setattr(cli, "_demo", lambda args: torch.empty(2**62, dtype=torch.uint8))
    with pytest.raises(SystemExit, match=r"^mtl demo: error: out of memory \(.*can't allocate memory.*\); try a smaller --batch_size \(4\), "
                       r"a shorter --max_length \(64\)"):
        main(["demo"])
    monkeypatch.setattr(cli, "_demo", lambda args: torch.ones(2) @ torch.ones(3))  # any other RuntimeError is not hidden
    with pytest.raises(RuntimeError, match="size mismatch|shapes cannot be multiplied|inconsistent"):
        main(["demo"])
