"""Shared fixtures: a tiny randomly initialised BERT with the real MiniLM tokenizer, built once per session."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

# Set before transformers / huggingface_hub are imported: they read these once, at import.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")
# Tests are offline: never wait on Hub retries (every model they load is local).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Under pytest-xdist every worker, and every pipeline or server it starts, computes at once: one thread each
# keeps 2 workers on 2 cores instead of 4+ threads spinning for them (set before torch is imported, so the
# subprocesses inherit it).
XDIST = bool(os.environ.get("PYTEST_XDIST_WORKER"))
if XDIST:
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402
from transformers import AutoTokenizer, BertConfig, BertModel  # noqa: E402

from mtl.config.model import ModelConfig  # noqa: E402
from mtl.model.backbones import quiet_transformers, resolve_backbone  # noqa: E402
from mtl.model.multitask import MultiTaskModel  # noqa: E402

torch.set_num_threads(1 if XDIST else 2)

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RAW_DIR = Path(os.environ.get("MTL_RAW_DIR", REPO.parent / "shared" / "data"))
EXAMPLE_SENTENCE = ["Technology", "Weather", "Other"]
EXAMPLE_TOKENS = ["O", "B-TECH", "I-TECH", "B-WEATHER", "I-WEATHER"]
# The tiny pipeline's gate for its example model: above what a model that learned nothing scores (1/3, 0), below what
# the tiny backbone learns (tests/conftest.py ``project``)
TINY_EXAMPLE_GATE = 0.5
# In the project's environment while its pipeline runs; tests/test_security.py checks no file keeps it.
FAKE_HF_TOKEN = "hf_fake_" + "q7Xz3LmN9pRt2VwK5sYb8CdE"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that needs the tiny pipeline's clone (``project``) runs `dvc repro` first: it is slow, whatever its own marks say.

    So `make test-fast` (``-m "not slow"``) never starts a pipeline, a server or a browser; those tests mark
    themselves, and this catches any that reach the clone only through another fixture.
    """
    for item in items:
        if "project" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def tokenizer():
    """The real all-MiniLM-L6-v2 word-piece tokenizer (from the locally installed package)."""
    quiet_transformers()
    return AutoTokenizer.from_pretrained(resolve_backbone("sentence-transformers/all-MiniLM-L6-v2"))


@pytest.fixture(scope="session")
def tiny_bert_config(tokenizer) -> BertConfig:
    """A 2-layer, 32-wide BERT config over the MiniLM vocabulary."""
    return BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )


@pytest.fixture(scope="session")
def make_tiny_model(tokenizer, tiny_bert_config):
    """Factory for fresh tiny multi-task models (same seed, same weights) with chosen options."""

    def make(
        pooling: str = "mean", max_length: int = 64, sentence_labels=None, token_labels=None, seed: int = 0, **options
    ) -> MultiTaskModel:
        """``options``: further ``ModelConfig`` settings (``decoding``, ``case_feature``)."""
        torch.manual_seed(seed)
        config = ModelConfig(
            name="tiny-random-bert",
            sentence_labels=list(EXAMPLE_SENTENCE if sentence_labels is None else sentence_labels),
            token_labels=list(EXAMPLE_TOKENS if token_labels is None else token_labels),
            pooling=pooling,
            max_length=max_length,
            **options,
        )
        return MultiTaskModel(config, BertModel(tiny_bert_config), tokenizer).eval()

    return make


@pytest.fixture(scope="session")
def tiny_model(make_tiny_model) -> MultiTaskModel:
    """One shared tiny model; tests that change it must use ``make_tiny_model`` instead."""
    return make_tiny_model()


@pytest.fixture(scope="session")
def tiny_backbone(tmp_path_factory, tokenizer, tiny_bert_config) -> Path:
    """The tiny random BERT saved as a backbone directory, for `mtl fine-tune --model_name DIR`."""
    backbone = tmp_path_factory.mktemp("tiny-backbone")
    torch.manual_seed(0)
    BertModel(tiny_bert_config).save_pretrained(backbone)
    tokenizer.save_pretrained(backbone)
    return backbone


@pytest.fixture(scope="session")
def raw_dir() -> Path:
    """The real data directory; tests that need it skip when it is absent."""
    if not (RAW_DIR / "sst2").is_dir():
        pytest.skip(f"real data not found in {RAW_DIR}")
    return RAW_DIR


