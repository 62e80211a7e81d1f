import dataclasses
from pathlib import Path

import pytest

from mtl.config.params import (
    AlignConfig,
    EvaluateConfig,
    ExportConfig,
    ModelParams,
    ParamsError,
    PrepareConfig,
    TrainConfig,
    load_params,
    section,
)
from mtl.config.paths import project_root, resolve_path

REPO = Path(__file__).resolve().parents[1]
SECTIONS = {"prepare": PrepareConfig, "model": ModelParams, "align": AlignConfig, "train": TrainConfig, "evaluate": EvaluateConfig, "export": ExportConfig}


def test_committed_params_yaml_is_valid_and_equals_the_code_defaults():
    """One source of truth: a config built in code (the CLI, tests) is the committed params.yaml."""
    params = load_params(REPO / "params.yaml")
    assert set(params) == set(SECTIONS)
    for name, cls in SECTIONS.items():
        assert section(params, name, cls) == cls(), f"params.yaml's {name} section differs from {cls.__name__}()"


def test_params_yaml_spells_out_every_setting():
    """A key missing from params.yaml would fall back to its code default, and `dvc exp run -S` could not set it."""
    params = load_params(REPO / "params.yaml")
    for name, cls in SECTIONS.items():
        assert set(params[name]) == {f.name for f in dataclasses.fields(cls)}, name


def test_defaults_are_the_tuned_ones():
    cfg = TrainConfig()
    assert (cfg.learning_rate, cfg.head_learning_rate, cfg.epochs, cfg.batch_size) == (1e-4, 1e-3, 3, 32)
    assert (PrepareConfig().sst2_dev, PrepareConfig().sst2_validation) == (872, None)  # dev as large as validation
    export = ExportConfig()
    assert export.for_source("real").name == "mtl-pipeline" and export.for_source("example").name == "mtl-example"


@pytest.mark.parametrize(
    "name, cls, values, message",
    [
        ("train", TrainConfig, {"learning_rate": "fast"}, "params.yaml: train.learning_rate: Input should be a valid number"),
        ("train", TrainConfig, {"learning_rate": -1.0}, "params.yaml: train.learning_rate: Input should be greater than 0, got -1.0"),
        ("train", TrainConfig, {"epochs": 2.5}, "train.epochs: Input should be a valid integer"),
        ("train", TrainConfig, {"sampling": "random"}, "train.sampling: unknown sampling 'random': choose one of proportional, round_robin, temperature"),
        ("train", TrainConfig, {"freeze": "half"}, "train.freeze: unknown freeze 'half'"),
        ("train", TrainConfig, {"task_weights": {"sentence": -1.0}}, "train.task_weights.sentence: Input should be greater than or equal to 0"),
        ("train", TrainConfig, {"task_weights": {"sentence": 0.0, "token": 0.0}}, "train.task_weights: at least one task weight must be > 0"),
        ("train", TrainConfig, {"task_weights": {"sentense": 1.0}}, "train.task_weights.sentense: unknown setting; valid settings are sentence, token"),
        ("train", TrainConfig, {"sources": {"imdb": {}}}, "train.sources: unknown data source 'imdb': choose one of real, example"),
        ("train", TrainConfig, {"epoch": 3}, "train.epoch: unknown setting; valid settings are epochs, batch_size"),
        ("model", ModelParams, {"pooling": "sum"}, "model.pooling: unknown pooling 'sum': choose one of mean, max, cls"),
        ("model", ModelParams, {"decoding": "crf"}, "model.decoding: unknown decoding 'crf': choose one of viterbi, argmax"),
        ("model", ModelParams, {"max_length": 4}, "model.max_length: Input should be greater than or equal to 8"),
        ("align", AlignConfig, {"strategy": "last"}, "align.strategy: unknown alignment 'last': choose one of first, all"),
        ("align", AlignConfig, {"data": "imdb"}, "align.data: unknown setting; valid settings are strategy"),
        ("prepare", PrepareConfig, {"sst2_train": 0}, "prepare.sst2_train: Input should be greater than or equal to 1"),
        ("prepare", PrepareConfig, {"sst2_dev": 0}, "prepare.sst2_dev: Input should be greater than or equal to 1"),
        # no null: without a dev split SST-2 validation would choose the epoch and the champion again
        ("prepare", PrepareConfig, {"sst2_dev": None}, "prepare.sst2_dev: Input should be a valid integer"),
        ("prepare", PrepareConfig, {"sst2_devv": 872}, "prepare.sst2_devv: unknown setting; valid settings are raw_dir, sst2_train, sst2_dev,"),
        ("evaluate", EvaluateConfig, {"batch_size": 0}, "evaluate.batch_size: Input should be greater than or equal to 1"),
        ("export", ExportConfig, {"models": {"real": {"name": "m", "gate": {"entity_f1": "high"}}}}, "export.models.real.gate.entity_f1: Input should be a valid number"),
        ("export", ExportConfig, {"models": {"real": {"name": "m", "gate": {"entity_f1": 1.5}}}}, "export.models.real.gate.entity_f1: Input should be less than or equal to 1"),
        ("export", ExportConfig, {"models": {"real": {"name": "m", "gat": {}}}}, "export.models.real.gat: unknown setting; valid settings are name, gate"),
        ("export", ExportConfig, {"models": {"imdb": {"name": "m"}}}, "export.models: unknown data source 'imdb': choose one of real, example"),
        ("export", ExportConfig, {"models": {"real": {"name": "m"}, "example": {"name": "m"}}}, "export.models: each data source needs its own registered name"),
        ("export", ExportConfig, {"tolerance": -0.1}, "export.tolerance: Input should be greater than or equal to 0"),
        ("export", ExportConfig, {"models": {"real": {}}}, "export.models.real.name: missing setting"),
    ],
)
def test_bad_values_name_their_key(name, cls, values, message):
    with pytest.raises(ParamsError) as err:
        section({name: values}, name, cls)
    assert message in str(err.value)


