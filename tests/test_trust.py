"""What `dvc status`, dvc.lock and the registry say is what a user gets: deps, reproducible locks, the gate, re-runs.

Each test works on its own copy of the tiny pipeline's clone (tests/conftest.py ``project``), with real DVC
and a real MLflow store and registry.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
import yaml

from tests.conftest import commit_all, copy_project, run_ok

pytestmark = pytest.mark.slow


def _client(env):
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    mlflow.set_registry_uri(env["MLFLOW_TRACKING_URI"])
    return MlflowClient()


def _registered(root, source="real"):
    return json.loads((root / f"models/{source}/registered.json").read_text())


def _set_param(root, dotted: str, value) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text())
    *path, last = dotted.split(".")
    node = params
    for key in path:
        node = node[key]
    node[last] = value
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.fixture
def committed_copy(project, tmp_path):
    """A private copy of the tiny pipeline's clone with its first run committed, as a user would leave it."""
    root, env = copy_project(project, tmp_path)
    commit_all(root, env, "after the first run")
    return root, env


def test_a_fresh_clone_of_a_committed_run_reproduces_the_lock_and_registers_its_models(committed_copy, tmp_path):
    """What `make run` does on a new machine: the committed dvc.lock, no DVC cache, an empty MLflow store."""
    root, env = committed_copy
    second = tmp_path / "second"
    run_ok(["git", "clone", "-q", str(root), str(second)], tmp_path, env)
    store = f"sqlite:///{second}/mlruns/mlflow.db"
    second_env = {**env, "MLFLOW_TRACKING_URI": store, "MLFLOW_REGISTRY_URI": store}
    out = run_ok(["dvc", "repro"], second, second_env, timeout=1200).stdout
    assert (second / "dvc.lock").read_text() == (root / "dvc.lock").read_text()
    # the models come out bit for bit the same, so only export's own output tells DVC the empty registry needs it
    assert {"export@real", "export@example"} <= set(re.findall(r"Running stage '([^']+)'", out)), out
    for source in ("real", "example"):
        record = _registered(second, source)
        assert record["alias"] == "champion" and record["version"] == "1", record
    assert str(_client(second_env).get_model_version_by_alias("mtl-pipeline", "champion").version) == "1"


def test_an_edit_makes_exactly_the_stages_that_import_its_layer_stale(committed_copy):
    """dvc.yaml lists code by layer folder: a runtime or freezing edit leaves the data stages as they are."""
    root, env = committed_copy
    every = {"prepare@example", "prepare@real", *(f"{stage}@{source}" for stage in ("align", "train", "evaluate", "export") for source in ("real", "example"))}
    data_stages = {"prepare@example", "prepare@real", "align@real", "align@example"}
    expected = {
        "src/mtl/runtime/engines.py": every - data_stages,
        "src/mtl/training/freezing.py": every - data_stages - {"evaluate@real", "evaluate@example"},
        "src/mtl/model/pooling.py": every - {"prepare@example", "prepare@real"},  # align reads the backbone's tokenizer
        "src/mtl/text/words.py": every,
        "src/mtl/apps/webapp.py": {"export@real", "export@example"},  # export ships the whole package with the model
    }
    for path, stale in expected.items():
        with open(root / path, "a") as handle:
            handle.write("# an edit\n")
        status = run_ok(["dvc", "status"], root, env).stdout
        assert set(re.findall(r"^(\S+):$", status, flags=re.M)) == stale, (path, status)
        run_ok(["git", "checkout", "-q", path], root, env)
    assert "up to date" in run_ok(["dvc", "status"], root, env).stdout


def test_repro_reruns_a_stage_whose_layer_changed(committed_copy):
    root, env = committed_copy
    with open(root / "src/mtl/model/pooling.py", "a") as handle:
        handle.write("# an edit\n")
    assert "src/mtl/model" in run_ok(["dvc", "status", "train@real"], root, env).stdout
    out = run_ok(["dvc", "repro", "train@real"], root, env).stdout
    assert "Running stage 'train@real'" in out
    assert "train@real" not in run_ok(["dvc", "status", "train@real"], root, env).stdout


