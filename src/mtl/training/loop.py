"""The training loop: mixed-task batches, masked weighted loss, AdamW with warm-up, best epoch kept.

One loop for every run: multi-task, single-task (a task weight of 0) and example data alike.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup

from mtl.config.params import TaskWeights, TrainConfig
from mtl.data.align import has_sentence_labels, has_token_labels, word_ids_of
from mtl.evaluation.evaluate import evaluate_table, selection_score
from mtl.model.multitask import MultiTaskModel
from mtl.runtime.precision import autocast
from mtl.training import distributed
from mtl.training.collate import collate
from mtl.training.freezing import format_report, freeze
from mtl.training.losses import multitask_loss
from mtl.training.sampling import cycle_batches, task_schedule


@dataclass
class EpochResult:
    """What one epoch did: training losses, metrics per selection set (``validation``), and speed."""

    epoch: int
    train_loss: float
    task_losses: dict[str, float]
    validation: dict[str, dict]
    score: float
    seconds: float  # the whole epoch, validation included
    train_seconds: float  # the training steps alone
    sentences_per_second: float


@dataclass
class TrainResult:
    """The epochs' history and which epoch's weights the model holds now (the best one)."""

    history: list[EpochResult]
    best_epoch: int
    best_score: float
    parameters: dict[str, dict[str, int]]


def _optimizer(model: MultiTaskModel, cfg: TrainConfig) -> torch.optim.Optimizer:
    # Biases and LayerNorm weights are not decayed (the BERT recipe); heads may learn faster than the encoder.
    head_lr = cfg.head_learning_rate or cfg.learning_rate
    groups: dict[tuple[float, float], list[torch.nn.Parameter]] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        lr = cfg.learning_rate if name.startswith("encoder.") else head_lr
        decay = 0.0 if p.ndim < 2 else cfg.weight_decay
        groups.setdefault((lr, decay), []).append(p)
    return torch.optim.AdamW([{"params": ps, "lr": lr, "weight_decay": wd} for (lr, wd), ps in groups.items()])


def _usable_sets(train_sets: dict[str, pd.DataFrame], weights: TaskWeights, log: Callable[[str], None]) -> dict[str, pd.DataFrame]:
    """Drop sets that label no task with a weight above 0: they would only cost time."""
    usable = {}
    for name, table in train_sets.items():
        if (weights.sentence > 0 and has_sentence_labels(table)) or (weights.token > 0 and has_token_labels(table)):
            usable[name] = table
        else:
            log(f"skipping training set {name!r}: it labels no task with a weight above 0")
    if not usable:
        raise ValueError("no training set labels a task whose weight is above 0")
    return usable


def train(
    model: MultiTaskModel,
    train_sets: dict[str, pd.DataFrame],
    selection_sets: dict[str, pd.DataFrame],
    cfg: TrainConfig,
    on_epoch_end: Callable[[EpochResult], None] | None = None,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Train ``model`` in place on encoded tables; afterwards it holds the best epoch's weights.

    Each step takes one batch from one set (the schedule mixes sets per ``cfg.sampling``); a task the
    batch does not label adds no loss. After each epoch the model is scored on every set of
    ``selection_sets`` (each data set's selection split, ``mtl.data.splits.selection_sets``: never a held-out
    split), the best epoch by ``selection_score`` is kept, and ``on_epoch_end`` gets the result (the tracking hook).

    Under ``torchrun`` the same call trains one model on all processes (``mtl.training.distributed``):
    ``cfg.batch_size`` is the global batch, each rank trains on its share of it, validation and
    ``on_epoch_end`` run on rank 0 only. The device is CUDA when present, else the CPU.
    """
    distributed.init_from_env()
    log = distributed.main_only(log)
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    parameters = freeze(model, cfg.freeze)
    log("parameters (freeze=%s):\n%s" % (cfg.freeze, format_report(parameters)))
    sets = _usable_sets(train_sets, cfg.task_weights, log)
    names = list(sets)
    rows = {
        n: list(zip(t["input_ids"], t["token_labels"], t["sentence_label_id"], strict=True)) for n, t in sets.items()
    }
    # per-piece inputs beyond the pieces (the case feature's word shapes), computed once, as prediction computes them
    extra = {n: model.extra_inputs([list(w) for w in t["words"]], [word_ids_of(w) for w in t["word_ids"]]) for n, t in sets.items()}
    streams = {n: cycle_batches([len(r[0]) for r in rows[n]], cfg.batch_size, rng, cfg.group_by_length) for n in names}
    counts = [-(-len(rows[n]) // cfg.batch_size) for n in names]
    steps_per_epoch = sum(counts)
    optimizer = _optimizer(model, cfg)
    total_steps = steps_per_epoch * cfg.epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, int(cfg.warmup_ratio * total_steps), total_steps)
    pad = model.tokenizer.pad_token_id or 0
    device = distributed.choose_device()
    net = distributed.wrap(model.to(device))
    history: list[EpochResult] = []
    best_state, best_score, best_epoch = None, -1.0, 0

    for epoch in range(1, cfg.epochs + 1):
        model.train()
        started = time.perf_counter()
        schedule = task_schedule(counts, cfg.sampling, rng, cfg.temperature)
        losses: list[float] = []
        task_losses: dict[str, list[float]] = {"sentence": [], "token": []}
        seen = 0
        # disable=None: a bar on a terminal, none in logs (it would write thousands of lines there)
        bar = tqdm(schedule, desc=f"epoch {epoch}/{cfg.epochs}", unit="step", leave=False, mininterval=2.0, disable=None if distributed.is_main() else True)
        for source in bar:
            name = names[source]
            # every rank draws the same global batch and trains on its share of it
            chosen = next(streams[name])
            if not distributed.can_shard(chosen):
                continue
            mine = distributed.shard(chosen)
            batch = collate([rows[name][i] for i in mine], pad, {k: [v[i] for i in mine] for k, v in extra[name].items()})
            batch = {k: v.to(device) for k, v in batch.items()}
            # under bf16, autocast runs the matmuls in bfloat16 and the cross-entropy in float32
            with autocast(cfg.precision, device):
                out = net(*(batch[k] for k in model.input_names))
                loss, parts = multitask_loss(
                    out.sentence_logits, batch["sentence_labels"], out.token_logits, batch["token_labels"], cfg.task_weights
                )
            seen += len(chosen)
            loss = distributed.common_loss(loss, (out.sentence_logits, out.token_logits))
            if loss is None:
                continue
            # flush the gradients as soon as we can: set_to_none frees their memory between steps
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
            optimizer.step()
            scheduler.step()
            losses.append(float(loss.detach()))
            for task, value in parts.items():
                task_losses[task].append(value)
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
        bar.close()
        train_seconds = time.perf_counter() - started
        # scored once, on rank 0; every rank gets the result and so keeps the same best epoch
        validation = distributed.on_main(lambda: {n: evaluate_table(model, t, cfg.eval_batch_size) for n, t in selection_sets.items()})
        # only the tasks being trained choose the epoch: an untrained head's score is noise
        score = selection_score(validation, cfg.task_weights.trained())
        result = EpochResult(
            epoch=epoch,
            train_loss=float(np.mean(losses)) if losses else float("nan"),
            task_losses={k: float(np.mean(v)) for k, v in task_losses.items() if v},
            validation=validation,
            score=score,
            seconds=time.perf_counter() - started,
            train_seconds=train_seconds,
            sentences_per_second=seen / train_seconds if train_seconds > 0 else 0.0,
        )
        history.append(result)
        log(f"epoch {epoch}: loss {result.train_loss:.4f}, selection score {score:.4f}, {result.sentences_per_second:.1f} sentences/s")
        # without selection sets there is nothing to choose by: the last epoch is kept
        if score > best_score or not selection_sets:
            best_score, best_epoch = score, epoch
            best_state = copy.deepcopy({k: v.detach().cpu() for k, v in model.state_dict().items()})
        if on_epoch_end is not None and distributed.is_main():
            on_epoch_end(result)

    if best_state is not None and best_epoch != cfg.epochs:
        model.load_state_dict(best_state)
        log(f"kept the weights of epoch {best_epoch} (selection score {best_score:.4f})")
    model.eval()
    return TrainResult(history, best_epoch, best_score, parameters)
