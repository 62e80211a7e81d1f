"""Your own data through the whole pipeline: a source declared in params.yaml, `dvc repro`, a registered champion that a
real `mlflow models serve` answers with its labels, the app's model list, and a malformed row that costs nothing."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.browser import CHROMEDRIVER, CHROMIUM, chrome, settled, streamlit_app
from tests.conftest import REPO, copy_project, run_ok, served_predictions

pytestmark = pytest.mark.slow

INTENTS = {
    "refund": ["I want my money back for {app}", "Please refund my {app} subscription", "Can I get a refund for {app} {version}"],
    "bug": ["{app} {version} crashes on start", "{app} freezes after the update", "The login button of {app} is broken"],
    "feature": ["Please add dark mode to {app}", "Could {app} {version} export to PDF", "I wish {app} had a calendar view"],
}
APPS = ["Slack", "Zoom", "Notion", "Figma", "Trello"]
VERSIONS = ["4.2", "5.0", "3.1", "2.7"]


def support_rows(n: int, seed: int) -> list[dict]:
    """Generated support tickets: 3 intents the project has never seen, APP and VERSION spans (IOB2)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        intent = list(INTENTS)[i % 3]
        words, tags = [], []
        for token in rng.choice(INTENTS[intent]).split():
            if token == "{app}":
                words.append(rng.choice(APPS)), tags.append("B-APP")
            elif token == "{version}":
                words.append(rng.choice(VERSIONS)), tags.append("B-VERSION")
            else:
                words.append(token), tags.append("O")
        rows.append({"text": " ".join(words), "words": words, "word_tags": tags, "sentence_label": intent})
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def champion(env: dict, name: str) -> str | None:
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    try:
        return str(MlflowClient(env["MLFLOW_TRACKING_URI"], env["MLFLOW_REGISTRY_URI"]).get_model_version_by_alias(name, "champion").version)
    except MlflowException:
        return None


