"""Backbones from PyPI packages: all-mpnet-base-v2's split archive assembled into a model folder."""

from __future__ import annotations

import io
import zipfile

import pytest

from mtl.model.backbones import MPNET, assemble_split_archive, mpnet_part_files, resolve_backbone


def _split_archive(tmp_path, wrap: str = "all-mpnet-base-v2", n: int = 3):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{wrap}/config.json", '{"model_type": "mpnet"}')
        archive.writestr(f"{wrap}/1_Pooling/config.json", "{}")
        archive.writestr(f"{wrap}/model.safetensors", b"\0" * 5000)
    blob = buffer.getvalue()
    size = -(-len(blob) // n)
    parts = []
    for i in range(n):
        part = tmp_path / f"part_{i + 1:03d}" / "input" / f"all-mpnet-base-v2.zip.{i + 1:03d}"
        part.parent.mkdir(parents=True)
        part.write_bytes(blob[i * size : (i + 1) * size])
        parts.append(part)
    return parts


def test_split_archive_is_assembled_once(tmp_path):
    parts = _split_archive(tmp_path)
    target = tmp_path / "cache" / "all-mpnet-base-v2"
    assert assemble_split_archive(parts, target) == target
    assert (target / "config.json").read_text() == '{"model_type": "mpnet"}'
    assert (target / "model.safetensors").stat().st_size == 5000 and (target / "1_Pooling" / "config.json").is_file()
    assert not (tmp_path / "cache" / "all-mpnet-base-v2.tmp").exists()
    for part in parts:  # a second call uses the assembled folder and never reads the parts
        part.unlink()
    assert assemble_split_archive(parts, target) == target


def test_split_archive_unwrapped_and_bad_parts(tmp_path):
    parts = _split_archive(tmp_path / "flat", wrap=".", n=2)
    assert (assemble_split_archive(parts, tmp_path / "a") / "config.json").is_file()
    with pytest.raises(ValueError, match="do not form a zip archive"):
        assemble_split_archive(parts[::-1], tmp_path / "b")  # parts out of order


@pytest.mark.slow
@pytest.mark.skipif(mpnet_part_files() is None, reason="the mpnet parts are not installed (make setup-mpnet)")
def test_installed_mpnet_parts_load_as_a_sentence_encoder():
    from mtl.model.encoder import SentenceEncoder

    assert len(mpnet_part_files()) == 5
    encoder = SentenceEncoder.from_pretrained(MPNET)
    assert resolve_backbone(MPNET).endswith("all-mpnet-base-v2") and encoder.dim == 768
    sim = encoder.similarity(["It is raining in London", "Heavy rain in the city today", "The new GPU is fast"])
    assert sim[0, 1] > sim[0, 2] + 0.2
