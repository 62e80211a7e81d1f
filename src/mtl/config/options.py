"""Every enumerated option of the project, its valid values in one tuple, and one check for all of them.

These sit at the bottom of the package, free of torch, so ``params.yaml`` validation and the CLI's argument
parsing know every option without loading a model. A wrong value fails with the list of valid ones:
``unknown pooling 'sum': choose one of mean, max, cls``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

POOLING_MODES: tuple[str, ...] = ("mean", "max", "cls")  # how token vectors become one sentence vector
ALIGNMENT_STRATEGIES: tuple[str, ...] = ("first", "all")  # which word pieces carry a word's tag
DECODINGS: tuple[str, ...] = ("viterbi", "argmax")  # how word tags are read from the token head
SAMPLING_STRATEGIES: tuple[str, ...] = ("proportional", "round_robin", "temperature")  # how tasks' batches mix
PRECISIONS: tuple[str, ...] = ("fp32", "bf16")  # float32, or bfloat16 autocast of the forward pass
RUNTIMES: tuple[str, ...] = ("torch", "onnx", "onnx-int8")  # which engine runs the forward pass
FREEZE_MODES: tuple[str, ...] = ("none", "embeddings", "layers:N", "encoder")  # what of the encoder stays fixed
_FROZEN_LAYERS = re.compile(r"^layers:(\d+)$")


def check_option(kind: str, value: str, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ``ValueError`` naming the ``kind`` and listing them."""
    if value not in choices:
        raise ValueError(f"unknown {kind} {value!r}: choose one of {', '.join(choices)}")
    return value


def checker(kind: str, choices: Sequence[str]) -> Callable[[str], str]:
    """A one-argument check of one option (``check_option`` with ``kind`` and ``choices`` fixed), for pydantic and argparse."""

    def check(value: str) -> str:
        return check_option(kind, value, choices)

    check.__name__ = check.__qualname__ = f"check_{kind.replace(' ', '_')}"
    check.__doc__ = f"``value`` if it is a {kind} ({', '.join(choices)}), else ``ValueError`` listing them."
    return check


check_pooling = checker("pooling", POOLING_MODES)
check_alignment = checker("alignment", ALIGNMENT_STRATEGIES)
check_decoding = checker("decoding", DECODINGS)
check_sampling = checker("sampling", SAMPLING_STRATEGIES)
check_precision = checker("precision", PRECISIONS)
check_runtime = checker("runtime", RUNTIMES)


def check_runtime_precision(runtime: str, precision: str) -> None:
    """Refuse combinations that do not exist: bf16 autocast is a PyTorch feature."""
    check_runtime(runtime)
    check_precision(precision)
    if precision != "fp32" and runtime != "torch":
        raise ValueError(f"precision {precision!r} needs runtime 'torch'; runtime {runtime!r} has its own number format")


def frozen_layers(spec: str) -> int | None:
    """How many transformer layers ``layers:N`` freezes (N); None for the other freeze modes. ``ValueError`` if invalid."""
    match = _FROZEN_LAYERS.match(spec)
    if match:
        return int(match.group(1))
    if spec in ("none", "embeddings", "encoder"):
        return None
    raise ValueError(f"unknown freeze {spec!r}: choose one of {', '.join(FREEZE_MODES)} (N a whole number, e.g. layers:3)")


def check_freeze(spec: str) -> str:
    """``spec`` if it is a freeze mode: ``none``, ``embeddings``, ``layers:N`` (embeddings + first N layers) or ``encoder``."""
    frozen_layers(spec)
    return spec
