"""Shared pieces of the benchmarks: settings header, timing, the alternating loop, statistics, results.

Every benchmark compares "ours" with a "peer" in one process, under the same thread count, after a
warm-up, alternating the two sides so that a slow spell of a shared machine hits both alike. The ratio
is always peer time / our time: above 1 means ours is faster.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
# params.yaml reads the data from ../shared/data; the benchmarks use the same copy by default.
DEFAULT_DATA_DIR = (REPO / ".." / "shared" / "data").resolve()

# The benchmarks import the project from src/ even when run as plain scripts outside the venv's editable install.
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))


# --- command line and settings -------------------------------------------------------------------


def base_parser(description: str, n: int, repeats: int, batch_size: int | None = None) -> argparse.ArgumentParser:
    """A parser with the options every benchmark has; each script adds its own."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--n", type=int, default=n, help="sentences per measured run")
    parser.add_argument("--repeats", type=int, default=repeats, help="measured runs per side (alternating)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured runs per side before measuring")
    if batch_size is not None:
        parser.add_argument("--batch-size", type=int, default=batch_size, help="sentences per batch, both sides")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads, the same for both sides")
    parser.add_argument(
        "--omp-wait-policy",
        choices=["default", "passive", "active"],
        default="default",
        help="OMP_WAIT_POLICY for torch's OpenMP threads (both sides); passive keeps idle threads from "
        "spinning, which on a busy machine otherwise inflates every figure (see bench/README.md)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the sentence sample")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="folder with sst2/ and conll2003/")
    parser.add_argument("--out", type=Path, default=None, help="result JSON; none = bench/results/<bench>.json")
    return parser


def setup(args: argparse.Namespace) -> None:
    """What every benchmark does first: OpenMP wait policy, quiet libraries, thread count, data check.

    The wait policy is read once when torch's OpenMP runtime starts, so it is set before torch loads.
    """
    if args.omp_wait_policy != "default":
        if "torch" in sys.modules:
            raise RuntimeError("--omp-wait-policy must be applied before torch is imported")
        os.environ["OMP_WAIT_POLICY"] = args.omp_wait_policy.upper()
    quiet()
    set_threads(args.threads)
    if hasattr(args, "data_dir"):
        check_data_dir(args.data_dir)
    cpus = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = 0.0
    if load > cpus / 2:
        print(
            f"   NOTE: load average {load:.1f} on {cpus} CPUs: the machine is busy, figures will be noisy"
            + ("" if args.omp_wait_policy == "passive" else " (and inflated by OpenMP spin-waiting: try --omp-wait-policy passive)"),
            flush=True,
        )


def set_threads(threads: int) -> None:
    """Fix torch's intra-op threads (and inter-op to 1) so both sides run under identical conditions."""
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # only settable before the first parallel op; harmless if already fixed
        pass


def machine() -> dict[str, Any]:
    """What the figures depend on: CPU, core count, OS, Python and library versions."""
    import torch

    info: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
    }
    try:
        # platform.processor() is empty on Linux; /proc/cpuinfo names the actual model
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        info["load_average_1m"] = round(os.getloadavg()[0], 2)  # a busy machine makes figures noisy
    except OSError:
        pass
    for name in ("transformers", "sentence_transformers", "mlflow", "dvc"):
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "__version__"):
            info[name] = module.__version__
    return info