def test_a_stricter_gate_reruns_only_export_and_the_champion_keeps_serving(committed_copy):
    """The gate only promotes: a champion that fails a stricter gate keeps @champion, export exits 0 and warns."""
    root, env = committed_copy
    client = _client(env)
    before = _registered(root)
    run_id = before["run_id"]
    params_before = client.get_run(run_id).data.params
    done = run_ok(["dvc", "exp", "run", "-S", "sources.real.gate.entity_f1=0.99"], root, env)
    out = done.stdout + done.stderr
    ran = re.findall(r"Running stage '([^']+)'", out)
    assert ran == ["export@real"], out
    after = _registered(root)
    assert after["version"] == before["version"] and after["reused_version"] and after["alias"] == "champion"
    assert after["gate"]["kept_champion"] and not after["gate"]["passed"]
    assert after["gate"]["failures"] == [
        f"conll2003.validation.entity_f1 {after['gate']['checks'][1]['value']:.4f} < 0.9900 (the threshold)"
    ]
    # the warning names the check, and says the champion keeps serving
    assert re.search(r"WARNING .*version 1 stays @champion though it fails the gate now \(conll2003\.validation\.entity_f1 .* < 0\.9900", out), out
    assert len(client.search_model_versions("name='mtl-pipeline'")) == 1
    aliases = client.get_registered_model("mtl-pipeline").aliases
    assert {k: str(v) for k, v in aliases.items()} == {"champion": before["version"]}
    assert client.get_model_version("mtl-pipeline", before["version"]).tags["gate.kept_champion"].startswith("conll2003.validation.entity_f1")
    run = client.get_run(run_id)
    assert run.data.params == params_before and run.data.tags["gate.passed"] == "false"
    # back to the committed gate: the same version passes again, still without a new version
    run_ok(["git", "checkout", "-q", "params.yaml"], root, env)
    run_ok(["dvc", "repro"], root, env)
    assert _registered(root)["alias"] == "champion" and _registered(root)["version"] == before["version"]
    assert _registered(root)["gate"]["passed"] and len(client.search_model_versions("name='mtl-pipeline'")) == 1


def test_a_champion_scored_on_other_validation_data_is_re_scored_before_the_comparison(committed_copy):
    """Like with like: the candidate chose on 20 CoNLL validation sentences, the champion was scored on 24; export
    re-scores the champion on the candidate's 20 with the current code and compares those numbers."""
    from mtl.data.tables import read_tables
    from mtl.registry.rescoring import rescore

    root, env = committed_copy
    champion = _registered(root)["version"]
    run_ok(["dvc", "exp", "run", "-S", "prepare.conll_validation=20"], root, env, timeout=1200)
    record = _registered(root)
    assert record["version"] != champion and record["champion_before"] == champion
    rescored = record["gate"]["champion_rescored"]
    assert rescored is not None and set(rescored) == {"sst2.dev.sentence_accuracy", "conll2003.validation.entity_f1"}
    # the numbers compared are the champion's on the candidate's sets, as a fresh re-score gives them
    _client(env)
    assert rescore("mtl-pipeline", champion, read_tables(root / "data/prepared/real")) == pytest.approx(rescored)
    bounds = {c["score"]: c["bound"] for c in record["gate"]["checks"] if c["kind"] == "champion"}
    assert bounds == pytest.approx(rescored)
    assert not any("selection set differs" in f for f in record["gate"]["failures"])
    # the candidate is the champion's weights again (only the selection set changed): re-scored, it compares equal and
    # passes, which it would not if either side's numbers were rounded differently (scores.json keeps 6 decimals)
    assert {c["score"]: c["value"] for c in record["gate"]["checks"] if c["kind"] == "champion"} == rescored
    assert record["gate"]["passed"] and record["alias"] == "champion"


