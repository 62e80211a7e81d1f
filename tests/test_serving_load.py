"""A bounded load test on 127.0.0.1: its own `mlflow models serve`, 8 concurrent clients, a fixed number of
requests under a time cap, 1- and 32-sentence requests mixed. It asserts that no request fails and
prints latency percentiles and the server's memory; it asserts nothing about time (speed lives in bench/)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import psutil
import pytest
import requests

from tests.test_serving_rest import serve

pytestmark = pytest.mark.slow

CLIENTS = 8
REQUESTS = 2_000
BIG_EVERY = 8  # every 8th request carries 32 sentences, the rest one
BIG = 32
TIME_CAP_S = 300.0
SENTENCES = [
    "Apple unveiled a new iPhone in California",
    "The weather in Paris is terrible today",
    "U.S. officials met J. Smith of Acme Corp. in St. Louis on Monday.",
    "Germany 's Jan Ullrich won the stage -- 3,000 fans watched.",
]


def _rss_mb(process: psutil.Process) -> float:
    """Resident memory of the server and every process it started (uvicorn workers), in MiB."""
    procs = [process, *process.children(recursive=True)]
    return sum(p.memory_info().rss for p in procs if p.is_running()) / 2**20


def test_load_8_clients_no_failed_request(project):
    root, env = project
    with serve(root, env, "--workers", "2") as (url, server):
        proc = psutil.Process(server.pid)
        rss_before = _rss_mb(proc)
        deadline = time.monotonic() + TIME_CAP_S
        local = threading.local()
        latencies: list[float] = []
        failures: list[str] = []
        lock = threading.Lock()

        def one(i: int) -> None:
            if time.monotonic() > deadline:
                return  # the time cap: requests not sent are reported, not failed
            session = getattr(local, "session", None) or requests.Session()
            local.session = session
            n = BIG if i % BIG_EVERY == 0 else 1
            body = {"inputs": [SENTENCES[(i + k) % len(SENTENCES)] for k in range(n)]}
            start = time.perf_counter()
            try:
                response = session.post(f"{url}/invocations", json=body, timeout=120)
                ok = response.status_code == 200 and len(response.json()["predictions"]) == n
                error = "" if ok else f"request {i}: HTTP {response.status_code} {response.text[:200]}"
            except requests.RequestException as err:
                error = f"request {i}: {err!r}"
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                if error:
                    failures.append(error)

        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(one, range(REQUESTS)))
        wall = time.perf_counter() - started
        rss_after = _rss_mb(proc)

    sent = len(latencies)
    p50, p99 = (float(np.percentile(latencies, q)) * 1000 for q in (50, 99)) if latencies else (float("nan"),) * 2
    print(
        f"\nload: {sent}/{REQUESTS} requests sent ({CLIENTS} clients, 1 in {BIG_EVERY} with {BIG} sentences) in {wall:.1f} s, "
        f"{len(failures)} failed; latency p50 {p50:.1f} ms, p99 {p99:.1f} ms; server RSS {rss_before:.0f} MiB -> {rss_after:.0f} MiB"
    )
    assert not failures, failures[:5]
    assert sent > 0
