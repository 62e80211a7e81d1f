"""Atomic writes: a reader (or DVC) never sees a half-written file or model directory."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd


def write_atomic(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp)`` on a temporary path beside ``path``, then rename it into place."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def write_json(path: str | Path, data: Any, sort_keys: bool = True) -> Path:
    """Write ``data`` as indented JSON, atomically (keys sorted unless ``sort_keys`` is False)."""
    return write_atomic(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2, sort_keys=sort_keys) + "\n"))


def write_parquet(path: str | Path, table: pd.DataFrame) -> Path:
    """Write ``table`` as parquet, atomically."""
    return write_atomic(path, lambda tmp: table.to_parquet(tmp, index=False))


def replace_dir(path: str | Path, fill: Callable[[Path], Any]) -> Path:
    """Build a directory with ``fill(tmp_dir)`` and swap it in for ``path`` only once it is complete."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        fill(tmp)
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def dir_hash(path: str | Path) -> str:
    """md5 over a directory's files (relative names and bytes, in sorted order): the identity of a saved model.

    It depends on content only, not on where the directory lives or when it was written.
    """
    root = Path(path)
    digest = hashlib.md5()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(file.relative_to(root).as_posix().encode() + b"\0")
        with open(file, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def file_md5(path: str | Path) -> str:
    """md5 of one file's bytes."""
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
