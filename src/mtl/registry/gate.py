"""The promotion gate: a new model becomes ``@champion`` only if it passes the thresholds and is no worse than the champion.

Pure functions over score dictionaries, so every case is unit-tested without a registry; ``mtl.registry.versions``
applies the decision to MLflow. The gate reads each data set's selection split only (``mtl.data.splits``: SST-2
dev, CoNLL-2003 validation; held-out splits never promote a model). Scores are named
``<dataset>.<split>.<metric>`` (``sst2.dev.sentence_accuracy``, ``conll2003.validation.entity_f1``), so two
models are only ever compared on the same split of the same data set, and models of different data sources
are registered under different names and never meet here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from mtl.data.splits import selection_split

# The metrics the gate reads from each selection split, and the threshold each one is held to.
GATED_METRICS: tuple[str, ...] = ("sentence_accuracy", "entity_f1")
# How far below the champion a score may be and still count as equal: float noise only (the same accuracy
# computed two ways). One SST-2 dev sentence is 1/872 = 0.0011 and must lose (tests/test_gate.py).
FLOAT_NOISE = 1e-12


def score_name(dataset: str, split: str, metric: str) -> str:
    """A gated score's name: ``<dataset>.<split>.<metric>``."""
    return f"{dataset}.{split}.{metric}"


def parse_score(score: str) -> tuple[str, str, str]:
    """``"sst2.dev.sentence_accuracy"`` → ``("sst2", "dev", "sentence_accuracy")``; ValueError for another shape."""
    parts = score.split(".")
    if len(parts) != 3:
        raise ValueError(f"score name {score!r} is not <dataset>.<split>.<metric>")
    return parts[0], parts[1], parts[2]


def scored_set(score: str) -> str:
    """The data a score was measured on, ``<dataset>.<split>``: the key of its fingerprint."""
    dataset, split, _ = parse_score(score)
    return f"{dataset}.{split}"


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


def selection_scores(metrics: Mapping[str, Mapping[str, Mapping[str, object]]]) -> dict[str, float]:
    """The gated scores of a ``scores.json`` (``{dataset: {split: {metric: value}}}``), from each data set's
    selection split only, as ``<dataset>.<split>.<metric>``."""
    scores = {}
    for dataset, splits in metrics.items():
        split = selection_split(splits)
        if split is None:
            continue
        for metric in GATED_METRICS:
            value = splits[split].get(metric)
            if isinstance(value, int | float) and not math.isnan(value):
                scores[score_name(dataset, split, metric)] = float(value)
    return scores


def _metric(score: str) -> str:
    return parse_score(score)[2]


def _same_task(candidate: Mapping[str, float], score: str) -> str | None:
    """The candidate's score on the same data set and metric as ``score`` but another split, if any."""
    dataset, _, metric = parse_score(score)
    return next((s for s in sorted(candidate) if parse_score(s)[0] == dataset and _metric(s) == metric), None)


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
    - With a ``champion`` (None for the first model), every score the champion has must be the candidate's too
      and satisfy ``candidate >= champion - tolerance``; a champion score the candidate lacks fails;
      ``comparable[score]`` False (the selection sets differ) fails that score too, since "at least as good"
      cannot be shown on different data. So does a champion score
      on another split of the same data set and metric (a champion chosen on SST-2 validation, before SST-2
      had a dev split, against a candidate chosen on SST-2 dev).
    """
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    checks: list[Check] = []
    for metric, minimum in thresholds.items():
        scores = {k: v for k, v in candidate.items() if _metric(k) == metric}
        if not scores:
            checks.append(Check("threshold", f"*.*.{metric}", None, minimum, False, "no such score on any selection split"))
        for score, value in sorted(scores.items()):
            checks.append(Check("threshold", score, value, minimum, value >= minimum))
    for score, reference in sorted((champion or {}).items()):
        bound = reference - tolerance
        if score not in candidate:
            other = _same_task(candidate, score)
            if other is not None:
                note = f"the champion's score is on {scored_set(score)}, a different split: never compared"
                checks.append(Check("champion", other, candidate[other], bound, False, note))
            else:  # a candidate that cannot show a score the champion has is not shown to be as good
                checks.append(Check("champion", score, None, bound, False, "the candidate has no such score"))
            continue
        if comparable is not None and not comparable.get(score, True):
            checks.append(Check("champion", score, candidate[score], bound, False, "selection set differs from the champion's"))
            continue
        checks.append(Check("champion", score, candidate[score], bound, candidate[score] >= bound - FLOAT_NOISE))
    return Decision(all(c.passed for c in checks), checks)
