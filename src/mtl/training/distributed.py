"""Several training processes (``torchrun``) as one: process group, device, batch sharding, rank-0 work.

Every function is a no-op, or the identity, in a plain single process, so the training loop reads the
same either way. Under ``torchrun --nproc_per_node N`` (which sets RANK, WORLD_SIZE and LOCAL_RANK):

- all ranks draw the same global batches and the same task schedule from the same seeded rng, and each
  rank takes its contiguous share of every global batch (``shard``), so ``train.batch_size`` stays the
  global batch and every step trains one task on every rank;
- DistributedDataParallel averages the ranks' gradients: with equal shares and a per-rank mean loss that
  is the gradient of the global batch's mean, the same step one process takes;
- validation runs once, on rank 0, and its result is broadcast so that every rank keeps the same epoch;
- only rank 0 logs and writes files (``is_main``).

Backend: NCCL when CUDA is present, else gloo (CPU).
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def init_from_env() -> bool:
    """Join the process group that torchrun describes in the environment; True when there is more than one process.

    Idempotent; a plain ``python`` run (no WORLD_SIZE, or WORLD_SIZE=1) starts nothing.
    """
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size() > 1
    if _env_int("WORLD_SIZE", 1) <= 1:
        return False
    cuda = torch.cuda.is_available()
    if cuda:
        # before the group: NCCL binds each rank to the device current at init
        torch.cuda.set_device(_env_int("LOCAL_RANK", 0))
    dist.init_process_group(backend="nccl" if cuda else "gloo")
    atexit.register(_close)
    return True


def _close() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def is_distributed() -> bool:
    """True inside an initialised process group of more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's rank (0 when not distributed)."""
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    """How many processes train together (1 when not distributed)."""
    return dist.get_world_size() if is_distributed() else 1


def is_main() -> bool:
    """True on the process that logs, evaluates and writes files: rank 0, or the only process."""
    return rank() == 0


def choose_device() -> torch.device:
    """This process's GPU when CUDA is present (``cuda:LOCAL_RANK``), else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda", _env_int("LOCAL_RANK", 0))
    return torch.device("cpu")


def shard(items: Sequence[T]) -> list[T]:
    """This rank's contiguous share of one global batch; shares differ in size by at most one item."""
    n, size, r = len(items), world_size(), rank()
    return list(items[r * n // size : (r + 1) * n // size])


def can_shard(items: Sequence[Any]) -> bool:
    """Whether every rank gets at least one item of ``items`` (a batch smaller than the world is skipped)."""
    return len(items) >= world_size()


def wrap(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` in DistributedDataParallel when distributed, else ``model`` itself.

    ``find_unused_parameters``: a batch of a data set that labels one task leaves the other head out of
    the loss, and a frozen encoder has no gradient at all.
    """
    if not is_distributed():
        return model
    device = next(model.parameters()).device
    ids = [device.index] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids, find_unused_parameters=True)


def common_loss(loss: torch.Tensor | None, outputs: Sequence[torch.Tensor]) -> torch.Tensor | None:
    """The loss every rank backpropagates this step, or None when no rank has one (all skip the step).

    A rank whose share labels nothing still has to join the gradient averaging: it backpropagates a zero
    that is connected to its outputs.
    """
    if not is_distributed():
        return loss
    flag = torch.tensor([0.0 if loss is None else 1.0], device=outputs[0].device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    if flag.item() == 0:
        return None
    if loss is None:
        loss = sum(o.sum() for o in outputs) * 0.0
    return loss


def on_main(compute: Callable[[], T]) -> T:
    """``compute()`` on rank 0 only, its result sent to every rank (it must be picklable)."""
    if not is_distributed():
        return compute()
    box = [compute() if is_main() else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def main_only(log: Callable[[str], None]) -> Callable[[str], None]:
    """``log`` on rank 0, a no-op elsewhere (N copies of each line help nobody)."""
    if is_main():
        return log

    def silent(_message: str) -> None:
        return None

    return silent


def barrier() -> None:
    """Wait for every rank (no-op when not distributed)."""
    if is_distributed():
        dist.barrier()
