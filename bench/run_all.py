"""Run the benchmarks one after another and print a markdown summary table (docs/benchmarks.md).

Each benchmark runs in its own process (its own thread settings, memory and model caches), with its
defaults unless ``--quick`` (small sizes, to check that everything runs). A benchmark that fails, e.g.
serving before ``make run`` registered a model, shows up as an error row; the others still run.

    .venv/bin/python bench/run_all.py                  # encode (torch, onnx, onnx-int8 in one run; bf16), two_tasks and serving (torch, onnx), train_speed
    .venv/bin/python bench/run_all.py --with-pipeline  # and the full dvc repro (long)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from common import BENCH_DIR, RESULTS_DIR, machine

BENCHES = ["encode", "encode_bf16", "two_tasks", "two_tasks_onnx", "train_speed", "serving", "serving_onnx"]
# benchmarks that are another script run with fixed options
VARIANTS: dict[str, tuple[str, list[str]]] = {
    # the three runtimes alternate with the one peer in one process: their rows come from the same run
    "encode": ("encode", ["--runtime", "torch", "onnx", "onnx-int8"]),
    "encode_bf16": ("encode", ["--precision", "bf16"]),
    "two_tasks_onnx": ("two_tasks", ["--runtime", "onnx"]),
    "serving_onnx": ("serving", ["--runtime", "onnx"]),
}
# a run that writes several result rows, by name
ROWS: dict[str, list[str]] = {"encode": ["encode", "encode_onnx", "encode_onnx-int8"]}
QUICK_ARGS: dict[str, list[str]] = {
    "encode": ["--n", "200", "--repeats", "3"],
    "encode_bf16": ["--n", "200", "--repeats", "3"],
    "two_tasks": ["--n", "200", "--repeats", "3"],
    "two_tasks_onnx": ["--n", "200", "--repeats", "3"],
    "train_speed": ["--n", "128", "--repeats", "2"],
    "serving": ["--repeats", "5"],
    "serving_onnx": ["--repeats", "5"],
    "pipeline": [
        "--params-override",
        "prepare.sst2_train=64",
        "prepare.sst2_dev=32",
        "prepare.sst2_validation=32",
        "prepare.conll_train=64",
        "prepare.conll_validation=32",
        "prepare.conll_test=32",
        "prepare.example_n=90",
        "train.epochs=1",
    ],
}


def run_bench(name: str, extra: list[str]) -> list[tuple[str, dict | None, str]]:
    """Run bench/<name>.py; returns (row name, result JSON or None if it failed, error line) per result row."""
    rows = ROWS.get(name, [name])
    outs = {row: RESULTS_DIR / f"{row}.json" for row in rows}
    started = time.time()
    script, fixed = VARIANTS.get(name, (name, []))
    command = [sys.executable, str(BENCH_DIR / f"{script}.py"), "--out", str(outs[name]), *fixed, *extra]
    print(f"\n$ {' '.join(command)}", flush=True)
    proc = subprocess.run(command, cwd=BENCH_DIR.parent, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        # the first line of a SystemExit message says what to do (e.g. "run `make run` first")
        reason = next((line for line in lines if not line.startswith((" ", "Traceback"))), lines[-1] if lines else "")
        print(proc.stderr[-3000:], file=sys.stderr)
        return [(row, None, f"failed (exit {proc.returncode}): {reason[:160]}") for row in rows]
    results = []
    for row, out in outs.items():
        # only a result written by this run counts, never a stale file from an earlier one
        if not out.exists() or out.stat().st_mtime < started:
            results.append((row, None, "no result written"))
        else:
            results.append((row, json.loads(out.read_text()), ""))
    return results


def table(rows: list[tuple[str, dict | None, str]]) -> str:
    """The markdown summary: one row per benchmark."""
    lines = ["| bench | ours | peer | ratio (peer/ours) | target | pass |", "| --- | --- | --- | --- | --- | --- |"]
    for name, result, error in rows:
        if result is None:
            lines.append(f"| {name} | {error} | | | | FAIL |")
            continue
        s = result["summary"]
        verdict = "-" if s["pass"] is None else ("PASS" if s["pass"] else "FAIL")
        lines.append(f"| {name} | {s['ours']} | {s['peer']} | {s['ratio']} | {s['target']} | {verdict} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--with-pipeline", action="store_true", help="also run bench/pipeline.py (a full dvc repro)")
    parser.add_argument("--quick", action="store_true", help="small sizes: checks that every benchmark runs")
    parser.add_argument("--only", nargs="*", choices=[*BENCHES, "pipeline"], help="run only these")
    parser.add_argument("--threads", type=int, default=None, help="passed to every benchmark that has --threads")
    parser.add_argument(
        "--omp-wait-policy", choices=["default", "passive", "active"], default=None, help="passed to every benchmark but pipeline"
    )
    args = parser.parse_args()
    names = args.only or [*BENCHES, *(["pipeline"] if args.with_pipeline else [])]
    rows = []
    for name in names:
        extra = list(QUICK_ARGS.get(name, [])) if args.quick else []
        if args.threads is not None and name != "pipeline":
            extra += ["--threads", str(args.threads)]
        if args.omp_wait_policy is not None and name != "pipeline":
            extra += ["--omp-wait-policy", args.omp_wait_policy]
        rows.extend(run_bench(name, extra))
    m = machine()
    print("\n" + table(rows))
    print(
        f"\n{m.get('cpu_model', m['processor'])}, {m['cpu_count']} CPUs, torch {m['torch']}, python {m['python']}"
        f"{' (quick sizes: not for publishing)' if args.quick else ''}; ratio > 1 means ours is faster."
    )
    sys.exit(0 if all(r is not None for _, r, _ in rows) else 1)


if __name__ == "__main__":
    main()
