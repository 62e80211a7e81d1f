"""The promotion gate: a new model becomes ``@champion`` only if it passes the thresholds and is no worse than the champion.

Pure functions over score dictionaries, so every case is unit-tested without a registry; ``mtl.registry``
applies the decision to MLflow. Scores are named ``<dataset>.validation.<metric>`` (``sst2.validation.sentence_accuracy``),
so two models are only ever compared on the same data set's validation split, and models of different data
sources are registered under different names and never meet here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

# The metrics the gate reads from each validation split, and the threshold each one is held to.
GATED_METRICS: tuple[str, ...] = ("sentence_accuracy", "entity_f1")


@dataclass(frozen=True)
class Check:
    """One comparison: ``value`` (the candidate's score) against ``bound``; ``kind`` is ``threshold`` or ``champion``."""

    kind: str
    score: str
    value: float | None
    bound: float | None
    passed: bool
    note: str = ""

    def describe(self) -> str:
        """One line for logs and ``registered.json``, with both numbers."""
        value = "missing" if self.value is None else f"{self.value:.4f}"
        against = "the threshold" if self.kind == "threshold" else "the champion (less tolerance)"
        bound = "missing" if self.bound is None else f"{self.bound:.4f}"
        text = f"{self.score} {value} {'>=' if self.passed else '<'} {bound} ({against})"
        return f"{text}: {self.note}" if self.note else text


@dataclass(frozen=True)
class Decision:
    """The gate's verdict and every check behind it."""

    promote: bool
    checks: list[Check] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        """The failed checks, described."""
        return [c.describe() for c in self.checks if not c.passed]

    def as_dict(self) -> dict:
        """Plain dict for JSON."""
        return {
            "passed": self.promote,
            "failures": self.failures,
            "checks": [
                {"kind": c.kind, "score": c.score, "value": c.value, "bound": c.bound, "passed": c.passed} for c in self.checks
            ],
        }


def validation_scores(metrics: Mapping[str, Mapping[str, Mapping[str, object]]]) -> dict[str, float]:
    """The gated scores of a ``metrics.json`` (``{dataset: {split: {metric: value}}}``), as ``dataset.validation.metric``."""
    scores = {}
    for dataset, splits in metrics.items():
        validation = splits.get("validation", {})
        for metric in GATED_METRICS:
            value = validation.get(metric)
            if isinstance(value, int | float) and not math.isnan(value):
                scores[f"{dataset}.validation.{metric}"] = float(value)
    return scores


def _metric(score: str) -> str:
    return score.rsplit(".", 1)[-1]


def decide(
    candidate: Mapping[str, float],
    thresholds: Mapping[str, float],
    champion: Mapping[str, float] | None = None,
    tolerance: float = 0.0,
    comparable: Mapping[str, bool] | None = None,
) -> Decision:
    """Whether ``candidate`` may become champion.

    - Every metric in ``thresholds`` must have at least one candidate score, and each such score must reach it;
      a missing score fails (it never passes a threshold of 0).
    - With a ``champion`` (None for the first model), every score both were given must satisfy
      ``candidate >= champion - tolerance``; ``comparable[score]`` False (the validation sets differ) fails
      that score too, since "at least as good" cannot be shown on different data.
    """
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    checks: list[Check] = []
    for metric, minimum in thresholds.items():
        scores = {k: v for k, v in candidate.items() if _metric(k) == metric}
        if not scores:
            checks.append(Check("threshold", f"*.validation.{metric}", None, minimum, False, "no such score"))
        for score, value in sorted(scores.items()):
            checks.append(Check("threshold", score, value, minimum, value >= minimum))
    for score, reference in sorted((champion or {}).items()):
        if score not in candidate:
            continue  # a score the candidate lacks already failed its threshold, or is not gated
        bound = reference - tolerance
        if comparable is not None and not comparable.get(score, True):
            checks.append(Check("champion", score, candidate[score], bound, False, "validation set differs from the champion's"))
            continue
        # a hair of float noise must not turn an equal score into a loss
        checks.append(Check("champion", score, candidate[score], bound, candidate[score] >= bound - 1e-12))
    return Decision(all(c.passed for c in checks), checks)
