"""Moving @champion on a real MLflow registry (SQLite): the gate only promotes, forced moves and rollbacks are recorded,
and two exports at once are judged one after the other."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mtl.registry.promotion import gate_version, moves, previous_champion, rollback
from mtl.registry.versions import KEPT_TAG, aliased

NAME = "mtl-test"
THRESHOLDS = {"sentence_accuracy": 0.8, "entity_f1": 0.6}
DATA = {"sst2.dev": "a", "conll2003.validation": "b"}


def scores(acc: float, f1: float) -> dict[str, float]:
    return {"sst2.dev.sentence_accuracy": acc, "conll2003.validation.entity_f1": f1}


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """An empty SQLite store in ``tmp_path`` with registered model NAME and a version factory (no model files needed)."""
    import mlflow
    from mlflow.tracking import MlflowClient

    store = f"sqlite:///{tmp_path}/mlruns/mlflow.db"
    (tmp_path / "mlruns").mkdir()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    mlflow.set_tracking_uri(store)
    mlflow.set_registry_uri(store)
    client = MlflowClient()
    client.create_registered_model(NAME)

    def new_version() -> str:
        return str(client.create_model_version(NAME, source=(tmp_path / "model").as_uri()).version)

    return new_version


def _champion() -> str | None:
    version = aliased(NAME, "champion")
    return None if version is None else str(version.version)


def test_a_failing_version_never_takes_champion_and_a_passing_one_does(registry):
    first = gate_version(NAME, registry(), scores(0.85, 0.84), DATA, THRESHOLDS)
    assert (first.alias, _champion()) == ("champion", "1")
    worse = gate_version(NAME, registry(), scores(0.84, 0.90), DATA, THRESHOLDS)
    assert worse.alias == "challenger" and _champion() == "1" and str(aliased(NAME, "challenger").version) == "2"
    assert worse.decision.failures == ["sst2.dev.sentence_accuracy 0.8400 < 0.8500 (the champion (less tolerance))"]
    better = gate_version(NAME, registry(), scores(0.86, 0.85), DATA, THRESHOLDS)
    assert better.alias == "champion" and _champion() == "3" and better.champion_before == "1"
    assert [(m["alias"], m["from"], m["to"], m["kind"]) for m in moves(NAME)] == [
        ("champion", None, "1", "gate"), ("challenger", None, "2", "gate"), ("champion", "1", "3", "gate")
    ]


def test_a_champion_that_fails_a_stricter_gate_keeps_the_alias(registry):
    from mlflow.tracking import MlflowClient

    version = registry()
    gate_version(NAME, version, scores(0.85, 0.84), DATA, THRESHOLDS)
    stricter = gate_version(NAME, version, scores(0.85, 0.84), DATA, {**THRESHOLDS, "entity_f1": 0.99})
    assert stricter.kept and stricter.alias == "champion" and _champion() == version
    assert stricter.decision.failures == ["conll2003.validation.entity_f1 0.8400 < 0.9900 (the threshold)"]
    assert "stays @champion though it fails" in stricter.describe(NAME) and "entity_f1 0.8400 < 0.9900" in stricter.describe(NAME)
    tags = MlflowClient().get_model_version(NAME, version).tags
    assert tags["gate.passed"] == "false" and "0.9900" in tags[KEPT_TAG]
    # another version failing the same stricter gate leaves the champion where it is too
    other = gate_version(NAME, registry(), scores(0.90, 0.90), DATA, {**THRESHOLDS, "entity_f1": 0.99})
    assert other.alias == "challenger" and _champion() == version


def test_forced_promotions_and_rollbacks_walk_the_recorded_history(registry):
    one, two, three = registry(), registry(), registry()
    gate_version(NAME, one, scores(0.85, 0.84), DATA, THRESHOLDS)
    gate_version(NAME, two, scores(0.86, 0.85), DATA, THRESHOLDS)
    forced = gate_version(NAME, three, scores(0.50, 0.50), DATA, THRESHOLDS, force="a hotfix, checked by hand", by="test")
    assert forced.forced == "a hotfix, checked by hand" and _champion() == three
    assert previous_champion(NAME) == two
    assert rollback(NAME, "the hotfix was bad") == (three, two) and _champion() == two
    assert rollback(NAME) == (two, one) and _champion() == one
    with pytest.raises(LookupError, match="no earlier champion is recorded"):
        rollback(NAME)
    assert [m["kind"] for m in moves(NAME) if m["alias"] == "champion"] == ["gate", "gate", "forced", "rollback", "rollback"]
    assert "the hotfix was bad" in moves(NAME)[3]["why"]


RACE = """
import contextlib, sys
from mtl.registry import promotion
if sys.argv[3] == "unlocked":
    promotion.registry_lock = contextlib.nullcontext