def print_header(title: str, compared: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Print what is compared and under which settings; returns settings plus the machine description."""
    full = {**settings, "machine": machine()}
    print(f"== {title}")
    print(f"   compares: {compared}")
    for key, value in settings.items():
        print(f"   {key}: {value}")
    m = full["machine"]
    print(
        f"   machine: {m.get('cpu_model', m['processor'])}, {m['cpu_count']} CPUs, {m['platform']}, "
        f"python {m['python']}, torch {m['torch']}, load {m.get('load_average_1m', '?')}, "
        f"OMP_WAIT_POLICY {m['omp_wait_policy']}"
    )
    return full


# --- statistics and timing -----------------------------------------------------------------------


def median(values: list[float]) -> float:
    """The median (robust to the odd slow run on a shared machine)."""
    return float(statistics.median(values))


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), linear interpolation between order statistics."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    pos = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds one call of ``fn`` takes (perf_counter: monotonic, highest resolution), and its result."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


@dataclass
class Runs:
    """Measured seconds per side and each side's last result (for correctness checks)."""

    seconds: dict[str, list[float]] = field(default_factory=dict)
    last: dict[str, Any] = field(default_factory=dict)


def alternate(
    sides: dict[str, Callable[[], Any]],
    repeats: int,
    warmup: int = 1,
    setup: dict[str, Callable[[], Any]] | None = None,
    label: str = "",
) -> Runs:
    """Run every side ``warmup`` times unmeasured, then ``repeats`` measured rounds, alternating sides.

    The order within a round flips every round (A B, B A, A B, ...) so neither side always runs right
    after the other, e.g. on caches the other warmed or in a slow spell that began during it.
    ``setup[side]`` (optional) runs untimed before each call, e.g. to build a fresh model to train.
    """
    names = list(sides)
    setup = setup or {}
    runs = Runs({name: [] for name in names})
    for w in range(warmup):
        for name in names:
            if name in setup:
                setup[name]()
            sides[name]()
        print(f"   warm-up {w + 1}/{warmup} done", flush=True)
    for r in range(repeats):
        order = names if r % 2 == 0 else names[::-1]
        parts = []
        for name in order:
            if name in setup:
                setup[name]()
            seconds, runs.last[name] = timed(sides[name])
            runs.seconds[name].append(seconds)
            parts.append(f"{name} {seconds:.3f}s")
        print(f"   {label}round {r + 1}/{repeats}: " + ", ".join(parts), flush=True)
    return runs


# --- data ----------------------------------------------------------------------------------------


def sst2_sentences(data_dir: Path, n: int, seed: int, split: str = "train", min_words: int = 6) -> list[str]:
    """A seeded sample of ``n`` distinct SST-2 sentences of varied length.

    GLUE's train split also holds every sub-phrase of the trees ("the", "a good"); requiring
    ``min_words`` keeps mostly full sentences, still from short to the longest.
    """
    from mtl.data.readers import read_sst2

    texts = list(dict.fromkeys(t for t in read_sst2(data_dir / "sst2" / f"{split}.tsv")["text"] if len(t.split()) >= min_words))
    if n > len(texts):
        raise SystemExit(f"asked for {n} SST-2 sentences, only {len(texts)} with >= {min_words} words in {split}")
    return random.Random(seed).sample(texts, n)


def conll_words(data_dir: Path, n: int, seed: int, split: str = "train") -> list[list[str]]:
    """A seeded sample of ``n`` CoNLL-2003 sentences as word lists (documents' one-word headers left out)."""
    from mtl.data.readers import read_conll

    rows = [list(w) for w in read_conll(data_dir / "conll2003" / f"{split}.txt")["words"] if len(w) >= 3]
    if n > len(rows):
        raise SystemExit(f"asked for {n} CoNLL sentences, only {len(rows)} in {split}")
    return random.Random(seed).sample(rows, n)


def check_data_dir(data_dir: Path) -> None:
    """Fail early and clearly when the shared data is not where the benchmark looks."""
    if not (data_dir / "sst2" / "train.tsv").exists() or not (data_dir / "conll2003" / "train.txt").exists():
        raise SystemExit(f"{data_dir}: no sst2/train.tsv or conll2003/train.txt there; pass --data-dir")


# --- results -------------------------------------------------------------------------------------


@dataclass
class Side:
    """One side's figures: median seconds per run and what one run processes."""

    label: str
    seconds: list[float]
    items: int  # sentences (or requests) per run, for throughput
    unit: str = "sentences"

    @property
    def median_s(self) -> float:
        return median(self.seconds)

    @property
    def throughput(self) -> float:
        return self.items / self.median_s if self.median_s > 0 else math.inf

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "median_s": self.median_s,
            "min_s": min(self.seconds),
            "max_s": max(self.seconds),
            "seconds": self.seconds,
            "items": self.items,
            f"{self.unit}_per_s": self.throughput,
        }


def compare(
    name: str,
    compared: str,
    settings: dict[str, Any],
    ours: Side,
    peer: Side,
    target_ratio: float,
    target_text: str,
    extra: dict[str, Any] | None = None,
    extra_checks: dict[str, bool] | None = None,
    out: Path | None = None,
    shown: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """Print both sides, the ratio (peer / ours, >1 = ours faster) and PASS/FAIL; write the JSON result.

    ``extra_checks`` (e.g. embeddings agree) must all hold for a PASS as well. ``shown`` replaces the
    throughputs in the summary table (e.g. latencies for serving).
    """
    ratio = peer.median_s / ours.median_s if ours.median_s > 0 else math.inf
    checks = {"ratio": ratio >= target_ratio, **(extra_checks or {})}
    passed = all(checks.values())
    print(f"   ours  ({ours.label}): median {ours.median_s:.3f}s  ({ours.throughput:.1f} {ours.unit}/s)")
    print(f"   peer  ({peer.label}): median {peer.median_s:.3f}s  ({peer.throughput:.1f} {peer.unit}/s)")
    print(f"   ratio (peer/ours, >1 = ours faster): {ratio:.2f}")
    for key, ok in checks.items():
        if key != "ratio":
            print(f"   check {key}: {'ok' if ok else 'FAILED'}")
    print(f"   target: {target_text}  ->  {'PASS' if passed else 'FAIL'}")
    result = {
        "bench": name,
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "compared": compared,
        "settings": settings,
        "ours": ours.as_dict(),
        "peer": peer.as_dict(),
        "ratio": ratio,
        "target_ratio": target_ratio,
        "target": target_text,
        "checks": checks,
        "pass": passed,
        # what run_all.py puts in its table
        "summary": {
            "ours": shown[0] if shown else f"{ours.throughput:.1f} {ours.unit}/s",
            "peer": shown[1] if shown else f"{peer.throughput:.1f} {peer.unit}/s",
            "ratio": f"{ratio:.2f}",
            "target": target_text,
            "pass": passed,
        },
        **(extra or {}),
    }
    path = write_result(name, result, out)
    print(f"   result: {path}")
    return result


def write_result(name: str, result: dict[str, Any], out: Path | None = None) -> Path:
    """Write ``result`` as JSON to ``out`` or bench/results/<name>.json (the folder is created)."""
    path = out or RESULTS_DIR / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    result.setdefault("timestamp", datetime.now(timezone.utc).isoformat(timespec="seconds"))
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return path


def quiet() -> None:
    """Keep the libraries' progress bars and info logs out of the benchmark's output."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the Hub is unreachable here; never wait on it
    import logging

    for name in ("transformers", "sentence_transformers", "mlflow", "accelerate"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except ImportError:
        pass
