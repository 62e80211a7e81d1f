"""Moving ``@champion``: only through the gate (or forced, with a reason), one move at a time, every move recorded.

- **The gate only promotes.** A version that fails the gate never takes ``@champion``; it becomes
  ``@challenger``. A champion that fails a stricter gate keeps ``@champion`` (it is tagged with the check it
  fails, and the stage warns): taking the alias away would leave ``make serve`` and every restart of the
  server with nothing to load, and the next candidate with no champion to be compared against. So once a
  version has passed, the registered model always has a champion.
- **One move at a time.** The champion is read, the gate decides and the aliases move under one lock, a file
  beside the project's MLflow store (``registry_lock``), which every export of the project takes: the
  workspace's, ``dvc exp run --temp``'s and ``--queue``'s (they all resolve the store through ``DVC_ROOT``).
  The champion is read after the lock is taken, so two exports started together are judged one after the
  other, the second against the first's result. A shared tracking server serves several machines, which
  share no lock file: there, run exports from one machine (or one CI job) at a time.
- **Every move is recorded** on the registered model, as tags ``mtl.alias_move.<n>``: when, which alias,
  from and to which version, and why. ``mtl registry history`` lists them and ``rollback`` walks them back.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock
from mlflow.tracking import MlflowClient

from mtl.config.paths import project_root
from mtl.registry.gate import Decision, decide, scored_set
from mtl.registry.versions import CHALLENGER, CHAMPION, FORCED_TAG, KEPT_TAG, SCORING_TAG, aliased, record, recorded_scores
from mtl.tracking.store import DEFAULT_STORE, tracking_uri

MOVE_TAG = "mtl.alias_move."  # registered-model tag prefix, one tag per move: ``mtl.alias_move.000007``
# Test hook: seconds to wait between reading the champion and moving the aliases, which widens the window two
# exports without the lock would race in (tests/test_promotion.py shows the lock closes it).
PAUSE_ENV = "MTL_TEST_GATE_PAUSE"
LOCK_TIMEOUT = 3600.0  # seconds: an export waits this long for another one to finish


@dataclass(frozen=True)
class Outcome:
    """What a gated version is now, and why."""

    version: str
    alias: str  # champion or challenger
    decision: Decision
    champion_before: str | None
    kept: bool = False  # it was @champion, failed the gate, and kept the alias
    forced: str | None = None  # the reason, when it was promoted without passing
    champion_rescored: dict[str, float] | None = None  # the champion's scores on this version's sets, when re-scored

    def describe(self, name: str) -> str:
        """One line for logs: what happened to ``name`` version ``version`` and which check decided it."""
        failed = "; ".join(self.decision.failures)
        if self.kept:
            return f"{name} version {self.version} stays @champion though it fails the gate now ({failed}); it serves until a version passes"
        if self.forced:
            return f"{name} version {self.version} is @champion, forced ({self.forced})" + (f"; it fails: {failed}" if failed else "")
        return f"{name} version {self.version} is @{self.alias}" + (f": {failed}" if failed else "")


def lock_path() -> Path:
    """The lock file: beside the SQLite store, else in the project's ``mlruns/`` (a tracking server's clients on this machine)."""
    uri = tracking_uri()
    if uri.startswith("sqlite:///"):
        return Path(uri.removeprefix("sqlite:///")).with_name(".registry.lock")
    return project_root() / DEFAULT_STORE / ".registry.lock"


@contextlib.contextmanager
def registry_lock(timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the project's registry lock: one alias move at a time on this machine."""
    path = lock_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path), timeout=timeout):
        yield


def moves(name: str) -> list[dict]:
    """Every recorded alias move of ``name``, oldest first."""
    tags = MlflowClient().get_registered_model(name).tags or {}
    return [json.loads(tags[key]) for key in sorted(k for k in tags if k.startswith(MOVE_TAG))]


def _move(name: str, alias: str, to: str, why: str, kind: str) -> None:
    """Point ``name@alias`` at version ``to`` and record the move (call it under ``registry_lock``)."""
    client = MlflowClient()
    before = aliased(name, alias)
    source = None if before is None else str(before.version)
    if source == str(to):
        return
    client.set_registered_model_alias(name, alias, str(to))
    entry = {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "alias": alias, "from": source, "to": str(to), "why": why, "kind": kind}
    client.set_registered_model_tag(name, f"{MOVE_TAG}{len(moves(name)) + 1:06d}", json.dumps(entry, sort_keys=True))


def _comparison(champion, fingerprints: Mapping[str, str]) -> tuple[dict[str, float] | None, dict[str, bool] | None]:
    """The champion's recorded scores, and for each whether it was measured on the same selection set as the candidate's."""
    if champion is None:
        return None, None
    scores, data = recorded_scores(champion)
    return scores, {s: data.get(scored_set(s)) == fingerprints.get(scored_set(s)) for s in scores}


def needs_rescoring(champion, fingerprints: Mapping[str, str], scoring: str | None) -> bool:
    """Whether the champion's recorded scores are not like the candidate's: other selection sets, or other scoring code."""
    scores, same_sets = _comparison(champion, fingerprints)
    recorded_with = (champion.tags or {}).get(SCORING_TAG)
    return not all(same_sets.values()) or set(map(scored_set, scores)) != set(fingerprints) or (scoring is not None and recorded_with != scoring)