def test_your_own_sources_train_register_and_serve_and_bad_data_costs_nothing(project, tmp_path):
    root, env = copy_project(project, tmp_path)
    write_jsonl(root / "mydata/support/train.jsonl", support_rows(90, seed=1))
    write_jsonl(root / "mydata/support/validation.jsonl", support_rows(24, seed=2))
    (root / "mydata/faq").mkdir(parents=True)
    faq = "text,label\n" + "".join(f'"{r["text"]}",{r["sentence_label"]}\n' for r in support_rows(60, seed=3))
    (root / "mydata/faq/questions.csv").write_text(faq)
    params = yaml.safe_load((root / "params.yaml").read_text())
    tiny = {"epochs": 4, "batch_size": 8, "learning_rate": 2e-3, "head_learning_rate": 1e-2}
    params["sources"]["support"] = {
        "data": {"path": "mydata/support", "datasets": {"support": {
            "format": "jsonl", "train": "mydata/support/train.jsonl", "validation": "mydata/support/validation.jsonl"}}},
        "model": "mtl-support", "gate": {"sentence_accuracy": 0.0, "entity_f1": 0.0}, "train": tiny,
    }
    params["sources"]["faq"] = {
        "data": {"path": "mydata/faq", "datasets": {"faq": {"format": "csv", "train": "mydata/faq/questions.csv", "validation": 0.25}}},
        "model": "mtl-faq", "gate": {"sentence_accuracy": 0.0}, "train": tiny,
    }
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    before = {name: champion(env, name) for name in ("mtl-pipeline", "mtl-example")}

    done = run_ok(["dvc", "repro"], root, env, timeout=900)
    # only the new sources ran: adding a source is a block of params.yaml, and nothing else re-runs
    assert "Running stage 'train@support'" in done.stdout and "Running stage 'train@faq'" in done.stdout
    assert "Running stage 'train@real'" not in done.stdout and "Running stage 'train@example'" not in done.stdout
    assert champion(env, "mtl-support") == "1" and champion(env, "mtl-faq") == "1"
    assert {name: champion(env, name) for name in before} == before
    labels = json.loads((root / "models/support/model/labels.json").read_text())
    assert labels == {"sentence": ["bug", "feature", "refund"], "token": ["O", "B-APP", "I-APP", "B-VERSION", "I-VERSION"]}
    scores = json.loads((root / "metrics/faq/scores.json").read_text())
    assert set(scores["faq"]["validation"]) == {"sentence_accuracy", "sentence_macro_f1"}  # no token scores

    texts = ["Zoom 5.0 crashes on start", "Please refund my Slack subscription"]
    support = served_predictions(root, env, "models:/mtl-support@champion", texts)
    assert all(set(a["sentence_probs"]) == {"bug", "feature", "refund"} for a in support)
    assert all(w["tag"] in labels["token"] for a in support for w in a["words"])
    assert {e["type"] for a in support for e in a["entities"]} <= {"APP", "VERSION"}
    faq_answers = served_predictions(root, env, "models:/mtl-faq@champion", texts)
    assert all(set(a["sentence_probs"]) == {"bug", "feature", "refund"} for a in faq_answers)
    assert all("words" not in a and "entities" not in a for a in faq_answers)  # a sentence-only model shows no token output

    # the app lists every registered model, these too
    from mlflow.tracking import MlflowClient

    from mtl.apps.webapp import model_choices

    assert {"mtl-support", "mtl-faq", "mtl-pipeline", "mtl-example"} <= set(model_choices(MlflowClient(env["MLFLOW_TRACKING_URI"], env["MLFLOW_REGISTRY_URI"])))
    if CHROMIUM and CHROMEDRIVER:  # and in a real browser: a sentence-only model's page shows its task only
        _page_shows_one_task(root, env, tmp_path)

    # a malformed row: dvc repro fails naming file and line, and every output and champion stays as it was
    kept = ("data/prepared/faq", "data/prepared/example", "models/support/model", "models/faq/model", "models/real/model", "models/example/model")
    hashes = {d: _tree_md5(root / d) for d in kept}
    prepared = _tree_md5(root / "data/prepared/support")
    with (root / "mydata/support/train.jsonl").open("a") as f:
        f.write(json.dumps({"text": "Zoom is down", "word_tags": ["I-APP", "O", "O"], "sentence_label": "bug"}) + "\n")
    failed = subprocess.run(["dvc", "repro"], cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert failed.returncode != 0
    assert "mydata/support/train.jsonl:91: word 1 ('Zoom'): tag 'I-APP' after 'O'" in failed.stderr + failed.stdout
    assert {d: _tree_md5(root / d) for d in hashes} == hashes
    # DVC clears a stage's outputs before it runs it; the last good ones are in its cache
    run_ok(["dvc", "checkout", "prepare@support"], root, env)
    assert _tree_md5(root / "data/prepared/support") == prepared
    assert {name: champion(env, name) for name in (*before, "mtl-support", "mtl-faq")} == {**before, "mtl-support": "1", "mtl-faq": "1"}


def _tree_md5(folder: Path) -> str:
    import hashlib

    digest = hashlib.md5()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return digest.hexdigest()


def _page_shows_one_task(root: Path, env: dict, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    app_env = {**env, "MTL_ROOT": str(root)}
    with streamlit_app([str(REPO / "run_streamlit.sh"), "--browser.gatherUsageStats", "false"], REPO, app_env) as (url, _), \
            chrome(tmp_path / "chrome") as driver:
        driver.get(f"{url}/?model=models:/mtl-faq@champion")
        settled(driver)
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(driver, 180).until(lambda d: d.find_elements(By.CSS_SELECTOR, "div.answer"))
        page = driver.find_element(By.TAG_NAME, "body").text
        driver.save_screenshot(str(tmp_path / "faq.png"))
        assert "Sentence head: bug / feature / refund (faq)" in page and "One task only" in page, page[:1500]
        assert "Token head" not in page and not driver.find_elements(By.CSS_SELECTOR, "span.word, div.legend")
        assert "Sentence label: below it" in page and "Entity: below it" not in page  # the slider of its task only
        labels = [b.text for b in driver.find_elements(By.CSS_SELECTOR, "div.answer b.label")]
        assert labels and set(labels) <= {"bug", "feature", "refund", "uncertain"}
