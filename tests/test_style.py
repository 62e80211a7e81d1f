"""Lint: no unused or undefined names, imports in order (ruff, configured in pyproject.toml)."""

from __future__ import annotations

import subprocess

from tests.conftest import BIN, REPO


def test_ruff_finds_nothing():
    done = subprocess.run([str(BIN / "ruff"), "check", "--output-format", "concise", "."], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
