"""The Streamlit app in a real headless Chromium: pick the registered model, analyse sentences, see answers."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from mtl.webapp import highlight_html, model_uri, sentences_from_text
from tests.conftest import free_port, wait_until_up

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")


def test_highlight_marks_entities_and_escapes_the_rest():
    answer = {"text": "<b>Apple</b> in Paris", "entities": [{"type": "ORG", "text": "Apple", "start": 3, "end": 8, "score": 0.9}]}
    out = highlight_html(answer, ["ORG"])
    assert out.startswith("&lt;b&gt;<mark class=\"entity\" data-type=\"ORG\"")
    assert ">Apple<sub" in out and out.endswith("&lt;/b&gt; in Paris")


def test_model_uri_and_sentence_split():
    assert model_uri("m", "@champion") == "models:/m@champion"
    assert model_uri("m", "3") == "models:/m/3"
    assert sentences_from_text(" a \n\n b\n") == ["a", "b"]


@pytest.mark.slow
@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver (.ci/run installs them)")
def test_app_in_a_real_browser(project, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    root, env = project
    port = free_port()
    app = subprocess.Popen(
        ["streamlit", "run", "app/streamlit_app.py", "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=root, env={**env, "MTL_ROOT": str(root)}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1300,1400", f"--user-data-dir={tmp_path / 'chrome'}"):
        options.add_argument(flag)
    driver = None
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(f"{url}/_stcore/health", app)
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.get(url)
        wait = WebDriverWait(driver, 120)
        area = wait.until(ec.presence_of_element_located((By.TAG_NAME, "textarea")))
        assert "Apple unveiled" in area.get_attribute("value")
        wait.until(lambda d: "@champion" in d.page_source)  # the sidebar's model picker
        button = wait.until(ec.element_to_be_clickable((By.XPATH, "//button[.//p[text()='Analyse'] or text()='Analyse']")))
        button.click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "div.answer")) == 3)
        answers = driver.find_elements(By.CSS_SELECTOR, "div.answer")
        labels = [a.find_element(By.CSS_SELECTOR, "b.label").text for a in answers]
        assert set(labels) <= {"negative", "positive"}
        # entity marks interleave their type labels with the words, so check words, not the whole sentence
        assert all(word in answers[1].text for word in ("weather", "Paris", "terrible"))
        marks = driver.find_elements(By.CSS_SELECTOR, "mark.entity")
        assert all(m.get_attribute("data-type") in {"PER", "ORG", "LOC", "MISC"} for m in marks)
        wait.until(lambda d: "Similarity" in d.page_source)
    finally:
        if driver is not None:
            driver.save_screenshot(str(Path(os.environ.get("MTL_SCREENSHOT", tmp_path / "app.png"))))
            driver.quit()
        os.killpg(app.pid, signal.SIGTERM)
        app.wait(timeout=30)
