"""Distributed training: 2 CPU processes under torchrun end with the weights of 1 process at the same global batch."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from mtl.training import distributed
from tests.conftest import BIN, run_ok

SCRIPT = Path(__file__).with_name("distributed_train.py")
# Measured here: at most 3.5e-7 apart on weights of size up to 1 after 10 AdamW steps; the gap is the
# different order of float32 sums (two half-batch gradients averaged vs one batch).
TOLERANCE = 1e-5


def test_single_process_helpers_are_identities():
    assert distributed.init_from_env() is False  # no WORLD_SIZE: nothing to join
    assert distributed.world_size() == 1 and distributed.rank() == 0 and distributed.is_main()
    assert distributed.shard([3, 1, 2]) == [3, 1, 2]
    assert distributed.on_main(lambda: {"score": 0.5}) == {"score": 0.5}
    loss = torch.tensor(1.0)
    assert distributed.common_loss(loss, (torch.zeros(1),)) is loss
    assert distributed.common_loss(None, (torch.zeros(1),)) is None
    model = torch.nn.Linear(2, 2)
    assert distributed.wrap(model) is model
    assert distributed.choose_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.slow
def test_two_processes_match_one_process(tmp_path):
    torchrun = shutil.which("torchrun", path=str(BIN)) or shutil.which("torchrun")
    assert torchrun, "torchrun not found next to the test's python"
    src = Path(__file__).resolve().parents[1] / "src"
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "OMP_NUM_THREADS": "1"}
    one = run_ok([str(BIN / "python"), str(SCRIPT), str(tmp_path / "one.safetensors")], tmp_path, env, timeout=300)
    # --standalone: a rendezvous on 127.0.0.1 with a free port, nothing leaves the machine
    two = run_ok([torchrun, "--standalone", "--nproc_per_node", "2", str(SCRIPT), str(tmp_path / "two.safetensors")], tmp_path, env, timeout=300)
    assert "world 1:" in one.stdout and "world 2:" in two.stdout, two.stdout + two.stderr
    a, b = load_file(tmp_path / "one.safetensors"), load_file(tmp_path / "two.safetensors")
    assert a.keys() == b.keys() and any(k.startswith("epoch2.") for k in a)
    gaps = {k: (a[k] - b[k]).abs().max().item() for k in a}
    assert max(gaps.values()) <= TOLERANCE, sorted(gaps.items(), key=lambda kv: -kv[1])[:5]
    # and training moved the weights: equal because both trained, not because neither did
    assert (a["epoch2.sentence_head.classifier.weight"] - a["epoch1.sentence_head.classifier.weight"]).abs().max() > 1e-3
