import json

import pytest

from mtl.cli import build_parser, main
from mtl.data import read_example


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
        (["predict", "hi", "--model_path", "/no/such/dir"], "--model_path: no such directory: /no/such/dir"),
        (["demo", "--model_path", "/no/such/dir"], "--model_path: no such directory"),
        (["predict", "hi", "--runtime", "tensorrt"], "--runtime: invalid choice: 'tensorrt' (choose from torch, onnx, onnx-int8)"),
        (["export-onnx"], "the following arguments are required: --model_path"),
    ],
)
def test_bad_options_name_the_option_and_valid_values(capsys, argv, message):
    err = _error(capsys, argv).replace("'mean', 'max', 'cls'", "mean, max, cls").replace("'torch', 'onnx', 'onnx-int8'", "torch, onnx, onnx-int8")
    assert message in err


def test_every_option_has_help():
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    for name, sub in subparsers.items():
        for action in sub._actions:
            if action.dest != "help":
                assert action.help, f"{name} {action.dest} has no help"


def test_fine_tune_defaults_match_the_documented_ones():
    args = build_parser().parse_args(["fine-tune"])
    assert (args.model_name, args.pooling_strategy, args.num_epochs, args.batch_size, args.learning_rate, args.task_a_weight, args.task_b_weight) == (
        "sentence-transformers/all-MiniLM-L6-v2", "mean", 5, 8, 1e-4, 1.0, 1.0)


def test_predict_prints_a_table_and_json(make_tiny_model, tmp_path, capsys):
    model_dir = tmp_path / "m"
    make_tiny_model().save(model_dir)
    main(["predict", "Kubernetes rocks in Paris .", "--model_path", str(model_dir)])
    out = capsys.readouterr().out
    assert "sentence:" in out and "Kubernetes/" in out
    main(["predict", "Kubernetes rocks", "Rain", "--model_path", str(model_dir), "--json", "--embeddings"])
    answers = json.loads(capsys.readouterr().out)
    assert [a["text"] for a in answers] == ["Kubernetes rocks", "Rain"]
    assert len(answers[0]["embedding"]) == 32 and answers[0]["words"][1] == {**answers[0]["words"][1], "word": "rocks", "start": 11, "end": 16}


def test_predict_without_a_model_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="no trained model at models/mtl"):
        main(["predict", "hello"])


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
