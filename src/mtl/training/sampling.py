"""Batches within one data set, and how batches of several data sets (tasks) are mixed into one epoch.

An epoch is as many steps as all data sets have batches together. ``proportional`` then visits every
batch of every set exactly once, in random order; ``temperature`` draws sets with probability
proportional to size**(1/T) (T=1 is proportional, large T approaches uniform), so a small task is seen
more often; ``round_robin`` alternates sets strictly. A set that runs out before the epoch ends is
reshuffled and drawn again, so no set is ever silently dropped.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

from mtl.config.options import check_sampling

# How many batches' worth of rows are sorted together when grouping by length: enough to cut padding,
# few enough that batches stay random.
MEGABATCH = 50


def make_batches(
    lengths: Sequence[int], batch_size: int, rng: random.Random, group_by_length: bool = False, shuffle: bool = True
) -> list[list[int]]:
    """Split row indices into batches; with ``group_by_length``, rows of similar length share a batch."""
    order = list(range(len(lengths)))
    if shuffle:
        rng.shuffle(order)
    if group_by_length:
        chunk = batch_size * MEGABATCH
        order = [i for s in range(0, len(order), chunk) for i in sorted(order[s : s + chunk], key=lambda j: -lengths[j])]
    batches = [order[s : s + batch_size] for s in range(0, len(order), batch_size)]
    if group_by_length and shuffle:
        rng.shuffle(batches)
    return batches


def task_schedule(batch_counts: Sequence[int], strategy: str, rng: random.Random, temperature: float = 2.0) -> list[int]:
    """The data set index of each step of one epoch (``sum(batch_counts)`` steps)."""
    check_sampling(strategy)
    total = sum(batch_counts)
    n = len(batch_counts)
    if strategy == "round_robin":
        return [step % n for step in range(total)]
    if strategy == "proportional":
        schedule = [i for i, count in enumerate(batch_counts) for _ in range(count)]
        rng.shuffle(schedule)
        return schedule
    if temperature <= 0:
        raise ValueError(f"sampling temperature must be > 0, got {temperature}")
    weights = [count ** (1.0 / temperature) for count in batch_counts]
    return rng.choices(range(n), weights=weights, k=total)


def cycle_batches(
    lengths: Sequence[int], batch_size: int, rng: random.Random, group_by_length: bool = False
) -> Iterator[list[int]]:
    """Endless batches over one data set, reshuffled each time it is used up."""
    while True:
        yield from make_batches(lengths, batch_size, rng, group_by_length)
