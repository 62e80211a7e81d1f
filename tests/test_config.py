from pathlib import Path

import pytest

from mtl.config import AlignConfig, ExportConfig, ModelParams, ParamsError, PrepareConfig, load_params, section
from mtl.train import TrainConfig

REPO = Path(__file__).resolve().parents[1]


def test_committed_params_yaml_is_valid():
    params = load_params(REPO / "params.yaml")
    assert section(params, "prepare", PrepareConfig).sst2_train == 3000
    assert section(params, "model", ModelParams).pooling == "mean"
    assert section(params, "align", AlignConfig).data == "real"
    cfg = section(params, "train", TrainConfig)
    assert cfg.task_weights.sentence == 1.0 and cfg.head_learning_rate == 0.001
    assert section(params, "export", ExportConfig).gate.entity_f1 == 0.6


@pytest.mark.parametrize(
    "name, cls, values, message",
    [
        ("train", TrainConfig, {"learning_rate": "fast"}, "params.yaml: train.learning_rate: expected a number, got 'fast'"),
        ("train", TrainConfig, {"learning_rate": -1.0}, "params.yaml: train.learning_rate: must be > 0"),
        ("train", TrainConfig, {"epochs": 2.5}, "train.epochs: expected a whole number"),
        ("train", TrainConfig, {"sampling": "random"}, "train.sampling: unknown sampling 'random': choose one of proportional, round_robin, temperature"),
        ("train", TrainConfig, {"freeze": "half"}, "train.freeze: unknown freeze 'half'"),
        ("train", TrainConfig, {"task_weights": {"sentence": -1.0}}, "train.task_weights"),
        ("train", TrainConfig, {"task_weights": {"sentense": 1.0}}, "train.task_weights.sentense: unknown setting; valid settings are sentence, token"),
        ("train", TrainConfig, {"epoch": 3}, "train.epoch: unknown setting"),
        ("model", ModelParams, {"pooling": "sum"}, "model: unknown pooling 'sum': choose one of mean, max, cls"),
        ("model", ModelParams, {"max_length": 4}, "model.max_length: must be between 8 and 512"),
        ("align", AlignConfig, {"strategy": "last"}, "align: unknown alignment 'last': choose one of first, all"),
        ("align", AlignConfig, {"data": "imdb"}, "align.data: unknown source 'imdb': choose one of real, example"),
        ("prepare", PrepareConfig, {"sst2_train": 0}, "prepare.sst2_train: a row cap must be >= 1 or null"),
        ("export", ExportConfig, {"gate": {"entity_f1": "high"}}, "export.gate.entity_f1: expected a number"),
    ],
)
def test_bad_values_name_their_key(name, cls, values, message):
    with pytest.raises(ParamsError) as err:
        section({name: values}, name, cls)
    assert message in str(err.value)


def test_yaml_errors_name_the_line(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("train:\n  epochs: 3\n  lr: [1,\n")
    with pytest.raises(ParamsError, match=r"params.yaml:\d+: not valid YAML"):
        load_params(path)
    with pytest.raises(ParamsError, match="no such file"):
        load_params(tmp_path / "missing.yaml")