acc = float(sys.argv[2])
promotion.gate_version("mtl-test", sys.argv[1], {"sst2.dev.sentence_accuracy": acc, "conll2003.validation.entity_f1": 0.8},
                       {"sst2.dev": "a", "conll2003.validation": "b"}, {"sentence_accuracy": 0.8, "entity_f1": 0.6})
"""


@pytest.mark.slow
@pytest.mark.parametrize("lock", ["locked", "unlocked"])
def test_two_exports_started_together_leave_the_better_model_champion(registry, lock):
    """Both read the champion, then move the aliases (a test hook holds that window open for 3 s). Locked, the worse one,
    started second, is judged against the better one's result; unlocked, it overwrites it: the race the lock closes."""
    better, worse = registry(), registry()
    env = {**os.environ, "MTL_TEST_GATE_PAUSE": "3"}
    first = subprocess.Popen([sys.executable, "-c", RACE, better, "0.90", lock], env=env)
    import time

    time.sleep(1.0)  # the worse one starts while the better one is inside its window
    second = subprocess.Popen([sys.executable, "-c", RACE, worse, "0.85", lock], env=env)
    assert first.wait(timeout=120) == 0 and second.wait(timeout=120) == 0
    if lock == "locked":
        assert _champion() == better and str(aliased(NAME, "challenger").version) == worse
    else:
        assert _champion() == worse  # without the lock the last writer wins, even with the worse model


def test_a_champion_set_before_moves_were_recorded_is_still_rolled_back_to(registry):
    """A registry from before the history: its champion was set without a record; the first recorded move names it."""
    from mlflow.tracking import MlflowClient

    old, new = registry(), registry()
    MlflowClient().set_registered_model_alias(NAME, "champion", old)  # as an earlier version of the project did
    gate_version(NAME, new, scores(0.5, 0.5), DATA, THRESHOLDS, force="checked by hand")
    assert previous_champion(NAME) == old
    assert rollback(NAME) == (new, old) and _champion() == old


def test_a_champion_scored_on_other_data_is_re_scored_on_the_candidates_sets(registry):
    """Like with like: the champion's recorded 0.90 was on another dev set; on the candidate's it scores 0.80, and the
    candidate's 0.85 beats that. Without re-scoring the two numbers are not comparable and the candidate fails."""
    champion = registry()
    gate_version(NAME, champion, scores(0.90, 0.84), {"sst2.dev": "old", "conll2003.validation": "b"}, THRESHOLDS, scoring="code-1")
    asked = []

    def rescore(version):
        asked.append(version)
        return scores(0.80, 0.84)

    candidate = gate_version(NAME, registry(), scores(0.85, 0.84), DATA, THRESHOLDS, rescore=rescore, scoring="code-1")
    assert asked == [champion] and candidate.alias == "champion" and candidate.champion_rescored == scores(0.80, 0.84)
    assert [c.bound for c in candidate.decision.checks if c.kind == "champion"] == [0.84, 0.80]  # against the re-scored champion
    # a rescore that cannot score the champion there (other labels): the recorded scores, on other data, fail the comparison
    refused = gate_version(NAME, registry(), scores(0.99, 0.99), {"sst2.dev": "new", "conll2003.validation": "b"}, THRESHOLDS,
                           rescore=lambda version: None, scoring="code-1")
    assert refused.alias == "challenger" and "selection set differs" in refused.decision.failures[0]


def test_a_champion_is_re_scored_when_other_code_scored_it_and_not_otherwise(registry):
    champion = registry()
    gate_version(NAME, champion, scores(0.85, 0.84), DATA, THRESHOLDS, scoring="code-1")
    asked = []

    def rescore(version):
        asked.append(version)
        return scores(0.85, 0.84)

    gate_version(NAME, registry(), scores(0.85, 0.84), DATA, THRESHOLDS, rescore=rescore, scoring="code-1")
    assert asked == []  # same sets, same scoring code: the recorded scores are like the candidate's
    gate_version(NAME, registry(), scores(0.85, 0.84), DATA, THRESHOLDS, rescore=rescore, scoring="code-2")
    assert len(asked) == 1  # the decoding or the metrics changed since the champion was scored
