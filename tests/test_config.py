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
from mtl.config.sources import DEFAULT_SOURCES, load_sources

REPO = Path(__file__).resolve().parents[1]
SECTIONS = {"prepare": PrepareConfig, "model": ModelParams, "align": AlignConfig, "train": TrainConfig, "evaluate": EvaluateConfig, "export": ExportConfig}


def test_committed_params_yaml_is_valid_and_equals_the_code_defaults():
    """One source of truth: a config built in code (the CLI, tests) is the committed params.yaml."""
    params = load_params(REPO / "params.yaml")
    assert set(params) == {*SECTIONS, "sources"}
    for name, cls in SECTIONS.items():
        assert section(params, name, cls) == cls(), f"params.yaml's {name} section differs from {cls.__name__}()"
    assert load_sources(params) == DEFAULT_SOURCES


def test_params_yaml_spells_out_every_setting():
    """A key missing from params.yaml would fall back to its code default, and `dvc exp run -S` could not set it."""
    params = load_params(REPO / "params.yaml")
    for name, cls in SECTIONS.items():
        assert set(params[name]) == {f.name for f in dataclasses.fields(cls)}, name


def test_defaults_are_the_tuned_ones():
    cfg = TrainConfig()
    assert (cfg.learning_rate, cfg.head_learning_rate, cfg.epochs, cfg.batch_size) == (1e-4, 1e-3, 3, 32)
    assert (PrepareConfig().sst2_dev, PrepareConfig().sst2_validation) == (872, None)  # dev as large as validation
    assert DEFAULT_SOURCES["real"].model == "mtl-pipeline" and DEFAULT_SOURCES["example"].model == "mtl-example"


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
        ("train", TrainConfig, {"sources": {"imdb": {}}}, "train.sources: unknown setting"),
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
        ("export", ExportConfig, {"tolerance": -0.1}, "export.tolerance: Input should be greater than or equal to 0"),
        ("export", ExportConfig, {"models": {}}, "export.models: unknown setting; valid settings are tolerance"),
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
    from mtl.pipeline.stage import source_arg

    params = load_params(REPO / "params.yaml")
    assert source_arg(["stages/train.py", "example"], params) == ("example", DEFAULT_SOURCES["example"])
    with pytest.raises(SystemExit, match=r"usage: python stages/train.py real\|example  \(the sources params.yaml declares\)"):
        source_arg(["stages/train.py", "other"], params)


TRAVEL = {
    "data": {"path": "examples/travel", "datasets": {"travel": {"format": "jsonl", "train": "examples/travel/train.jsonl", "validation": 0.2}}},
    "model": "mtl-travel",
    "gate": {"sentence_accuracy": 0.8},
    "train": {},
}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"model": "mtl-pipeline"}, "sources.travel.model: 'mtl-pipeline' is already sources.real.model; give each source its own"),
        ({"gate": {}}, "sources.travel.gate: set sentence_accuracy, entity_f1 or both"),
        ({"gate": {"f1": 0.5}}, "sources.travel.gate.f1: unknown setting; valid settings are sentence_accuracy, entity_f1"),
        ({"gate": {"entity_f1": 1.5}}, "sources.travel.gate.entity_f1: Input should be less than or equal to 1"),
        ({"data": {"path": "examples/travel"}}, "sources.travel.data: give either datasets (your files) or builtin (real or example)"),
        ({"data": {"path": "examples/travel", "builtin": "imdb"}}, "sources.travel.data.builtin: unknown built-in data 'imdb': choose one of real, example"),
        ({"data": {"path": "examples/travel", "datasets": {"t": {"format": "xml", "train": "examples/travel/a", "validation": 0.2}}}},
         "sources.travel.data.datasets.t.format: unknown data format 'xml': choose one of jsonl, csv, tsv, conll"),
        ({"data": {"path": "examples/travel", "datasets": {"t": {"format": "jsonl", "train": "examples/travel/a"}}}},
         "sources.travel.data.datasets.t: no validation split: add validation: <a file>, or a fraction of train such as 0.2"),
        ({"data": {"path": "examples/travel", "datasets": {"t": {"format": "jsonl", "train": "data/a.jsonl", "validation": 0.2}}}},
         "datasets.t.train: data/a.jsonl is not inside path examples/travel, which DVC watches"),
        ({"data": {"path": "examples/travel", "datasets": {"t": {"format": "jsonl", "train": "examples/travel/a", "validation": 1.5}}}},
         "sources.travel.data.datasets.t.validation"),
        ({"train": None, "model": None}, "sources.travel.model: "),
    ],
)
def test_a_bad_source_names_its_key(change, message):
    params = load_params(REPO / "params.yaml")
    params["sources"]["travel"] = {**TRAVEL, **change}
    with pytest.raises(ParamsError) as err:
        load_sources(params)
    assert message in str(err.value)


def test_a_source_name_must_be_a_folder_and_stage_name():
    params = load_params(REPO / "params.yaml")
    params["sources"]["My Data"] = TRAVEL
    with pytest.raises(ParamsError, match="sources.My Data: source name 'My Data': use lower-case letters"):
        load_sources(params)
    params["sources"] = {"travel": TRAVEL}
    assert load_sources(params)["travel"].gate.thresholds() == {"sentence_accuracy": 0.8}


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
    cfg = TrainConfig()
    assert cfg.for_source("real", {}) == cfg
    example = cfg.for_source("example", {"batch_size": 8, "task_weights": {"token": 2.0}})
    assert (example.batch_size, example.task_weights.token, example.task_weights.sentence, example.epochs) == (8, 2.0, 1.0, 3)
    with pytest.raises(ParamsError, match="sources.example.train.epochs: Input should be greater than or equal to 1"):
        cfg.for_source("example", {"epochs": 0})
    with pytest.raises(ParamsError, match="sources.example.train.batchsize: unknown setting"):
        cfg.for_source("example", {"batchsize": 4})


def test_a_gate_gates_the_tasks_a_model_has():
    gate = DEFAULT_SOURCES["real"].gate
    assert gate.thresholds() == {"sentence_accuracy": 0.8, "entity_f1": 0.6}
    assert gate.thresholds(("sentence",)) == {"sentence_accuracy": 0.8}
    assert gate.beyond(("sentence",)) == ["entity_f1"] and gate.beyond(("sentence", "token")) == []
