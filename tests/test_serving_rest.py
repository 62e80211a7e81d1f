"""Serving bounds against a real `mlflow models serve`: every bad input is a short 400 naming the rule it
breaks, a sentence past ``max_length`` gets a compact answer, and cases MLflow handles before our code
are pinned down as they are today (docs/serving.md)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import free_port, wait_until_up

pytestmark = pytest.mark.slow

MODEL_URI = "models:/mtl-pipeline@champion"
MAX_MESSAGE = 400  # characters: a 400 says what is wrong, it does not echo the request


@contextlib.contextmanager
def serve(root: Path, env: dict, *extra: str, extra_env: dict | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """A real `mlflow models serve` of the project's champion on 127.0.0.1 and a free port; stopped on exit."""
    port = free_port()
    server = subprocess.Popen(
        ["mlflow", "models", "serve", "-m", MODEL_URI, "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), *extra],
        cwd=root, env={**env, **(extra_env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/ping", server)
        yield url, server
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def server_url(project) -> Iterator[str]:
    root, env = project
    with serve(root, env) as (url, _):
        yield url


# (request body, text the 400's message must contain). Each is one bad input at one boundary.
BAD_REQUESTS = [
    ({"inputs": [""]}, "sentence 0 is empty"),
    ({"inputs": ["ok", "   "]}, "sentence 1 is empty"),
    ({"inputs": []}, ""),
    ({"inputs": [1, 2]}, "expected a string"),
    ({"inputs": [1984]}, "sentence 0 is int 1984, expected a string"),
    ({"inputs": [True]}, "sentence 0 is bool True, expected a string"),
    ({"dataframe_records": [{"text": 1984}]}, "sentence 0 is int 1984, expected a string"),
    ({"inputs": ["ok", None]}, "expected a string"),
    ({"inputs": [["a", "b"]]}, "expected a flat list of sentences"),
    ({"inputs": [["a"], ["b"]]}, "expected a flat list of sentences"),
    ({"inputs": {"text": ["a"], "x": ["b"]}}, "expected one key 'text'"),
    ({"dataframe_split": {"columns": ["text", "x"], "data": [["a", "b"]]}}, "got 2 columns"),
    ({"dataframe_records": [{"text": "a", "x": "b"}]}, "got 2 columns"),
    ({"dataframe_records": [{"a": "x", "b": "y"}]}, "expected one column"),
    ({"inputs": ["word"] * 257}, "257 sentences in one request; send at most 256"),
    ({"inputs": ["x" * 50_000, "y" * 50_001]}, "more than 100000 characters"),
    ({"inputs": ["ok"], "params": {"batch_size": 0}}, "batch_size must be >= 1"),
    ({"inputs": ["ok"], "params": {"precision": "fp8"}}, "fp32"),
    ({"inputs": ["ok"], "params": {"threshold": 1.5}}, "threshold must be between 0 and 1, got 1.5"),
]


@pytest.mark.parametrize(("body", "message"), BAD_REQUESTS, ids=[str(i) for i in range(len(BAD_REQUESTS))])
def test_bad_input_is_a_short_400_naming_the_limit(server_url, body, message):
    response = requests.post(f"{server_url}/invocations", json=body, timeout=60)
    assert response.status_code == 400, (body, response.status_code, response.text[:500])
    text = response.json()["message"]
    assert message in text
    assert len(text) <= MAX_MESSAGE, text[:MAX_MESSAGE]


def test_a_sentence_past_max_length_gets_a_compact_answer(server_url):
    sentence = "word " * 8_000  # 40,000 characters
    response = requests.post(f"{server_url}/invocations", json={"inputs": [sentence.strip()]}, timeout=120)
    assert response.status_code == 200, response.text[:500]
    [answer] = response.json()["predictions"]
    kept = len(answer["words"])
    assert 0 < kept < 48  # the tiny project's max_length is 48 pieces
    assert answer["truncated_words"] == 8_000 - kept
    assert answer["truncated_start"] == answer["words"][-1]["end"] + 1
    assert len(response.content) < len(sentence) + 20_000  # the echoed text plus a few dozen words, not 8,000


def test_the_threshold_param_drops_whole_entities_as_predict_texts_does(server_url, project):
    """The served model, asked with a threshold, answers as ``predict_texts(threshold=...)``: the app's and mtl predict's path."""
    from mtl.inference.predict import predict_texts
    from mtl.model.multitask import MultiTaskModel

    root, _ = project
    model = MultiTaskModel.load(root / "models/real/model")
    texts = ["Peter Blackburn flew from Brussels to New York on Monday .", "EU rejects German call to boycott British lamb ."]
    for threshold in (0.0, 0.3, 1.0):
        response = requests.post(f"{server_url}/invocations", json={"inputs": texts, "params": {"threshold": threshold}}, timeout=60)
        assert response.status_code == 200, response.text[:500]
        assert response.json()["predictions"] == predict_texts(model, texts, threshold=threshold), threshold
    assert not any(a["entities"] for a in response.json()["predictions"])  # 1.0: no entity is that sure


def test_a_string_is_always_a_sentence_whichever_way_it_is_sent(server_url):
    """"1984" answers 200 as inputs, records and a split frame; a JSON number is refused where its type reaches the model,
    and is text where MLflow's numpy parsing has already made it text (a number among strings)."""
    for body in ({"inputs": ["1984"]}, {"dataframe_records": [{"text": "1984"}]}, {"dataframe_split": {"columns": ["text"], "data": [["1984"]]}}):
        response = requests.post(f"{server_url}/invocations", json=body, timeout=60)
        assert response.status_code == 200, (body, response.text[:300])
        assert response.json()["predictions"][0]["text"] == "1984"
    mixed = requests.post(f"{server_url}/invocations", json={"inputs": ["ok", 5]}, timeout=60)
    assert mixed.status_code == 200 and [a["text"] for a in mixed.json()["predictions"]] == ["ok", "5"]


def test_the_character_budget_is_a_serve_time_setting(project):
    root, env = project
    with serve(root, env, extra_env={"MTL_MAX_CHARS": "20"}) as (url, _):
        ok = requests.post(f"{url}/invocations", json={"inputs": ["short one", "short two"]}, timeout=60)
        assert ok.status_code == 200, ok.text[:500]
        over = requests.post(f"{url}/invocations", json={"inputs": ["short one", "short two", "three"]}, timeout=60)
        assert over.status_code == 400 and "more than 20 characters" in over.json()["message"]


def test_cases_mlflow_handles_before_our_code(server_url):
    """Pinned as they are in MLflow 3 (docs/serving.md lists each with its upstream issue)."""
    body = b'{"inputs": ["ok"]}'
    # no Content-Type at all: MLflow splits a None header and answers 500
    no_type = requests.post(f"{server_url}/invocations", data=body, timeout=60)
    assert no_type.status_code == 500
    # a form Content-Type (curl -d without -H): 415 listing the supported types
    form = requests.post(f"{server_url}/invocations", data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=60)
    assert form.status_code == 415
    # not JSON: 400 from MLflow's parser
    broken = requests.post(f"{server_url}/invocations", data=b"{not json", headers={"Content-Type": "application/json"}, timeout=60)
    assert broken.status_code == 400
    # a list mixing sentences and lists: numpy refuses the ragged array inside MLflow, a 400
    ragged = requests.post(f"{server_url}/invocations", json={"inputs": ["a", ["b"]]}, timeout=60)
    assert ragged.status_code == 400
    # the server still answers afterwards
    assert requests.post(f"{server_url}/invocations", json={"inputs": ["ok"]}, timeout=60).status_code == 200
