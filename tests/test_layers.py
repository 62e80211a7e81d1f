"""The layer rule holds and can fail: imports only go down (``pyproject.toml``'s import-linter contracts), the bottom is torch-free."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BIN, REPO

LINT_IMPORTS = str(BIN / "lint-imports")


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the package under ``root/src``, with ``root``'s contracts."""
    env = {**os.environ, "PYTHONPATH": str(root / "src")}  # before the editable install's path: this copy is the one analysed
    return subprocess.run(
        [LINT_IMPORTS, "--config", str(root / "pyproject.toml"), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def package_copy(tmp_path) -> Path:
    """The package and its contracts in a temporary folder, to plant imports in."""
    shutil.copytree(REPO / "src" / "mtl", tmp_path / "src" / "mtl", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    return tmp_path


def test_the_contracts_are_kept():
    done = _lint_imports(REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 kept, 0 broken" in done.stdout, done.stdout


def test_an_upward_import_breaks_the_layer_contract(package_copy):
    with open(package_copy / "src/mtl/model/pooling.py", "a") as handle:
        handle.write("\nfrom mtl.training.losses import multitask_loss  # planted: model must not import training\n")
    done = _lint_imports(package_copy)
    assert done.returncode != 0
    assert "Imports only go down the layers" in done.stdout and "BROKEN" in done.stdout
    assert "mtl.model.pooling -> mtl.training.losses" in done.stdout, done.stdout


def test_torch_in_the_config_layer_breaks_the_torch_free_contract(package_copy):
    with open(package_copy / "src/mtl/config/paths.py", "a") as handle:
        handle.write("\nimport torch  # planted\n")
    done = _lint_imports(package_copy)
    assert done.returncode != 0 and "mtl.config.paths -> torch" in done.stdout, done.stdout


def test_the_cli_and_the_config_load_without_torch():
    """`mtl --help` answers at once: the CLI module imports the config layer alone (heavy imports wait for a command)."""
    code = (
        "import sys, mtl.config.options, mtl.config.params, mtl.config.model, mtl.config.paths, mtl.apps.cli\n"
        "heavy = [m for m in ('torch', 'transformers', 'mlflow', 'pandas') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_subpackage_inits_import_nothing():
    """A stage's code deps are its layers' folders: importing one module must not drag a whole layer in."""
    for init in sorted((REPO / "src" / "mtl").glob("*/__init__.py")):
        imports = [node for node in ast.walk(ast.parse(init.read_text())) if isinstance(node, ast.Import | ast.ImportFrom)]
        assert not imports, init
