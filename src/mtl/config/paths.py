"""Where the project is: the repository root a stage runs for, and paths relative to it."""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The main repository's root: ``DVC_ROOT`` when DVC runs the stage, else the working directory.

    ``dvc exp run --temp`` and ``--queue`` run stages in a copy under ``.dvc/tmp/exps``; DVC (3.x) sets
    ``DVC_ROOT`` to the main repository there too, so the MLflow store and a relative raw-data directory
    resolve to the same places as in the workspace.
    """
    return Path(os.environ.get("DVC_ROOT") or ".").resolve()


def resolve_path(path: str | Path) -> Path:
    """``path`` as is when absolute, else relative to ``project_root()``."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else project_root() / path