def gate_version(
    name: str,
    version: str,
    scores: Mapping[str, float],
    fingerprints: Mapping[str, str],
    thresholds: Mapping[str, float],
    tolerance: float = 0.0,
    force: str | None = None,
    by: str = "export",
    rescore: Callable[[str], Mapping[str, float] | None] | None = None,
    scoring: str | None = None,
) -> Outcome:
    """Judge ``name`` version ``version`` by the gate against the current champion and move the aliases: only ever to a
    version that passes, or with ``force`` (a reason, recorded). ``scores`` and ``fingerprints`` are the version's
    selection scores and sets (``mtl.registry.gate.selection_scores``); they are tagged on the version, with
    ``scoring``, the hash of the code that made them (``mtl.registry.pyfunc.scoring_hash``).

    Like with like: when the champion's recorded scores came from other selection sets or other scoring code,
    ``rescore(champion_version)`` gives its scores on this version's sets with this code
    (``mtl.registry.rescoring.rescore``), and the gate compares those. If it cannot (None, or no ``rescore``), the
    recorded scores are compared, and a score on other data fails (``mtl.registry.gate.decide``)."""
    version = str(version)
    with registry_lock():
        champion = aliased(name, CHAMPION)  # read under the lock: another export may have just moved it
        if os.environ.get(PAUSE_ENV):
            time.sleep(float(os.environ[PAUSE_ENV]))
        before = None if champion is None else str(champion.version)
        # a version is not compared with itself: re-gating the champion asks only whether it meets the thresholds
        rival = None if before == version else champion
        champion_scores, comparable = _comparison(rival, fingerprints)
        rescored = None
        if rival is not None and rescore is not None and needs_rescoring(rival, fingerprints, scoring):
            rescored = rescore(str(rival.version))
            if rescored is not None:
                champion_scores, comparable = dict(rescored), None
        decision = decide(scores, thresholds, champion_scores, tolerance, comparable)
        client = MlflowClient()
        record(client.get_model_version(name, version), scores, fingerprints, decision)
        if scoring is not None:
            client.set_model_version_tag(name, version, SCORING_TAG, scoring)
        if decision.promote or force:
            why = f"forced by {by}: {force}" if force and not decision.promote else f"passed the gate ({by})"
            _move(name, CHAMPION, version, why, "forced" if force and not decision.promote else "gate")
            if force and not decision.promote:
                client.set_model_version_tag(name, version, FORCED_TAG, force)
            held = aliased(name, CHALLENGER)
            if held is not None and str(held.version) == version:
                client.delete_registered_model_alias(name, CHALLENGER)
            return Outcome(version, CHAMPION, decision, before, forced=force if not decision.promote else None, champion_rescored=rescored)
        if before == version:
            client.set_model_version_tag(name, version, KEPT_TAG, "; ".join(decision.failures)[:5000])
            return Outcome(version, CHAMPION, decision, before, kept=True)
        _move(name, CHALLENGER, version, f"failed the gate ({by}): {'; '.join(decision.failures)}"[:1000], "gate")
        return Outcome(version, CHALLENGER, decision, before, champion_rescored=rescored)


def previous_champion(name: str) -> str | None:
    """The champion before the current one, as the recorded moves tell it: promotions stack, rollbacks unstack."""
    stack: list[str] = []
    for entry in moves(name):
        if entry["alias"] != CHAMPION:
            continue
        if entry["kind"] == "rollback":
            if stack:
                stack.pop()
            if not stack or stack[-1] != entry["to"]:
                stack.append(entry["to"])
        else:
            if not stack and entry["from"]:
                stack.append(entry["from"])  # a champion from before moves were recorded
            stack.append(entry["to"])
    current = aliased(name, CHAMPION)
    if current is None or not stack or stack[-1] != str(current.version):
        return None  # moved outside this project's records: nothing recorded to go back to
    earlier = [v for v in stack[:-1] if v != stack[-1]]
    return earlier[-1] if earlier else None


def rollback(name: str, why: str = "rollback", by: str = "mtl registry rollback") -> tuple[str, str]:
    """Move ``@champion`` back to the previous champion; returns (from, to). ``LookupError`` when there is none to go back to."""
    with registry_lock():
        current = aliased(name, CHAMPION)
        if current is None:
            raise LookupError(f"{name} has no @champion to roll back")
        target = previous_champion(name)
        if target is None:
            raise LookupError(
                f"{name}: no earlier champion is recorded before version {current.version}; "
                f"promote the version you want with `mtl registry promote {name} VERSION --force --reason ...`"
            )
        _move(name, CHAMPION, target, f"{why} ({by})", "rollback")
        return str(current.version), target


def promote(name: str, version: str, thresholds: Mapping[str, float], tolerance: float = 0.0, force: str | None = None) -> Outcome:
    """``mtl registry promote``: judge a registered version by its recorded scores (``score.*`` tags, as export and
    ``mtl fine-tune --register`` write them) and move ``@champion`` to it if it passes, or with ``force`` (a reason)."""
    scores, fingerprints = recorded_scores(MlflowClient().get_model_version(name, str(version)))
    return gate_version(name, str(version), scores, fingerprints, thresholds, tolerance, force=force, by="mtl registry promote")