def test_exp_run_temp_finds_the_store_and_a_relative_raw_dir(project, tmp_path):
    """`dvc exp run --temp` runs in .dvc/tmp/exps: DVC_ROOT leads it back to mlruns/ and ../shared/data."""
    root, env = copy_project(project, tmp_path)
    raw = yaml.safe_load((root / "params.yaml").read_text())["prepare"]["raw_dir"]
    (tmp_path / "shared").mkdir()
    os.symlink(raw, tmp_path / "shared" / "data")
    _set_param(root, "prepare.raw_dir", "../shared/data")
    env = {k: v for k, v in env.items() if not k.startswith("MLFLOW_")} | {"MLFLOW_DISABLE_TELEMETRY": "true"}  # default store: <root>/mlruns
    commit_all(root, env, "relative raw_dir")  # not reproduced: prepare must read ../shared/data from inside the temp copy
    out = run_ok(["dvc", "exp", "run", "--temp", "-n", "temp-run", "-S", "train.epochs=2"], root, env, timeout=1200).stdout
    assert "Running stage 'prepare@real'" in out, out
    client = _client({"MLFLOW_TRACKING_URI": f"sqlite:///{root}/mlruns/mlflow.db"})
    runs = client.search_runs([client.get_experiment_by_name("mtl-pipeline").experiment_id], "attributes.run_name = 'temp-run'")
    assert len(runs) == 1 and runs[0].data.params["train.epochs"] == "2" and runs[0].data.tags["dvc_exp_name"] == "temp-run"
    assert not (root / ".dvc/tmp/exps/standalone/mlruns").exists()
    # DVC lists every changed data dependency as a 32-character hash; `--drop '.*/'` (docs/pipeline.md) hides those path columns
    shown = run_ok(["dvc", "exp", "show", "--no-pager", "--only-changed", "--drop", ".*/"], root, {**env, "COLUMNS": "1000"}).stdout
    assert "temp-run" in shown and "conll." in shown and "train.epochs" in shown
    width = max(len(line) for line in shown.splitlines())
    assert width <= 200 and "…" not in shown, shown


def test_dvc_plots_show_renders_each_image_once(project, tmp_path):
    root, env = project
    out = tmp_path / "plots"
    run_ok(["dvc", "plots", "show", "--out", str(out)], root, env)
    page = (out / "index.html").read_text()
    images = re.findall(r"<img[^>]*src=\"([^\"]+)\"", page)
    assert len(images) == len(set(images)) == len(yaml.safe_load((root / "dvc.yaml").read_text())["plots"]), images
    assert all((out / image).stat().st_size > 1000 for image in images)
    assert "vega" not in page  # no chart that needs vega from a CDN (blank offline)