def run_ok(cmd: list[str], cwd: Path, env: dict, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run ``cmd``; fail the test with the tail of its output when it exits non-zero."""
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return done


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, seconds: int = 120) -> None:
    """Poll ``url`` until it answers 200; fail with the server's stderr if the process dies first."""
    import time

    import requests

    for _ in range(seconds):
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # a server still starting may accept and not answer yet
            pass
        assert process.poll() is None, process.stderr.read().decode()[-3000:]
        time.sleep(1)
    raise AssertionError(f"{url} did not answer within {seconds} s")


@pytest.fixture(scope="session")
def project(tmp_path_factory, tokenizer, tiny_bert_config, raw_dir):
    """A clone of the working tree whose pipeline has run once with tiny params (shared by pipeline and app tests)."""
    from transformers import BertModel

    root = tmp_path_factory.mktemp("clone")
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if (REPO / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, root / name)
    backbone = tmp_path_factory.mktemp("backbone")
    BertModel(tiny_bert_config).save_pretrained(backbone)
    tokenizer.save_pretrained(backbone)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["prepare"].update(raw_dir=str(raw_dir), sst2_train=48, sst2_dev=24, sst2_validation=24, conll_train=48, conll_validation=24, conll_test=24, example_n=300)
    params["model"].update(name=str(backbone), max_length=48)
    params["train"].update(epochs=1, batch_size=16)
    # The example model learns (the tiny backbone reaches about 0.67 sentence accuracy and 0.74 entity F1 on its
    # validation templates in 25 epochs, 7 s), so its gate has teeth: a model that learned nothing (1/3 and 0)
    # fails it. 48 SST-2 and CoNLL rows in one epoch teach nothing, so the real model's gate stays open.
    params["sources"]["example"]["train"] = {"batch_size": 8, "epochs": 25, "learning_rate": 2e-3, "head_learning_rate": 1e-2}
    params["sources"]["example"]["gate"].update(sentence_accuracy=TINY_EXAMPLE_GATE, entity_f1=TINY_EXAMPLE_GATE)
    params["sources"]["real"]["gate"].update(sentence_accuracy=0.0, entity_f1=0.0)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (root / "dvc.lock").unlink(missing_ok=True)
    env = {
        # mlflow.set_tracking_uri / set_registry_uri export MLFLOW_* variables into this process: earlier
        # tests' stores must not leak into the pipeline's subprocesses (a server would look elsewhere)
        **{k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")},
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "MLFLOW_TRACKING_URI": f"sqlite:///{root}/mlruns/mlflow.db",
        "MLFLOW_REGISTRY_URI": f"sqlite:///{root}/mlruns/mlflow.db",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "HF_TOKEN": FAKE_HF_TOKEN,
        "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.com",
    }
    run_ok(["git", "init", "-q", "-b", "main"], root, env)
    run_ok(["git", "add", "-A"], root, env)
    run_ok(["git", "commit", "-qm", "tiny params"], root, env)
    run_ok(["dvc", "repro"], root, env, timeout=900)
    return root, env




def copy_project(project, destination: Path) -> tuple[Path, dict]:
    """A private copy of the ``project`` clone (git, DVC cache, MLflow store) for tests that change its state."""
    source, env = project
    root = destination / "repo"
    shutil.copytree(source, root, symlinks=True)
    store = f"sqlite:///{root}/mlruns/mlflow.db"
    return root, {**env, "MLFLOW_TRACKING_URI": store, "MLFLOW_REGISTRY_URI": store}


def commit_all(root: Path, env: dict, message: str) -> None:
    """Commit the clone's state, as a user commits dvc.lock and metrics after a run."""
    run_ok(["git", "add", "-A"], root, env)
    run_ok(["git", "commit", "-qm", message, "--allow-empty"], root, env)


def served_predictions(root: Path, env: dict, model_uri: str, texts: list[str]) -> list[dict]:
    """What a real `mlflow models serve` of ``model_uri`` answers for ``texts``: started, asked once, stopped."""
    import signal

    import requests

    port = free_port()
    server = subprocess.Popen(
        ["mlflow", "models", "serve", "-m", model_uri, "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/ping", server)
        response = requests.post(f"http://127.0.0.1:{port}/invocations", json={"inputs": texts}, timeout=60)
        assert response.status_code == 200, response.text
        return response.json()["predictions"]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
