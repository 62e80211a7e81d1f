"""The user guide (../shared/user-guide.md), followed word for word: each of its commands, in its order, in a fresh clone.

The commands run as written, in one shell session's environment (an `export` line holds for the lines after
it), with two stand-ins: `git clone` clones this working tree instead of github.com/yourusername, and
`conda env create` / `conda activate fetch` are not run (no conda here) but their effect is set up: the
environment's variables, CONDA_PREFIX and PATH, with this test's own environment as the `fetch` environment
(already installed, so `make setup` installs nothing). The two environment variables docs/cli.md names keep the
long commands short: MTL_MODEL_NAME (the backbone of a new model) is a tiny random BERT, and HF_HOME holds a tiny
random MPNet as sentence-transformers/all-mpnet-base-v2 in a Hugging Face cache (HF_HUB_OFFLINE=1), as a
user's cache would hold the real one.

Each step checks what the command printed; MTL_GUIDE_TRANSCRIPT=FILE writes the whole walk as a Markdown table
(guide line, command, first lines printed).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.browser import chrome, needs_chromium, settled, streamlit_app
from tests.conftest import REPO, run_ok

GUIDE = REPO.parent / "shared" / "user-guide.md"
# Every command of the guide's ```bash blocks, in order (checked against the guide itself when it is there).
GUIDE_COMMANDS = [
    "git clone https://github.com/yourusername/FetchProject.git",
    "cd FetchProject",
    "conda env create -f environment.yml",
    "conda activate fetch",
    "./init_project.sh",
    "make setup",
    "python src/run_model.py",
    "make run-model",
    "python src/run_model_real_data.py",
    "make run-real-data",
    "./run_streamlit.sh",
    "make run-frontend",
    "python src/fine_tune.py --create_example_data",
    "python src/fine_tune.py --num_epochs 5 --batch_size 8",
    "python src/run_model.py --model_path outputs/models/fine_tuned/model_final.pt",
    'export STREAMLIT_WATCH_EXCLUDE_MODULES="torch,tensorflow"',
    "export STREAMLIT_SERVER_HEADLESS=true",
    "python src/fine_tune.py",
    "python src/run_model.py --model_name sentence-transformers/all-mpnet-base-v2",
    "python src/fine_tune.py --batch_size 4",
    "python src/run_model.py --model_name sentence-transformers/all-MiniLM-L6-v2",
    "python src/run_model.py --max_length 64",
]
UNTRAINED = "no trained model yet"
HOW_TO_TRAIN = "run `make run`"
# the Streamlit/torch conflict the guide's troubleshooting names: the app's log must never show it
PIPE = "\\|"  # a | inside a Markdown table cell
WATCHER_ERRORS = ("Tried to instantiate class '__path__._path'", "no running event loop", "torch.classes")


def guide_commands(text: str) -> list[str]:
    """The commands of a Markdown text's ```bash blocks, comments and blank lines left out."""
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip() and not line.strip().startswith("#")]


def test_the_walk_covers_every_command_of_the_guide():
    if not GUIDE.is_file():
        pytest.skip(f"{GUIDE} is not here; the walk runs the commands it held when this test was written")
    assert guide_commands(GUIDE.read_text()) == GUIDE_COMMANDS


def _tiny_mpnet_cache(home: Path, tokenizer_dir: Path) -> None:
    """sentence-transformers/all-mpnet-base-v2 as a 2-layer random MPNet in a Hugging Face cache at ``home``."""
    from transformers import AutoTokenizer, MPNetConfig, MPNetModel

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    repo = home / "hub" / "models--sentence-transformers--all-mpnet-base-v2"
    revision = "0" * 40
    config = MPNetConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, pad_token_id=tokenizer.pad_token_id)
    MPNetModel(config).save_pretrained(repo / "snapshots" / revision)
    tokenizer.save_pretrained(repo / "snapshots" / revision)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(revision)


