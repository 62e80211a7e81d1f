"""The MLflow UI as the project's experiments want it: the runs table, with the headline scores as columns.

MLflow 3.17's UI opens an experiment in its GenAI view (traces) unless the browser is switched to "Model
training" (the toggle at the top left, remembered per browser) or the address asks for it
(``?workflowType=machine_learning``); the experiment's ``mlflow.experimentKind`` tag decides only where that
toggle is off. And its runs table shows no metric column until a user ticks some. So every project
experiment carries the kind tag and a saved view, "Headline scores", with the scores people compare
(``mtl.tracking.metrics.headline_metrics``) as columns, and ``runs_url`` links straight to both.

A saved view is what the UI's own "Views > Save as new view" writes: an experiment tag
``mlflow.sharedViewState.<key>`` holding the view's name and its state, deflated and base64-encoded. That
format is the UI's, not a public API: should a later MLflow read it differently, the view is not offered
and nothing else changes (``tests/test_tracking.py`` pins what is written).
"""

from __future__ import annotations

import base64
import json
import time
import zlib
from urllib.parse import urlencode

EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"  # a model-training experiment (the other kinds are GenAI ones)
VIEW_TAG_PREFIX = "mlflow.sharedViewState."
HEADLINE_VIEW = "headline"  # the key of the saved view, in its tag and in the address
HEADLINE_VIEW_NAME = "Headline scores"
# the headline metrics any of the project's experiments logs (``headline_metrics``: split short name + score),
# then the settings ``dvc exp run -S`` changes most; a column no run has stays empty
HEADLINE_COLUMNS: tuple[str, ...] = tuple(
    f"metrics.`{split}_{score}`" for split in ("dev", "val", "test") for score in ("sentence_accuracy", "entity_f1")
) + ("metrics.`test_served_entity_f1`", "params.`train.epochs`", "params.`train.seed`")


def encode_view_state(state: dict) -> str:
    """A view's state as the UI stores it: ``deflate;`` and the zlib-deflated JSON in base64."""
    return "deflate;" + base64.b64encode(zlib.compress(json.dumps(state).encode(), 9)).decode()


def decode_view_state(value: str) -> dict:
    """The state ``encode_view_state`` wrote."""
    kind, _, data = value.partition(";")
    if kind != "deflate":
        raise ValueError(f"a saved view's state starts with 'deflate;', got {value[:20]!r}")
    return json.loads(zlib.decompress(base64.b64decode(data)))


def headline_view_tag(now_ms: int | None = None) -> tuple[str, str]:
    """The experiment tag (key, value) of the "Headline scores" saved view."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    view = {
        "name": HEADLINE_VIEW_NAME,
        "createdAt": now_ms,
        "updatedAt": now_ms,
        "state": encode_view_state({"selectedColumns": list(HEADLINE_COLUMNS)}),
    }
    return VIEW_TAG_PREFIX + HEADLINE_VIEW, json.dumps(view)


def experiment_tags(existing: dict[str, str] | None = None) -> dict[str, str]:
    """The tags a project experiment should have and lacks: the kind, and the headline view (kept if a user changed it)."""
    existing = existing or {}
    wanted = {EXPERIMENT_KIND_TAG: EXPERIMENT_KIND}
    key, value = headline_view_tag()
    wanted[key] = value
    return {k: v for k, v in wanted.items() if k not in existing}


def runs_url(base: str, experiment_id: str) -> str:
    """The address of an experiment's runs table in the headline view, on the UI at ``base`` (``http://127.0.0.1:5000``)."""
    query = urlencode({"workflowType": "machine_learning", "viewStateShareKey": HEADLINE_VIEW})
    return f"{base.rstrip('/')}/#/experiments/{experiment_id}/runs?{query}"
