"""The Streamlit app in a real headless Chromium, started by ./run_streamlit.sh: pick models, type sentences, move thresholds.

By default it runs on a store filled here by `mtl fine-tune --register mtl-example` (tiny backbone). With
MTL_APP_ROOT pointing at a project folder whose store already holds real models (mtl-pipeline and
mtl-example), it drives those instead; MTL_SCREENSHOT=docs/app.png saves the screenshot of the README and docs/app.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mtl.apps.cli import main
from tests.browser import chrome, needs_chromium, settled, streamlit_app
from tests.conftest import REPO

EXAMPLE_MODEL = "mtl-example"
REAL_TINY = "models/real-tiny"  # a real-data-labelled model in the models folder of the tiny store
SENTENCES = [
    "Apple unveiled a new iPhone in California",  # example domain
    "Heavy rain and strong winds are expected this weekend",
    "EU rejects German call to boycott British lamb .",  # real data (CoNLL-2003, SST-2)
    "a gorgeous , witty , seductive movie .",
    "<script>alert(1)</script> is not <b>bold</b>",
]


@pytest.fixture(scope="module")
def app_root(tmp_path_factory, tiny_backbone, make_tiny_model):
    """A project folder with a store: `mtl-example` registered by `mtl fine-tune`, and a real-labelled model dir."""
    given = os.environ.get("MTL_APP_ROOT")
    if given:
        return Path(given).resolve()
    from mtl.data.readers import CONLL_TAGS, SST2_LABELS

    root = tmp_path_factory.mktemp("browser-store")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root}/mlruns/mlflow.db")
        main(["fine-tune", "--model_name", str(tiny_backbone), "--n", "90", "--num_epochs", "2", "--batch_size", "16",
              "--max_length", "48", "--output_dir", "models/example-tiny", "--register", EXAMPLE_MODEL, "--force", "--run_name", "tiny"])
    model = make_tiny_model(sentence_labels=SST2_LABELS, token_labels=CONLL_TAGS)
    model.config.data_source = "real"
    model.save(root / REAL_TINY)
    return root


def _pick(driver, label: str, option: str) -> None:
    """Choose ``option`` in the Streamlit selectbox labelled ``label``."""
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, f"input[role='combobox'][aria-label='{label}']").click()
    driver.find_element(By.XPATH, f"//*[@role='option'][contains(., '{option}')]").click()


def _radio(driver, option: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.XPATH, f"//label[@data-testid='stRadioOption'][contains(., '{option}')]").click()


def _slider(driver, label_start: str, keys) -> None:
    """Focus the slider whose label starts with ``label_start`` and press ``keys`` (Home, End, arrows)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    slider = driver.find_element(By.XPATH, f"//input[@type='range'][starts-with(@aria-label, \"{label_start}\")]")
    driver.execute_script("arguments[0].focus()", slider)
    ActionChains(driver).send_keys(*keys).perform()


@pytest.mark.slow
@needs_chromium
def test_app_in_a_real_browser(app_root, tmp_path):
    store = f"sqlite:///{app_root}/mlruns/mlflow.db"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}  # no store leaked by earlier tests
    env = {**clean, "MTL_ROOT": str(app_root), "MLFLOW_TRACKING_URI": store, "MLFLOW_REGISTRY_URI": store}
    with streamlit_app([str(REPO / "run_streamlit.sh"), "--browser.gatherUsageStats", "false"], REPO, env) as (url, _), \
            chrome(tmp_path / "chrome") as driver:
        try:
            _drive(driver, url)
        finally:
            if os.environ.get("MTL_PAGE_DUMP"):
                Path(os.environ["MTL_PAGE_DUMP"]).write_text(driver.page_source)
            driver.save_screenshot(str(Path(os.environ.get("MTL_SCREENSHOT", tmp_path / "app.png"))))