class Walk:
    """One shell session through the guide: the working folder, the environment, and the transcript."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd, self.env = cwd, env
        self.transcript: list[tuple[str, str, str]] = []
        self.done: list[str] = []

    def note(self, line: str, ran: str, printed: str, started: float | None = None) -> None:
        """Record guide ``line``: the command that ran for it, what it printed, and how long it took."""
        self.done.append(line)
        seconds = f" ({time.monotonic() - started:.0f} s)" if started is not None else ""
        self.transcript.append((line, ran + seconds, printed))

    def run(self, line: str, timeout: int = 300) -> str:
        """Run guide ``line`` as written; it must succeed. Returns stdout and stderr together, as a terminal shows them."""
        started = time.monotonic()
        done = subprocess.run(["bash", "-c", line], cwd=self.cwd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=timeout)
        assert done.returncode == 0, f"{line} failed ({done.returncode}):\n{done.stdout[-4000:]}"
        printed = "\n".join(line for line in done.stdout.splitlines() if not line.startswith("make"))
        self.note(line, line, printed, started)
        return done.stdout


def _first_lines(text: str, n: int = 3) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return " / ".join(lines[:n])


def _page_text(url: str, profile: Path, wait_for: str, pick: tuple[str, str] | None = None) -> str:
    """The app page's text once ``wait_for`` shows; ``pick`` = (source radio, option text) chooses a model first."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with chrome(profile) as driver:
        driver.get(url)
        wait = WebDriverWait(driver, 180)
        wait.until(lambda d: d.find_elements(By.TAG_NAME, "textarea"))
        settled(driver)
        if pick is not None:
            source, option = pick
            driver.find_element(By.XPATH, f"//label[@data-testid='stRadioOption'][contains(., '{source}')]").click()
            settled(driver)
            found = driver.find_elements(By.CSS_SELECTOR, "input[role='combobox'][aria-label='Fine-tuned model']")
            if found:
                found[0].click()
                driver.find_element(By.XPATH, f"//*[@role='option'][contains(., '{option}')]").click()
                settled(driver)
        wait.until(lambda d: wait_for in d.find_element(By.TAG_NAME, "body").text)
        return driver.find_element(By.TAG_NAME, "body").text


def _app_line(walk: Walk, line: str, profile: Path, wait_for: str, pick: tuple[str, str] | None = None, label: str | None = None) -> str:
    """Start the app with guide ``line``, read its page in Chromium, stop it; the page must show ``wait_for`` and
    the app's log none of the watcher errors. ``label`` names a step that is not a guide command."""
    started = time.monotonic()
    with streamlit_app(["bash", "-c", line], walk.cwd, walk.env) as (url, app):
        page = _page_text(url, profile, wait_for, pick)
        time.sleep(1)
    log = app.stderr.read().decode()
    assert not [e for e in WATCHER_ERRORS if e in log], log[-3000:]
    shown = "\n".join(text for text in page.splitlines() if wait_for in text or (pick and pick[1] in text))
    walk.note(label or line, f"{line}, then {url} in headless Chromium", shown, started)
    return page