def test_a_train_killed_mid_epoch_leaves_the_previous_model_and_repro_recovers(committed_copy):
    from mtl.data.files import dir_hash
    from mtl.model.multitask import MultiTaskModel

    root, env = committed_copy
    before = dir_hash(root / "models/real/model")
    _set_param(root, "train.epochs", 40)  # long enough to be killed in the middle
    process = subprocess.Popen(["dvc", "repro", "train@real"], cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        for line in process.stdout:
            if re.search(r"epoch 2: loss", line):
                break
        os.killpg(process.pid, 9)
    finally:
        process.wait(timeout=60)
    model = root / "models/real/model"
    # DVC removes a stage's outputs before it runs it: absent is fine, half-written is not
    if model.exists():
        assert dir_hash(model) == before, "a killed train must leave the previous model whole"
    assert not [p for p in model.parent.iterdir() if p.name not in ("model", "registered.json", "export.json") and not p.name.startswith(".model.")]
    _set_param(root, "train.epochs", 1)
    run_ok(["dvc", "repro"], root, env, timeout=1200)
    assert "up to date" in run_ok(["dvc", "status"], root, env).stdout
    assert dir_hash(model) == before and MultiTaskModel.load(model).config.backbone  # the same model, whole again


def test_an_export_that_fails_after_logging_leaves_the_champion_serving(committed_copy):
    import mlflow

    root, env = committed_copy
    champion = _registered(root)["version"]
    _set_param(root, "train.seed", 7)
    failing = subprocess.run(["dvc", "repro"], cwd=root, env={**env, "MTL_TEST_FAIL_EXPORT_AFTER_LOG": "1"}, capture_output=True, text=True, timeout=1200)
    assert failing.returncode != 0 and "MTL_TEST_FAIL_EXPORT_AFTER_LOG is set" in failing.stdout + failing.stderr
    client = _client(env)
    assert str(client.get_model_version_by_alias("mtl-pipeline", "champion").version) == champion
    model = mlflow.pyfunc.load_model("models:/mtl-pipeline@champion")
    served = model.predict(["Peter flew to Paris ."])
    assert served[0]["words"][3]["word"] == "Paris"
    # `mtl predict` answers like the server: with the champion, not the seed-7 model the failed run left in the workspace
    cli = run_ok(["mtl", "predict", "--json", "Peter flew to Paris ."], root, env)
    assert f"model: models:/mtl-pipeline/{champion} (@champion)" in cli.stderr
    assert json.loads(cli.stdout) == served
    workspace = run_ok(["mtl", "predict", "--json", "--model_path", "models/real/model", "Peter flew to Paris ."], root, env)
    assert "model: models/real/model" in workspace.stderr and json.loads(workspace.stdout) != served
    run_ok(["dvc", "repro"], root, env, timeout=1200)  # the next run finishes the job
    assert "up to date" in run_ok(["dvc", "status"], root, env).stdout


def _serve_and_ask(root, env, sentences):
    """What `make serve` (the champion, through `mlflow models serve`) answers now: started, asked, stopped."""
    from tests.conftest import served_predictions

    return served_predictions(root, env, "models:/mtl-pipeline@champion", sentences)


def test_rollback_after_a_forced_bad_release_brings_the_served_model_back(committed_copy):
    """A release that fails the gate, forced to @champion, then `mtl registry rollback`: the server serves version 1 again."""
    from mtl.inference.predict import predict_texts
    from mtl.registry.loading import load_registered

    root, env = committed_copy
    sentences = ["Peter flew to Paris .", "a gorgeous , witty movie ."]
    run_ok(["dvc", "exp", "run", "-S", "train.seed=7", "-S", "sources.real.gate.entity_f1=0.99"], root, env, timeout=1200)
    assert _registered(root)["version"] == "2" and _registered(root)["alias"] == "challenger"
    forced = run_ok(["mtl", "registry", "promote", "mtl-pipeline", "2", "--force", "--reason", "a bad release, for the test"], root, env)
    assert "mtl-pipeline version 2 is @champion, forced (a bad release, for the test)" in forced.stdout
    _client(env)
    expected = {v: predict_texts(load_registered(f"models:/mtl-pipeline/{v}"), sentences) for v in ("1", "2")}
    assert expected["1"] != expected["2"]  # the two seeds' models answer differently, so the check below can tell them apart
    assert _serve_and_ask(root, env, sentences) == expected["2"]
    back = run_ok(["mtl", "registry", "rollback", "mtl-pipeline", "--reason", "the release misclassified"], root, env)
    assert "mtl-pipeline: @champion moved back from version 2 to version 1" in back.stdout
    assert _serve_and_ask(root, env, sentences) == expected["1"]
    history = run_ok(["mtl", "registry", "history", "mtl-pipeline"], root, env).stdout.splitlines()
    assert [line.split()[1:6] for line in history] == [
        ["champion", "–", "->", "1", "gate"], ["challenger", "–", "->", "2", "gate"],
        ["champion", "1", "->", "2", "forced"], ["champion", "2", "->", "1", "rollback"],
    ]
    listing = run_ok(["mtl", "registry", "list", "mtl-pipeline"], root, env).stdout
    assert re.search(r"^\s+2\s+forced", listing, flags=re.M) and re.search(r"^\s+1\s+@champion\s+passed", listing, flags=re.M), listing


def test_a_model_that_learned_nothing_becomes_challenger(committed_copy):
    """The tiny pipeline's example gate has teeth: retrained with learning rates that change nothing, the model fails it."""
    from tests.conftest import TINY_EXAMPLE_GATE

    root, env = committed_copy
    champion = _registered(root, "example")["version"]
    run_ok(["dvc", "exp", "run", "-S", "sources.example.train.learning_rate=1e-12", "-S", "sources.example.train.head_learning_rate=1e-12"],
           root, env, timeout=1200)
    record = _registered(root, "example")
    assert record["alias"] == "challenger" and record["version"] != champion and not record["gate"]["passed"]
    failed = {c["score"]: c["value"] for c in record["gate"]["checks"] if c["kind"] == "threshold" and not c["passed"]}
    assert failed and all(value < TINY_EXAMPLE_GATE for value in failed.values()), record["gate"]
    assert str(_client(env).get_model_version_by_alias("mtl-example", "champion").version) == champion