def test_a_section_that_is_not_a_mapping_names_it():
    with pytest.raises(ParamsError, match="params.yaml: train: expected a mapping of settings, got 3"):
        section({"train": 3}, "train", TrainConfig)


def test_values_dvc_writes_as_strings_still_parse():
    """`dvc exp run -S train.learning_rate=1e-4` writes 1e-4, which YAML 1.1 reads as a string."""
    assert section({"train": {"learning_rate": "1e-4"}}, "train", TrainConfig).learning_rate == 1e-4


def test_replace_keeps_validation_and_a_missing_source_is_named():
    cfg = dataclasses.replace(TrainConfig(), epochs=5)
    assert cfg.epochs == 5
    with pytest.raises(ParamsError, match="export.models: no entry for data source 'other'"):
        ExportConfig(models={"real": ExportConfig().models["real"]}).for_source("other")


def test_yaml_errors_name_the_line(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("train:\n  epochs: 3\n  lr: [1,\n")
    with pytest.raises(ParamsError, match=r"params.yaml:\d+: not valid YAML"):
        load_params(path)
    with pytest.raises(ParamsError, match="no such file"):
        load_params(tmp_path / "missing.yaml")


def test_paths_resolve_against_dvc_root(tmp_path, monkeypatch):
    """`dvc exp run --temp` runs stages in a copy; DVC_ROOT names the main repository."""
    monkeypatch.setenv("DVC_ROOT", str(tmp_path / "repo"))
    assert project_root() == tmp_path / "repo"
    assert resolve_path("../shared/data") == tmp_path / "repo" / "../shared/data"
    assert resolve_path("/abs/data") == Path("/abs/data")
    monkeypatch.delenv("DVC_ROOT")
    monkeypatch.chdir(tmp_path)
    assert project_root() == tmp_path


def test_per_source_overrides_apply_to_their_source_only_and_name_their_key():
    cfg = TrainConfig(sources={"example": {"batch_size": 8, "task_weights": {"token": 2.0}}})
    assert cfg.for_source("real") == cfg
    example = cfg.for_source("example")
    assert (example.batch_size, example.task_weights.token, example.task_weights.sentence, example.epochs) == (8, 2.0, 1.0, 3)
    with pytest.raises(ParamsError, match="train.sources.example.epochs: Input should be greater than or equal to 1"):
        TrainConfig(sources={"example": {"epochs": 0}}).for_source("example")
    with pytest.raises(ParamsError, match="train.sources.example.batchsize: unknown setting"):
        TrainConfig(sources={"example": {"batchsize": 4}}).for_source("example")
