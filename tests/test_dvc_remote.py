"""A DVC remote carries a team's data and models: push from one clone, pull into another, nothing re-runs."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, run_ok

# What a team commits to git after `dvc repro`: the lock and the small cache-less outputs (metrics/).
COMMITTED_AFTER_REPRO = ["dvc.lock", "metrics", ".dvc/config"]
REMOTE_NAME = "storage"


def uncarried_outputs(root: Path) -> list[str]:
    """Outputs with ``cache: false`` that git ignores: neither git nor a DVC remote carries them to a clone."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        cacheless = sorted({str(Path(o.fs_path).relative_to(root)) for o in repo.index.outs if not o.use_cache})
    if not cacheless:
        return []
    # an output may be a directory that does not exist yet: ask about both forms ("/plots/" matches only the second)
    asked = [form for path in cacheless for form in (path, f"{path}/")]
    done = subprocess.run(["git", "check-ignore", "--no-index", *asked], cwd=root, capture_output=True, text=True)
    return sorted({line.rstrip("/") for line in done.stdout.split()})


def test_every_cacheless_output_is_carried_by_git():
    """A clone gets each output from git (``cache: false``, committed) or from the remote (cached), never from neither."""
    # export's stamp is carried by neither on purpose: its absence is what makes a clone register its models
    missing = [path for path in uncarried_outputs(REPO) if not path.endswith("/export.json")]
    assert not missing, f"dvc.yaml: drop `cache: false` from {missing} (git ignores them, so no clone can get them)"


@pytest.fixture(scope="module")
def pushed(project, tmp_path_factory):
    """A copy of the pipeline clone that committed its results and pushed them to a local-directory remote."""
    source, env = project
    first = tmp_path_factory.mktemp("first") / "repo"
    # a copy, not a git clone: the session's `project` keeps its own state for the other tests
    shutil.copytree(source, first, symlinks=True)
    remote = tmp_path_factory.mktemp("remote")
    run_ok(["dvc", "repro"], first, env, timeout=900)
    run_ok(["dvc", "remote", "add", "-d", REMOTE_NAME, str(remote)], first, env)
    run_ok(["git", "add", *COMMITTED_AFTER_REPRO], first, env)
    run_ok(["git", "commit", "-qm", "pipeline results, remote"], first, env)
    push = run_ok(["dvc", "push"], first, env)
    return first, remote, env, push.stdout


def test_push_fills_the_remote(pushed):
    _, remote, _, out = pushed
    assert "pushed" in out, out
    assert any(remote.rglob("*")), "the remote directory stayed empty"


@pytest.mark.slow
def test_pull_into_a_second_clone_is_up_to_date_and_runs_nothing(pushed, tmp_path_factory):
    first, remote, env, _ = pushed
    second = tmp_path_factory.mktemp("second") / "repo"
    run_ok(["git", "clone", "-q", str(first), str(second)], second.parent, env)
    # the committed .dvc/config names the remote, as it would for a team's S3 bucket
    assert str(remote) in run_ok(["dvc", "remote", "list"], second, env).stdout
    run_ok(["dvc", "pull"], second, env)
    status = run_ok(["dvc", "status"], second, env).stdout
    # everything came from the remote but export's stamp, which no clone gets (so each clone registers once)
    assert re.findall(r"^(\S+):$", status, flags=re.M) == ["export@real", "export@example"], status
    repro = run_ok(["dvc", "repro"], second, env, timeout=900)
    # only export runs (its stamp is never carried); it reuses the registered version of the same run and code
    assert sorted(re.findall(r"Running stage '([^']+)'", repro.stdout)) == ["export@example", "export@real"], repro.stdout
    # git sees the same tree: pulling changed nothing that is committed
    assert subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=second, capture_output=True, text=True).stdout == ""
