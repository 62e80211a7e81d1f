"""Word tags from the token head's scores: per-word argmax, or Viterbi under the IOB2 constraints.

Taking each word's most likely tag on its own can give sequences IOB2 forbids: ``O I-PER``, ``B-PER
I-LOC``, or a sentence that starts with ``I-ORG``. ``viterbi`` picks the most likely sequence among
the valid ones instead, under a fixed mask built from the label names (nothing is learned, no CRF):

- ``I-X`` may not start a sentence, and may only follow ``B-X`` or ``I-X``;
- every other tag (``O``, ``B-X``, plain tags such as ``PER``) may go anywhere.

A type with ``I-X`` but no ``B-X`` in the label set is not IOB2 for that type (IOB1 starts entities
with ``I-``), so it is left unconstrained. With no ``B-``/``I-`` structure at all, every sequence is
valid and Viterbi gives argmax's answer.

Everything here is a pure function of numpy arrays; ``mtl.inference.predict`` calls ``decode`` once per sentence
on the log-probabilities of the words' first pieces. Ties go to the lower label index, as with argmax.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from mtl.config.options import check_decoding


def _split(tag: str) -> tuple[str, str]:
    """(prefix, type): ``B-PER`` -> (``B``, ``PER``); ``O`` or a plain tag -> (``""``, the tag)."""
    prefix, dash, kind = tag.partition("-")
    return (prefix, kind) if dash and prefix in ("B", "I") else ("", tag)


@functools.lru_cache(maxsize=32)
def transition_masks(labels: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """``(start, allowed)`` for ``labels``: which tags may start a sentence (n,) and which may follow which (n, n).

    ``allowed[i, j]`` says whether tag ``j`` may follow tag ``i``. The arrays are shared (cached): do not change them.
    """
    parts = [_split(t) for t in labels]
    begun = {kind for prefix, kind in parts if prefix == "B"}
    # an I-X is constrained only where X has a B-X to start it (IOB2); otherwise the tag is free
    inside = np.array([prefix == "I" and kind in begun for prefix, kind in parts])
    start = ~inside
    allowed = np.ones((len(labels), len(labels)), dtype=bool)
    for j, (_, kind) in enumerate(parts):
        if inside[j]:
            allowed[:, j] = [p in ("B", "I") and k == kind for p, k in parts]
    start.flags.writeable = False
    allowed.flags.writeable = False
    return start, allowed


def argmax_path(scores: np.ndarray) -> np.ndarray:
    """Each word's highest-scoring tag on its own: ``scores`` (words, tags) -> tag ids (words,)."""
    return np.asarray(scores).argmax(-1).astype(np.int64)


def viterbi_path(scores: np.ndarray, start: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """The highest-scoring tag sequence that obeys ``start`` and ``allowed`` (``transition_masks``).

    ``scores`` (words, tags) are added along the path, so pass log-probabilities. Tag ids (words,) come
    back; an empty table gives an empty path.
    """
    scores = np.asarray(scores, dtype=np.float64)  # sums along long sentences: float64 keeps ties exact
    n_words, n_tags = scores.shape
    if n_words == 0:
        return np.zeros(0, dtype=np.int64)
    # a forbidden step costs -inf; a valid path always exists, since O and B-X may follow anything
    penalty = np.where(allowed, 0.0, -np.inf)
    best = np.where(start, scores[0], -np.inf)
    back = np.zeros((n_words, n_tags), dtype=np.int64)
    columns = np.arange(n_tags)
    for t in range(1, n_words):
        candidates = best[:, None] + penalty  # (previous tag, next tag)
        back[t] = candidates.argmax(0)  # first maximum: ties go to the lower previous tag
        best = candidates[back[t], columns] + scores[t]
    path = np.zeros(n_words, dtype=np.int64)
    path[-1] = int(best.argmax())
    for t in range(n_words - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def decode(log_probs: np.ndarray, labels: Sequence[str], decoding: str = "viterbi") -> np.ndarray:
    """One sentence's tag ids from its words' tag log-probabilities (words, tags), by ``decoding``."""
    check_decoding(decoding)
    if len(labels) != np.shape(log_probs)[-1]:
        raise ValueError(f"{np.shape(log_probs)[-1]} scores per word for {len(labels)} labels")
    if decoding == "argmax":
        return argmax_path(log_probs)
    return viterbi_path(log_probs, *transition_masks(tuple(labels)))


def is_valid(tags: Sequence[str], labels: Sequence[str]) -> bool:
    """Whether the tag sequence ``tags`` obeys the constraints ``transition_masks(labels)`` puts on ``labels``."""
    start, allowed = transition_masks(tuple(labels))
    index = {t: i for i, t in enumerate(labels)}
    ids = [index[t] for t in tags]
    return not ids or (bool(start[ids[0]]) and all(allowed[a, b] for a, b in zip(ids, ids[1:])))
