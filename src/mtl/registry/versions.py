"""Registered versions: find the one a training run registered, look up an alias, record a version's scores and verdict.

The aliases move in ``mtl.registry.promotion``, under the gate and a lock.
"""

from __future__ import annotations

from collections.abc import Mapping

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from mtl.registry.gate import Decision

CHAMPION = "champion"
CHALLENGER = "challenger"
SCORE_TAG = "score."  # version tag prefix: the gated scores, ``score.<dataset>.<split>.<metric>``
DATA_TAG = "selection_md5."  # version tag prefix: a fingerprint of each selection set, ``selection_md5.<dataset>.<split>``
# Versions registered before SST-2 had a dev split fingerprinted each data set's validation split as
# ``validation_md5.<dataset>``; read back as ``<dataset>.validation``, so such a champion still compares on
# CoNLL-2003 (on SST-2 it was chosen on another split, which the gate never compares: mtl.registry.gate.decide).
LEGACY_DATA_TAG = "validation_md5."
CODE_TAG = "mtl.code_md5"  # the md5 of the package code the version ships
SCORING_TAG = "mtl.scoring_md5"  # the md5 of the code that scored it (mtl.registry.pyfunc.scoring_hash)
PASSED_TAG = "gate.passed"  # "true" or "false": the gate's last verdict on the version
KEPT_TAG = "gate.kept_champion"  # it failed the gate while @champion, and kept the alias; the value is the failed check
FORCED_TAG = "gate.forced"  # promoted without passing the gate; the value is the reason given


def version_for_run(name: str, run_id: str, code: str) -> ModelVersion | None:
    """The newest version of ``name`` registered from run ``run_id`` with serving code ``code``, if any.

    Export re-runs reuse it; changed serving code gets a new version, since the version ships the code.
    """
    versions = MlflowClient().search_model_versions(f"name = '{name}' and run_id = '{run_id}'")
    same = [v for v in versions if (v.tags or {}).get(CODE_TAG) == code]
    return max(same, key=lambda v: int(v.version), default=None)


def aliased(name: str, alias: str) -> ModelVersion | None:
    """The version ``name@alias`` points at, or None (no such model or alias yet)."""
    try:
        return MlflowClient().get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def resolve(name: str, reference: str) -> str:
    """The version number a reference names now: ``@alias`` is looked up on every call (so a moved alias is seen
    at once), a version number is returned as it is. ``LookupError`` for an alias that points nowhere."""
    if not reference.startswith("@"):
        return reference
    version = aliased(name, reference[1:])
    if version is None:
        raise LookupError(f"registered model {name!r} has no alias {reference!r}")
    return str(version.version)


def recorded_scores(version: ModelVersion) -> tuple[dict[str, float], dict[str, str]]:
    """The gated scores and the selection sets' fingerprints (keyed ``<dataset>.<split>``) recorded on ``version``."""
    tags = version.tags or {}
    scores = {k[len(SCORE_TAG) :]: float(v) for k, v in tags.items() if k.startswith(SCORE_TAG)}
    data = {f"{k[len(LEGACY_DATA_TAG) :]}.validation": v for k, v in tags.items() if k.startswith(LEGACY_DATA_TAG)}
    data.update({k[len(DATA_TAG) :]: v for k, v in tags.items() if k.startswith(DATA_TAG)})
    return scores, data


def record(version: ModelVersion, scores: Mapping[str, float], fingerprints: Mapping[str, str], decision: Decision) -> None:
    """Tag ``version`` with its scores, its selection sets' fingerprints and the gate's verdict (tags are mutable)."""
    client = MlflowClient()
    tags = {f"{SCORE_TAG}{k}": repr(v) for k, v in scores.items()}
    tags.update({f"{DATA_TAG}{k}": v for k, v in fingerprints.items()})
    tags[PASSED_TAG] = str(decision.promote).lower()
    tags["gate.failures"] = "; ".join(decision.failures)[:5000]
    for key, value in tags.items():
        client.set_model_version_tag(version.name, version.version, key, value)




def verdict(version: ModelVersion) -> str:
    """The gate's verdict on a version, for people: passed, failed, kept (failing, still champion), forced, or unjudged."""
    tags = version.tags or {}
    if FORCED_TAG in tags:
        return "forced"
    if KEPT_TAG in tags and tags.get(PASSED_TAG) == "false":
        return "kept"
    return {"true": "passed", "false": "failed"}.get(tags.get(PASSED_TAG, ""), "unjudged")


def version_rows(name: str) -> list[dict]:
    """Every version of ``name``, newest first: its aliases, the gate's verdict, its gated scores, run, commit and date."""
    client = MlflowClient()
    held: dict[str, list[str]] = {}
    for alias, number in (client.get_registered_model(name).aliases or {}).items():
        held.setdefault(str(number), []).append(alias)
    rows = []
    for version in sorted(client.search_model_versions(f"name = '{name}'"), key=lambda v: -int(v.version)):
        commit = None
        if version.run_id:
            try:
                commit = client.get_run(version.run_id).data.tags.get("git_commit")
            except MlflowException:  # the run was deleted; the version stays listed
                commit = None
        rows.append(
            {
                "version": str(version.version),
                "aliases": sorted(held.get(str(version.version), [])),
                "gate": verdict(version),
                "scores": recorded_scores(version)[0],
                "run_id": version.run_id,
                "commit": commit,
                "created": version.creation_timestamp,
            }
        )
    return rows
