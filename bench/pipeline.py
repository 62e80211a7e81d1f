"""Pipeline wall time: ``dvc repro`` from a clean checkout, then a second ``dvc repro`` that has nothing to do.

The repository is ``git clone``d into a temporary folder (so only committed files count: no data/,
models/ or DVC cache from earlier runs), and run there with the project's venv on PATH, the clone's
own ``src/`` first on PYTHONPATH (the venv's editable install points at the original checkout) and
MLflow's store inside the clone. There is no peer: it prints both times.

``prepare.raw_dir`` is made absolute (the clone's ``../shared/data`` would not exist); other keys can
be changed for a quick run with ``--params-override``:

    .venv/bin/python bench/pipeline.py
    .venv/bin/python bench/pipeline.py --params-override prepare.sst2_train=64 prepare.conll_train=64 train.epochs=1
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from common import REPO, print_header, write_result

NAME = "pipeline"
UP_TO_DATE = "up to date"  # what `dvc repro` says when no stage had to run


def parse_override(text: str) -> tuple[list[str], Any]:
    """``train.epochs=1`` -> (["train", "epochs"], 1); the value is parsed as YAML (numbers, null, true)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (e.g. train.epochs=1), got {text!r}")
    return key.split("."), yaml.safe_load(value)


def edit_params(path: Path, source_root: Path, overrides: list[tuple[list[str], Any]]) -> dict[str, Any]:
    """Rewrite the clone's params.yaml: raw_dir made absolute, then the overrides; returns the new params.

    An override must name an existing key: a typo would otherwise be ignored by every stage.
    """
    params = yaml.safe_load(path.read_text())
    raw_dir = params.get("prepare", {}).get("raw_dir")
    if raw_dir and not Path(raw_dir).is_absolute():
        # relative to the original checkout, where `make run` would read it
        params["prepare"]["raw_dir"] = str((source_root / raw_dir).resolve())
    for keys, value in overrides:
        node = params
        for key in keys[:-1]:
            if not isinstance(node.get(key), dict):
                raise SystemExit(f"--params-override: no section {'.'.join(keys[:-1])!r} in params.yaml")
            node = node[key]
        if keys[-1] not in node:
            raise SystemExit(f"--params-override: no key {'.'.join(keys)!r} in params.yaml")
        node[keys[-1]] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return params


def run_logged(command: list[str], cwd: Path, env: dict[str, str], log_path: Path, timeout: float) -> tuple[float, int, str]:
    """Run ``command`` in its own process group; returns (seconds, exit code, output). Killed on timeout."""
    with log_path.open("wb") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            code = -1
        finally:
            if proc.poll() is None:  # interrupted (Ctrl-C): never leave the pipeline running
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        seconds = time.perf_counter() - started
    return seconds, code, log_path.read_text(errors="replace")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--repo", type=Path, default=REPO, help="repository to clone (its committed HEAD)")
    parser.add_argument(
        "--params-override", nargs="*", type=parse_override, default=[], metavar="KEY=VALUE", help="params.yaml keys to change in the clone"
    )
    parser.add_argument("--timeout", type=float, default=3 * 3600, help="seconds allowed for each dvc repro")
    parser.add_argument("--workdir", type=Path, default=None, help="where to make the temporary clone; none = the system temp folder")
    parser.add_argument("--keep", action="store_true", help="keep the clone afterwards (printed), e.g. to inspect it")
    parser.add_argument("--out", type=Path, default=None, help="result JSON; none = bench/results/pipeline.json")
    args = parser.parse_args()

    venv_bin = Path(sys.executable).parent
    dvc = venv_bin / "dvc"
    if not dvc.exists():
        raise SystemExit(f"{dvc} not found: install the project first (make install)")
    source = args.repo.resolve()
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=source, capture_output=True, text=True, check=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=source, capture_output=True, text=True, check=True).stdout
    tmp = tempfile.mkdtemp(prefix="bench-pipeline-", dir=args.workdir)
    clone = Path(tmp) / "repo"
    timings: dict[str, float] = {}
    try:
        subprocess.run(["git", "clone", "--quiet", str(source), str(clone)], check=True)
        params = edit_params(clone / "params.yaml", source, args.params_override)
        env = {
            **os.environ,
            "PATH": os.pathsep.join([str(venv_bin), os.environ.get("PATH", "")]),
            "PYTHONPATH": os.pathsep.join([str(clone / "src"), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            "MLFLOW_TRACKING_URI": f"sqlite:///{clone / 'mlruns' / 'mlflow.db'}",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "1",
        }
        overrides = [f"{'.'.join(k)}={v}" for k, v in args.params_override]
        print_header(
            "pipeline: dvc repro wall time",
            "dvc repro on a fresh clone (every stage), then a no-op dvc repro; no peer",
            {
                "repo": str(source),
                "commit": commit + (" (working tree has uncommitted changes: they are NOT in the clone)" if dirty else ""),
                "clone": str(clone),
                "params_override": overrides or "none (the embedded default)",
                "raw_dir": params.get("prepare", {}).get("raw_dir"),
            },
        )
        for step in ("first", "noop"):
            seconds, code, output = run_logged([str(dvc), "repro"], clone, env, Path(tmp) / f"{step}.log", args.timeout)
            timings[step] = seconds
            if code != 0:
                why = "timed out" if code == -1 else f"exit code {code}"
                raise SystemExit(f"dvc repro ({step}) failed ({why}) after {seconds:.1f}s; last output:\n{output[-4000:]}")
            print(f"   dvc repro ({step}): {seconds:.1f}s", flush=True)
            if step == "noop" and UP_TO_DATE not in output:
                print(f"   WARNING: the second dvc repro ran stages; output:\n{output[-2000:]}")
        result = {
            "bench": NAME,
            "compared": "dvc repro from a clean clone, then a no-op dvc repro",
            "settings": {"commit": commit, "dirty_source": bool(dirty), "params_override": overrides},
            "first_s": timings["first"],
            "noop_s": timings["noop"],
            "summary": {
                "ours": f"first {timings['first']:.0f} s, no-op {timings['noop']:.1f} s",
                "peer": "-",
                "ratio": "-",
                "target": "- (no peer)",
                "pass": None,
            },
        }
        print(f"   result: {write_result(NAME, result, args.out)}")
    finally:
        if args.keep:
            print(f"   clone kept at {clone}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