def _drive(driver, url: str) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    wait = WebDriverWait(driver, 180)
    area = wait.until(ec.presence_of_element_located((By.TAG_NAME, "textarea")))
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "div.answer"))
    settled(driver)

    # switch to the example model (Technology / Weather / Other) and say what its labels mean
    _pick(driver, "Registered model", EXAMPLE_MODEL)
    wait.until(lambda d: "Technology / Weather / Other" in d.find_element(By.TAG_NAME, "body").text)
    settled(driver)

    # type sentences from both domains, one hostile
    area = driver.find_element(By.TAG_NAME, "textarea")
    area.send_keys(Keys.CONTROL, "a")
    area.send_keys(Keys.DELETE)
    for i, sentence in enumerate(SENTENCES):
        area.send_keys(sentence)
        if i < len(SENTENCES) - 1:
            area.send_keys(Keys.SHIFT, Keys.ENTER)
    area.send_keys(Keys.CONTROL, Keys.ENTER)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "div.answer")) == len(SENTENCES))
    settled(driver)
    answers = driver.find_elements(By.CSS_SELECTOR, "div.answer")
    labels = [a.find_element(By.CSS_SELECTOR, "b.label").text for a in answers]
    assert set(labels) <= {"Technology", "Weather", "Other", "uncertain"}, labels

    # coloured word tags with their legend, every word of every sentence shown; the entity threshold at 0 keeps
    # every entity of the tiny model (its scores are low), so there are tagged words to check
    _slider(driver, "Entity", [Keys.HOME])
    settled(driver)
    words = driver.find_elements(By.CSS_SELECTOR, "span.word")
    assert len(words) >= sum(len(s.split()) for s in SENTENCES)
    legend = [item.text for item in driver.find_elements(By.CSS_SELECTOR, ".legend-item")]
    assert legend == ["TECH", "WEATHER", "O"]
    tagged = [w for w in words if w.get_attribute("data-tag") != "O"]
    assert tagged, "no word is tagged: the colour check below would check nothing"
    for word in tagged:
        kind = word.get_attribute("data-tag").split("-", 1)[1]
        swatch = driver.find_element(By.CSS_SELECTOR, f".legend-item[data-type='{kind}']")
        assert word.value_of_css_property("background-color") == swatch.value_of_css_property("background-color")
    # a probability chart per sentence, the similarity heatmap and the PCA projection
    charts = driver.find_elements(By.CSS_SELECTOR, "[data-testid='stVegaLiteChart']")
    assert len(charts) == len(SENTENCES) + 2
    page = driver.find_element(By.TAG_NAME, "body").text
    assert "Similarity (cosine, mean pooling)" in page and "Embeddings (" in page

    # the hostile sentence is text: no alert, no bold element, the markup shown literally
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018
    assert not driver.find_elements(By.XPATH, "//div[@class='answer']//b[text()='bold']")

    # a threshold moves: every sentence label becomes uncertain, without re-running the model
    ran = next(e.text for e in driver.find_elements(By.XPATH, "//*[starts-with(text(), 'Model ran at')]"))
    _slider(driver, "Sentence label", [Keys.END])
    wait.until(lambda d: [a.find_element(By.CSS_SELECTOR, "b.label").text for a in d.find_elements(By.CSS_SELECTOR, "div.answer")] == ["uncertain"] * len(SENTENCES))
    _slider(driver, "Entity", [Keys.END])
    wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "mark.entity"))
    settled(driver)
    assert "<script>alert(1)</script> is not <b>bold</b>" in driver.find_elements(By.CSS_SELECTOR, "div.answer")[-1].text
    assert ran == next(e.text for e in driver.find_elements(By.XPATH, "//*[starts-with(text(), 'Model ran at')]"))
    for label in ("Sentence label", "Entity"):  # back to 0.5 for the screenshot
        _slider(driver, label, [Keys.HOME] + [Keys.ARROW_RIGHT] * 10)
    settled(driver)

    # another source: a bare backbone shows embeddings only
    _radio(driver, "Pre-trained backbone (embeddings only)")
    wait.until(lambda d: "untrained heads" in d.find_element(By.TAG_NAME, "body").text)
    settled(driver)
    assert not driver.find_elements(By.CSS_SELECTOR, "div.answer")
    assert len(driver.find_elements(By.CSS_SELECTOR, "[data-testid='stVegaLiteChart']")) == 2
    _radio(driver, "Registered model")
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "div.answer")) == len(SENTENCES))
    settled(driver)
    # a window as tall as the page, so the screenshot shows all of it
    height = driver.execute_script("return document.querySelector('[data-testid=\"stMainBlockContainer\"]').scrollHeight")
    driver.set_window_size(1500, min(int(height) + 140, 4000))
    settled(driver)
