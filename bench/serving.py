"""Serving overhead: a real ``mlflow models serve`` REST server vs the same model loaded in-process.

Starts ``mlflow models serve -m <uri> --env-manager local`` on 127.0.0.1 and a free port (in its own
process group, always stopped at the end), waits for ``/ping``, then times requests of 1 and 32 real
SST-2 sentences (``{"inputs": [...]}``) against ``mlflow.pyfunc.load_model(uri).predict(same list)``,
alternating the two. Latency is client wall time: for REST it includes HTTP, JSON both ways and the
server's input parsing; in-process it is the pyfunc call (schema enforcement and prediction).

The in-process call runs on a worker thread, as the scoring server runs ``predict`` (it uses
``asyncio.to_thread``): torch's OpenMP threads then behave the same on both sides. On the main thread
libgomp would spin-wait differently (it throttles spinning once more OpenMP threads exist than CPUs),
which on a busy 2-core machine made the in-process side up to 2.5x slower for no reason of its own.

Target: REST p50 <= 1.25 x in-process p50 at 32 sentences, i.e. ratio (in-process / REST) >= 0.8.
``--runtime onnx`` / ``onnx-int8`` sends the ``runtime`` request param to both sides (the registered
model carries the ONNX graphs its export stage built), so the p50s are per runtime.

    make run   # once: trains and registers models:/mtl-pipeline@champion
    .venv/bin/python bench/serving.py --repeats 30
    .venv/bin/python bench/serving.py --repeats 30 --runtime onnx
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from common import REPO, Side, base_parser, compare, percentile, print_header, setup, timed

NAME = "serving"
REST_FACTOR = 1.25  # REST p50 may be at most this many times the in-process p50
TARGET_RATIO = 1 / REST_FACTOR
COMPARED = "mlflow models serve (REST, 127.0.0.1) vs mlflow.pyfunc.load_model(uri).predict in-process"
MAKE_RUN_HINT = "no registered model to serve: run `make run` first (it trains and registers models:/mtl-pipeline@champion)"


def free_port() -> int:
    """A TCP port nobody listens on now (the OS picks it); the server binds it a moment later."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_model(uri: str, tracking_uri: str) -> None:
    """Exit with the ``make run`` hint unless ``uri`` names a model the tracking store has.

    Checked before anything starts; a missing SQLite file is reported rather than silently created.
    """
    if tracking_uri.startswith("sqlite:///"):
        db = Path(tracking_uri.removeprefix("sqlite:///"))
        if not db.exists():
            raise SystemExit(f"{MAKE_RUN_HINT}\n  (tracking store {db} does not exist)")
    if not uri.startswith("models:/"):
        return
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    name, _, rest = uri.removeprefix("models:/").partition("@")
    client = MlflowClient()
    try:
        if rest:  # models:/name@alias
            client.get_model_version_by_alias(name, rest)
        else:  # models:/name/version or models:/name/stage
            model, _, version = name.partition("/")
            versions = client.search_model_versions(f"name='{model}'")
            if not versions or (version.isdigit() and not any(v.version == version for v in versions)):
                raise MlflowException(f"no version {version!r} of {model!r}")
    except MlflowException as err:
        raise SystemExit(f"{MAKE_RUN_HINT}\n  ({uri} in {tracking_uri}: {str(err).splitlines()[0]})") from None


def mlflow_command() -> str:
    """The venv's mlflow (next to this Python) first, so the server runs the same installation."""
    beside = Path(sys.executable).with_name("mlflow")
    found = str(beside) if beside.exists() else shutil.which("mlflow")
    if not found:
        raise SystemExit("mlflow command not found (install the project: make install)")
    return found


