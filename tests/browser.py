"""A real headless Chromium and a real Streamlit app for the tests that drive the web page (test_app, test_guide_walk)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import free_port, wait_until_up

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
needs_chromium = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver (.ci/run installs them)"
)


@contextmanager
def chrome(profile: Path, width: int = 1500, height: int = 1400) -> Iterator[object]:
    """A headless Chromium driven by selenium, with its own profile folder; quit on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", f"--window-size={width},{height}", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@contextmanager
def streamlit_app(command: list[str], cwd: Path, env: dict) -> Iterator[tuple[str, subprocess.Popen]]:
    """Start the app with ``command`` (``./run_streamlit.sh``, ``make run-frontend``) on a free port (``PORT``);
    yield its address once ``/_stcore/health`` answers, and the process; stop its whole process group on exit."""
    port = free_port()
    app = subprocess.Popen(
        command, cwd=cwd, env={**env, "PORT": str(port)}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(f"{url}/_stcore/health", app)
        yield url, app
    finally:
        os.killpg(app.pid, signal.SIGTERM)
        app.wait(timeout=30)


def settled(driver) -> None:
    """Wait until the app has finished its rerun: no element is marked stale for a moment."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    time.sleep(1.0)
    WebDriverWait(driver, 180).until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-stale='true'], [data-testid='stStatusWidget']"))
    time.sleep(0.5)