@pytest.mark.slow
@needs_chromium
def test_the_user_guide_word_for_word(tmp_path, tiny_backbone):
    stamp = Path(sys.prefix) / ".installed"
    if not stamp.is_file():
        # pytest run outside `make test`: this environment is installed (it runs the tests), as make's stamp says
        stamp.touch()
    origin = tmp_path / "origin"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if (REPO / name).is_file():
            (origin / name).parent.mkdir(parents=True, exist_ok=True)
            (origin / name).write_bytes((REPO / name).read_bytes())
            (origin / name).chmod((REPO / name).stat().st_mode)
    shared = REPO.parent / "shared"
    if shared.is_dir():
        (tmp_path / "shared").symlink_to(shared)  # ../shared beside the clone, as in CI
    _tiny_mpnet_cache(tmp_path / "hf", tiny_backbone)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "CONDA", "VIRTUAL_ENV"))}
    env.update({
        "MTL_MODEL_NAME": str(tiny_backbone), "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1",
        "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.com", "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.com",
    })
    run_ok(["git", "init", "-q", "-b", "main"], origin, env)
    run_ok(["git", "add", "-A"], origin, env)
    run_ok(["git", "commit", "-qm", "the working tree"], origin, env)
    walk = Walk(tmp_path, env)

    # --- Getting started
    line = GUIDE_COMMANDS[0]
    run_ok(["git", "clone", "-q", str(origin), "FetchProject"], tmp_path, env)
    walk.note(line, f"git clone {origin} FetchProject (this working tree, not github.com)", "")
    walk.cwd = tmp_path / "FetchProject"
    walk.note("cd FetchProject", "cd FetchProject", "")
    for line in GUIDE_COMMANDS[2:4]:
        walk.note(line, "not run: no conda here; its effect set up instead (CONDA_PREFIX, PATH: this test's environment)", "")
    env.update({"CONDA_PREFIX": sys.prefix, "CONDA_DEFAULT_ENV": "fetch", "PATH": f"{sys.prefix}/bin:{env['PATH']}"})
    # installed already: make's stamp in the environment is newer than the clone's pyproject.toml
    old = stamp.stat().st_mtime - 60
    os.utime(walk.cwd / "pyproject.toml", (old, old))
    for line in ("./init_project.sh", "make setup"):
        out = walk.run(line)
        assert f"installed into the active conda environment {sys.prefix}" in out and not (walk.cwd / ".venv").exists()
        assert "pip install" not in out

    # --- Running the model: before any training, untrained heads, a warning, and what to run
    for line in ("python src/run_model.py", "make run-model"):
        out = walk.run(line)
        assert UNTRAINED in out and HOW_TO_TRAIN in out and "python src/fine_tune.py" in out
        assert "similarity (cosine):" in out and "Apple unveiled a new iPhone in California\n  sentence:" in out
    for line in ("python src/run_model_real_data.py", "make run-real-data"):
        out = walk.run(line)
        assert f"{UNTRAINED} for the real data" in out and HOW_TO_TRAIN in out
        assert "sentence: positive" in out or "sentence: negative" in out  # SST-2's labels on the untrained heads

    # --- Using the frontend: the "no trained model yet" panel
    for i, line in enumerate(("./run_streamlit.sh", "make run-frontend")):
        page = _app_line(walk, line, tmp_path / f"chrome-{i}", "No trained model yet")
        assert "make run" in page and "python src/fine_tune.py" in page

    # --- Fine-tuning
    out = walk.run("python src/fine_tune.py --create_example_data")
    data = walk.cwd / "outputs" / "data" / "example_data.json"
    assert f"wrote 900 sentences to {data.relative_to(walk.cwd)}" in out
    assert len(json.loads(data.read_text())) == 900  # a JSON file, as the guide says
    out = walk.run("python src/fine_tune.py --num_epochs 5 --batch_size 8")
    assert "data: outputs/data/example_data.json" in out and "epoch 5:" in out and "epoch 6:" not in out
    assert "saved the model to outputs/models/fine_tuned" in out
    model = walk.cwd / "outputs" / "models" / "fine_tuned"
    saved = json.loads((model / "config.json").read_text())
    assert saved["backbone"] == str(tiny_backbone) and saved["extra"]["data_path"] == str(data.resolve())
    out = walk.run("python src/run_model.py --model_path outputs/models/fine_tuned/model_final.pt")
    assert "model: outputs/models/fine_tuned\n" in out and UNTRAINED not in out
    # "Or in the frontend, you can select your fine-tuned model from the dropdown."
    page = _app_line(walk, "./run_streamlit.sh", tmp_path / "chrome-2", "Model ran at", pick=("Fine-tuned with mtl fine-tune", "outputs/models/fine_tuned"),
                     label="(frontend) select your fine-tuned model from the dropdown")
    assert "outputs/models/fine_tuned" in page and "Technology / Weather / Other" in page

    # --- Troubleshooting: the lines hold for the commands after them, as in one terminal
    env["STREAMLIT_WATCH_EXCLUDE_MODULES"] = "torch,tensorflow"
    walk.note(GUIDE_COMMANDS[15], GUIDE_COMMANDS[15], "")
    env["STREAMLIT_SERVER_HEADLESS"] = "true"
    walk.note(GUIDE_COMMANDS[16], GUIDE_COMMANDS[16], "")
    before = (model / "model.safetensors").stat().st_mtime_ns
    out = walk.run("python src/fine_tune.py")
    assert "data: outputs/data/example_data.json" in out and "epoch 5:" in out
    assert (model / "model.safetensors").stat().st_mtime_ns != before  # trained again, into the same folder
    out = walk.run("python src/run_model.py --model_name sentence-transformers/all-mpnet-base-v2")
    # the fine-tuned model is built on the tiny backbone: it cannot answer for mpnet, and it says so
    assert "--model_name sentence-transformers/all-mpnet-base-v2: the trained model (outputs/models/fine_tuned)" in out
    assert "embeddings: 5 x 32 (sentence-transformers/all-mpnet-base-v2, mean pooling)" in out
    out = walk.run("python src/fine_tune.py --batch_size 4")
    assert "epoch 5:" in out and "saved the model to outputs/models/fine_tuned" in out
    out = walk.run("python src/run_model.py --model_name sentence-transformers/all-MiniLM-L6-v2")
    assert "embeddings: 5 x 384 (sentence-transformers/all-MiniLM-L6-v2, mean pooling)" in out
    out = walk.run("python src/run_model.py --max_length 64")
    assert "model: outputs/models/fine_tuned\n" in out and UNTRAINED not in out

    assert [line for line in walk.done if not line.startswith("(")] == GUIDE_COMMANDS
    target = os.environ.get("MTL_GUIDE_TRANSCRIPT")
    if target:
        rows = ["| guide line | command run | what it printed (first lines) |", "| --- | --- | --- |"]
        rows += [f"| `{g}` | {r} | {_first_lines(p).replace('|', PIPE)} |" for g, r, p in walk.transcript]
        Path(target).write_text("\n".join(rows) + "\n")


@pytest.mark.slow
def test_after_make_run_the_guide_scripts_answer_with_the_registered_champions(project, raw_dir):
    """`make run` registers mtl-example and mtl-pipeline: the guide's scripts then use them, not untrained heads."""
    root, env = project
    out = run_ok([sys.executable, "src/run_model.py"], root, env).stdout
    assert out.startswith("model: models:/mtl-example/1 (@champion)\n")
    done = run_ok([sys.executable, "src/run_model_real_data.py", "--raw_dir", str(raw_dir), "--sample", "8"], root, env)
    assert done.stdout.startswith("model: models:/mtl-pipeline/1 (@champion)\n") and UNTRAINED not in done.stderr
