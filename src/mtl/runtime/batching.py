"""Length-sorted inference batches: the one loop that ``encode``, prediction and evaluation share.

Rows are sorted by word-piece count (longest first), cut into batches, each padded to its own longest
row, and every batch's outputs are handed back with the rows' original positions, so callers write
them straight into input order. Padding is the main waste on CPU: sorting by characters left 23% of the
pieces as padding on SST-2, sorting by pieces 3%. The forward pass itself is the runtime's
(``mtl.runtime.engines.batch_forward``): PyTorch or an ONNX Runtime session, below this same loop.

A forward that can run several batches at once says so in its ``workers`` attribute (``concurrency``):
the loop then keeps that many batches in flight on as many threads and still yields them in order.
ONNX Runtime does (``mtl.runtime.engines.onnx_forward``); PyTorch does not, since its thread pool is one per
process and two batches would only fight over it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from tqdm.auto import tqdm

# More rows than this show a progress bar; below it the bar is only noise.
PROGRESS_THRESHOLD = 1000

# forward(input_ids, attention_mask, **extra) -> named float32 outputs; ``extra``: padded per-piece inputs
# such as ``case_ids`` (``MultiTaskModel.extra_inputs``)
Forward = Callable[..., dict[str, np.ndarray]]


def pad_ids(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Pad word-piece rows to the batch's own longest row: (input_ids, attention_mask), both int64 arrays."""
    width = max(len(ids) for ids in rows)
    input_ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    attention = np.zeros((len(rows), width), dtype=np.int64)
    for i, ids in enumerate(rows):
        input_ids[i, : len(ids)] = ids
        attention[i, : len(ids)] = 1
    return input_ids, attention


def pad_rows(rows: Sequence[Sequence[int]], width: int, fill: int = 0) -> np.ndarray:
    """Per-piece int rows (such as word-shape ids) padded with ``fill`` to ``width``, as an int64 array."""
    out = np.full((len(rows), width), fill, dtype=np.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


def pad_extra(extra: Mapping[str, Sequence[Sequence[int]]], width: int) -> dict[str, np.ndarray]:
    """A batch's extra per-piece inputs (``MultiTaskModel.extra_inputs``), each padded with 0 to ``width``.

    0 is "nothing here" for every such input (``mtl.text.shapes.NONE`` for case ids), and padded positions
    are masked anyway.
    """
    return {name: pad_rows(rows, width) for name, rows in extra.items()}


def concurrency(forward: Forward) -> int:
    """How many batches ``forward`` can run at once (its ``workers`` attribute; 1 if it has none)."""
    return max(1, int(getattr(forward, "workers", 1)))


def length_sorted(lengths: Sequence[int], batch_size: int) -> list[np.ndarray]:
    """Row indices in batches of ``batch_size``, longest rows first (stable, so ties keep input order)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = np.argsort([-n for n in lengths], kind="stable")
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def run_batches(
    forward: Forward,
    input_ids: Sequence[Sequence[int]],
    batch_size: int,
    pad_id: int,
    desc: str = "predict",
    show_progress: bool | None = None,
    extra: Mapping[str, Sequence[Sequence[int]]] | None = None,
) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """Yield ``(row indices, outputs)`` per length-sorted batch; ``outputs[k][j]`` belongs to row ``indices[j]``.

    ``forward(input_ids, attention_mask, **extra)`` takes padded int64 arrays and returns named float32
    arrays; ``extra`` holds further per-piece inputs by name, one row per input row (padded with 0).
    """
    extra = extra or {}
    workers = concurrency(forward)
    if workers > 1:
        # every worker gets a batch even when there are few rows (a 32-sentence request on 2 workers: 2 x 16)
        batch_size = max(1, min(batch_size, math.ceil(len(input_ids) / workers)))
    batches = length_sorted([len(ids) for ids in input_ids], batch_size)
    show = len(input_ids) > PROGRESS_THRESHOLD if show_progress is None else show_progress

    def run(idx: np.ndarray) -> dict[str, np.ndarray]:
        ids, mask = pad_ids([input_ids[i] for i in idx], pad_id)
        batch_extra = pad_extra({name: [rows[i] for i in idx] for name, rows in extra.items()}, ids.shape[1])
        return forward(ids, mask, **batch_extra)

    # disable=None: a bar on a terminal, none in logs (an explicit False would write every update there)
    progress = tqdm(batches, desc=desc, disable=None if show else True, unit="batch")
    if workers == 1:
        for idx in progress:
            yield idx, run(idx)
        return
    # A bounded window of batches in flight, collected in submission order: the caller sees the same
    # sequence as with one worker, and finished outputs never pile up behind a slow (long) first batch.
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mtl-batch") as pool:
        pending: deque[tuple[np.ndarray, Future]] = deque()
        for idx in progress:
            pending.append((idx, pool.submit(run, idx)))
            if len(pending) > workers:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