def start_server(uri: str, port: int, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """``mlflow models serve`` in a new session (its own process group) so stopping it stops its workers too."""
    log = log_path.open("wb")
    command = [mlflow_command(), "models", "serve", "-m", uri, "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]
    print(f"   starting: {' '.join(command)}", flush=True)
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop_server(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group, SIGKILL it if it has not gone within 15 s."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)
    except ProcessLookupError:
        pass


def wait_ready(session: Any, base: str, proc: subprocess.Popen, timeout: float, log_path: Path) -> float:
    """Poll ``/ping`` until it answers 200 (bounded by ``timeout``); returns the seconds it took."""
    import requests

    started = time.perf_counter()
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise SystemExit(f"the server exited with code {proc.returncode} before answering /ping:\n{tail}")
        try:
            if session.get(f"{base}/ping", timeout=2).status_code == 200:
                return time.perf_counter() - started
        except requests.RequestException:
            pass
        time.sleep(0.5)
    tail = log_path.read_text(errors="replace")[-3000:]
    raise SystemExit(f"the server did not answer /ping within {timeout:.0f}s:\n{tail}")


def summary(answers: list[dict]) -> list[tuple[str, list[str]]]:
    """What must be equal on both sides: each sentence's label and word tags."""
    return [(a["sentence_label"], [w["tag"] for w in a["words"]]) for a in answers]


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0], n=32, repeats=30)
    parser.add_argument("--model-uri", default="models:/mtl-pipeline@champion", help="the model to serve and load")
    parser.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{REPO / 'mlruns' / 'mlflow.db'}",
        help="MLflow tracking/registry store (default: $MLFLOW_TRACKING_URI, else the project's mlruns/mlflow.db)",
    )
    parser.add_argument("--sizes", default="1,32", help="sentences per request, comma-separated; the target is on 32")
    parser.add_argument("--port", type=int, default=0, help="server port (0: a free one)")
    parser.add_argument("--startup-timeout", type=float, default=300.0, help="seconds to wait for /ping")
    parser.add_argument("--request-timeout", type=float, default=120.0, help="seconds per request")
    parser.add_argument("--runtime", choices=["torch", "onnx", "onnx-int8"], default="torch", help="the runtime request param, both sides")
    args = parser.parse_args()
    setup(args)
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    if max(sizes) > args.n:
        args.n = max(sizes)

    os.environ["MLFLOW_TRACKING_URI"] = args.tracking_uri
    import mlflow
    import requests
    import torch

    mlflow.set_tracking_uri(args.tracking_uri)
    mlflow.set_registry_uri(args.tracking_uri)
    check_model(args.model_uri, args.tracking_uri)

    from common import sst2_sentences

    # full review sentences (the validation split has only those), the first k for a k-sentence request
    sentences = sst2_sentences(args.data_dir, args.n, args.seed, split="validation")
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        # mlflow execs `uvicorn` by name: the venv's bin must be on PATH (the Makefile does the same)
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "MLFLOW_TRACKING_URI": args.tracking_uri,
        # the server's torch gets the same thread count as this process (torch reads OMP_NUM_THREADS)
        "OMP_NUM_THREADS": str(args.threads),
        "MKL_NUM_THREADS": str(args.threads),
    }
    settings = print_header(
        "serving: REST vs in-process latency",
        COMPARED,
        {
            "model_uri": args.model_uri,
            "tracking_uri": args.tracking_uri,
            "sizes": sizes,
            "runtime": args.runtime,
            "source": "SST-2 validation sentences",
            "threads": torch.get_num_threads(),
            "server_threads": args.threads,
            "in_process_thread": "one worker thread (as the scoring server's asyncio.to_thread)",
            "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "unset"),
            "repeats": args.repeats,
            "warmup": args.warmup,
            "port": port,
        },
    )

    started, loaded = timed(lambda: mlflow.pyfunc.load_model(args.model_uri))
    print(f"   in-process model loaded in {started:.1f}s", flush=True)
    log_dir = tempfile.TemporaryDirectory(prefix="bench-serving-")
    log_path = Path(log_dir.name) / "server.log"
    proc = start_server(args.model_uri, port, env, log_path)
    per_size: dict[int, dict[str, list[float]]] = {}
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="in-process")
    try:
        with requests.Session() as session:  # one kept-alive connection, as a real client would use
            ready = wait_ready(session, base, proc, args.startup_timeout, log_path)
            print(f"   server ready after {ready:.1f}s", flush=True)

            def rest(batch: list[str]) -> list[dict]:
                body = {"inputs": batch, "params": {"runtime": args.runtime}}
                reply = session.post(f"{base}/invocations", json=body, timeout=args.request_timeout)
                if reply.status_code != 200:
                    raise SystemExit(f"REST request failed: HTTP {reply.status_code}: {reply.text[:500]}")
                return reply.json()["predictions"]

            def local(batch: list[str]) -> list[dict]:
                return worker.submit(loaded.predict, list(batch), params={"runtime": args.runtime}).result()

            for size in sizes:
                batch = sentences[:size]
                if summary(rest(batch)) != summary(local(batch)):
                    raise SystemExit(f"REST and in-process answers differ for {size} sentences")
                for _ in range(args.warmup * 3):  # a few calls: the first ones of a new shape are slower
                    rest(batch)
                    local(batch)
                times: dict[str, list[float]] = {"rest": [], "local": []}
                for r in range(args.repeats):
                    for side in ("rest", "local") if r % 2 == 0 else ("local", "rest"):
                        seconds, _ = timed(lambda side=side: (rest if side == "rest" else local)(batch))
                        times[side].append(seconds)
                per_size[size] = times
                print(
                    f"   {size:>3} sentences: REST p50 {percentile(times['rest'], 50) * 1000:.1f} ms, "
                    f"p95 {percentile(times['rest'], 95) * 1000:.1f} ms | in-process p50 "
                    f"{percentile(times['local'], 50) * 1000:.1f} ms, p95 {percentile(times['local'], 95) * 1000:.1f} ms",
                    flush=True,
                )
    finally:
        stop_server(proc)
        worker.shutdown()
        log_dir.cleanup()

    latencies = {
        str(size): {
            side: {"p50_ms": percentile(t, 50) * 1000, "p95_ms": percentile(t, 95) * 1000, "seconds": t}
            for side, t in times.items()
        }
        for size, times in per_size.items()
    }
    target_size = 32 if 32 in per_size else max(per_size)
    times = per_size[target_size]
    compare(
        NAME if args.runtime == "torch" else f"{NAME}_{args.runtime}",
        COMPARED,
        settings,
        Side(f"REST, {target_size} sentences/request, {args.runtime}", times["rest"], target_size),
        Side(f"in-process, {target_size} sentences/call, {args.runtime}", times["local"], target_size),
        TARGET_RATIO,
        f"REST p50 <= {REST_FACTOR} x in-process p50 at {target_size} sentences (ratio >= {TARGET_RATIO:.2f})",
        extra={"latency": latencies, "server_ready_s": ready},
        out=args.out,
        shown=(
            f"REST p50 {percentile(times['rest'], 50) * 1000:.0f} ms ({target_size} sent.)",
            f"in-process p50 {percentile(times['local'], 50) * 1000:.0f} ms",
        ),
    )


if __name__ == "__main__":
    main()
