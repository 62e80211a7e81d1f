"""The full-data results: collect the pipeline runs from MLflow, then render the docs' table and the README's headline.

    .venv/bin/python experiments/results.py collect full-mtl-s42 full-mtl-s43
    .venv/bin/python experiments/results.py table            # this comparison (SST-2 dev split in force)
    .venv/bin/python experiments/results.py table --legacy   # the earlier 1-epoch runs, before the dev split
    .venv/bin/python experiments/results.py headline         # the README's short table
    .venv/bin/python experiments/results.py docs             # write both: docs/results.md and README.md
    .venv/bin/python experiments/results.py check            # docs == README == result JSONs == MLflow runs?

**Names.** A run is named ``<configuration>-s<seed>`` (``full-mtl-s42``, ``hf-conll-s43``); the table
groups runs by configuration and adds one mean ± spread row per configuration with two or more seeds.
Older names (``full-mtl``, ``full-mtl-seed43``) still parse: no suffix means no seed recorded.

**collect NAME...** finds the newest run of experiment ``mtl-pipeline`` whose ``dvc_exp_name`` tag or run
name is NAME and that has final scores (evaluate logged them), and writes ``<results-dir>/NAME.json``:
the scores of every split, rebuilt from the run's MLflow metrics (``sst2_dev_sentence_accuracy``,
``conll2003_test_f1_PER``, ``conll2003_test_served_entity_f1``, ... as ``mtl.pipeline.evaluate`` logs
them; the same shape as ``metrics/real/scores.json``), plus a ``training`` block: run id, git commit,
epochs, best epoch, training seconds, the settings, and ``sst2_dev`` (the size of the SST-2 dev split
the run was made with). The Hugging Face peers write the same shape themselves (``experiments/hf_peer.py``).

**table** renders every result under the results directory that has a ``training`` block. A result
whose ``training`` has no ``sst2_dev`` predates the SST-2 dev split: those are *legacy* and appear only
in ``table --legacy``, never averaged with the current runs. Missing cells (an untrained head, a split
the run did not score) are ``–``. Below the table: which differences are inside seed noise, and the run
list (each row's git commit and MLflow run, from its ``training`` block).

**headline** renders the README's short table: the embedded default's held-out scores (from
``metrics/real/metrics.json``, what ``make run`` gives) and one mean ± spread row per main configuration.

**docs** (``readme`` is the same command) writes ``table``'s output into ``docs/results.md`` between the lines
``DOCS_BEGIN`` and ``DOCS_END``, and ``headline``'s into ``README.md`` between ``HEADLINE_BEGIN`` and
``HEADLINE_END`` (HTML comments, invisible once rendered), and leaves the prose around them alone. Run it
whenever a result or the embedded default's metrics change: the test suite fails while a page shows another table.

**check** says whether the places agree: the docs page and the README show the generated blocks verbatim,
and every result's scores equal the metrics of the MLflow run it names (``training.run_id``) in this
clone's store. A run the store does not have (a fresh clone, another machine's run) is listed and
skipped, not failed. Exits 1 on any disagreement.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "experiments" / "results"
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

from hf_peer import EXPERIMENT as PEER_EXPERIMENT  # noqa: E402  (its imports are light; the heavy ones are inside functions)

from mtl.data.splits import SPLITS  # noqa: E402  (light: no torch, no pandas)

EXPERIMENT = "mtl-pipeline"
DATASETS = ("sst2", "conll2003")  # the data sets of the ``real`` source, as evaluate names them
ENTITY_TYPES = ("PER", "LOC", "ORG", "MISC")
MISSING = "–"
DOCS_PAGE = REPO / "docs" / "results.md"
README = REPO / "README.md"
# what `make run` trains (the embedded default): its summary and the params that made it, for the headline's first row
EMBEDDED_METRICS = REPO / "metrics" / "real" / "metrics.json"
PARAMS = REPO / "params.yaml"
# the generated blocks lie between these lines; ``docs`` rewrites what is between them and nothing else
DOCS_BEGIN = "<!-- results table: written by `python experiments/results.py docs`, edit the JSONs, not this -->"
DOCS_END = "<!-- end of results table -->"
HEADLINE_BEGIN = "<!-- headline results: written by `python experiments/results.py docs`, edit the JSONs, not this -->"
HEADLINE_END = "<!-- end of headline results -->"
# the README's sample answer: the real-data model's answer to the sample sentences, as the evaluate stage recorded it
SAMPLE = REPO / "metrics" / "real" / "sample.json"
SAMPLE_BEGIN = "<!-- sample answer: written by `python experiments/results.py docs` from metrics/real/sample.json, edit nothing here -->"
SAMPLE_END = "<!-- end of sample answer -->"

# configuration -> what the table calls it, in table order; configurations not listed come after, by name
LABELS = {
    "full-mtl": "multi-task (ours)",
    "full-sentence-only": "sentence-only (ours, token weight 0)",
    "full-token-only": "token-only (ours, sentence weight 0)",
    "hf-sst2": "HF peer: `run_glue` recipe",
    "hf-conll": "HF peer: `run_ner` recipe",
    # legacy configurations, kept so the earlier table renders with its own words
    "full-mtl-token-w0.5": "multi-task, token loss weight 0.5",
}
# the configurations the README's headline shows, in this order (the variants and legacy runs stay in the docs)
HEADLINE_CONFIGURATIONS = ("full-mtl", "full-sentence-only", "full-token-only", "hf-sst2", "hf-conll")
# the multi-task variants of full_data.sh, the default recipe with one setting changed: full-mtl-tw2 (token
# loss weight 2), full-mtl-temp2 (temperature sampling, T = 2), full-mtl-lr5e-5 (encoder learning rate 5e-5),
# full-mtl-e5 (5 epochs)
_VARIANT = re.compile(r"^full-mtl-(?P<kind>tw|temp|lr|e)(?P<value>\d+(?:\.\d+)?(?:e-\d+)?)$")
_VARIANT_WORDS = {
    "tw": "token loss weight {}",
    "temp": "temperature sampling, T = {}",
    "lr": "encoder learning rate {}",
    "e": "{} epochs",
}
# ``-s42`` (this scheme) or ``-seed43`` (the legacy runs) at the end of a name is the seed
_SEED_SUFFIX = re.compile(r"^(?P<configuration>.+?)-s(?:eed)?(?P<seed>\d+)$")


def parse_name(name: str) -> tuple[str, int | None]:
    """``"full-mtl-s42"`` → ``("full-mtl", 42)``; ``"full-mtl-seed43"`` → ``("full-mtl", 43)``; no suffix → ``(name, None)``."""
    match = _SEED_SUFFIX.match(name)
    if match is None:
        return name, None
    return match["configuration"], int(match["seed"])


def run_name(configuration: str, seed: int) -> str:
    """The systematic name of one run: ``run_name("full-mtl", 42)`` → ``"full-mtl-s42"``."""
    return f"{configuration}-s{seed}"


# ---------------------------------------------------------------------------------------------- collect


def scores_from_metrics(metrics: Mapping[str, float]) -> dict[str, dict[str, dict]]:
    """``scores.json``'s shape from a run's flat MLflow metrics, as evaluate logs them.

    ``sst2_dev_sentence_accuracy`` → ``{"sst2": {"dev": {"sentence_accuracy": ...}}}`` and
    ``conll2003_test_f1_PER`` → ``{"conll2003": {"test": {"per_type_f1": {"PER": ...}}}}``. Keys of other
    shapes (per-epoch ``val_...``, headline ``dev_sentence_accuracy``, losses) are left out.
    """
    scores: dict[str, dict[str, dict]] = {}
    for key, value in metrics.items():
        dataset = next((d for d in DATASETS if key.startswith(f"{d}_")), None)
        if dataset is None:
            continue
        rest = key[len(dataset) + 1 :]
        split = next((s for s in SPLITS if rest.startswith(f"{s}_")), None)
        if split is None or split == "train":
            continue
        metric = rest[len(split) + 1 :]
        entry = scores.setdefault(dataset, {}).setdefault(split, {})
        if metric.startswith("f1_"):  # evaluate renames per_type_f1.PER to f1_PER
            entry.setdefault("per_type_f1", {})[metric[3:]] = round(float(value), 6)
        else:
            entry[metric] = round(float(value), 6)
    return scores


def _find_run(client, experiment_id: str, name: str):
    """The newest run named ``name`` (``dvc_exp_name`` tag or run name) that has final scores."""
    found = {}
    for where in (f"tags.dvc_exp_name = '{name}'", f"attributes.run_name = '{name}'"):
        for run in client.search_runs([experiment_id], filter_string=where, order_by=["attributes.start_time DESC"]):
            found[run.info.run_id] = run
    if not found:
        raise SystemExit(f"no run tagged dvc_exp_name={name!r} or named {name!r} in experiment {EXPERIMENT!r}")
    # a run that stopped before evaluate (killed, failed) has no final scores: skip it, keep the last complete one
    complete = [r for r in found.values() if scores_from_metrics(r.data.metrics)]
    if not complete:
        raise SystemExit(f"{len(found)} run(s) named {name!r}, none with final scores: did the evaluate stage run?")
    return max(complete, key=lambda r: r.info.start_time)


def collect(name: str, experiment: str = EXPERIMENT) -> dict:
    """The final scores and training facts of the newest complete pipeline run called ``name``."""
    import mlflow
    from mlflow.tracking import MlflowClient

    from mtl.tracking.store import configure

    configure(REPO)
    client = MlflowClient()
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise SystemExit(f"no MLflow experiment {experiment!r} in {mlflow.get_tracking_uri()}")
    run = _find_run(client, found.experiment_id, name)
    run_id = run.info.run_id
    epochs = client.get_metric_history(run_id, "train_loss")
    speed = [m.value for m in client.get_metric_history(run_id, "sentences_per_second")]
    seconds = [m.value for m in client.get_metric_history(run_id, "train_seconds")]
    if seconds:
        train_seconds, source = sum(seconds), "training steps (train_seconds per epoch, validation excluded)"
    else:  # runs logged before train_seconds existed: run start to the last epoch, validation included
        train_seconds = (max(m.timestamp for m in epochs) - run.info.start_time) / 1000
        source = "run start to last epoch logged (includes model loading and per-epoch validation)"
    params = run.data.params
    training = {
        "run_id": run_id,
        "dvc_exp_name": name,
        "git_commit": run.data.tags.get("git_commit"),
        "epochs": len(epochs),
        "best_epoch": int(run.data.metrics.get("best_epoch", len(epochs))),
        "train_seconds": round(train_seconds, 1),
        "train_seconds_source": source,
        "sentences_per_second": round(sum(speed) / len(speed), 1) if speed else None,
        "settings": {k: v for k, v in sorted(params.items()) if k.startswith(("train.", "model.", "align.", "prepare."))},
    }
    if "prepare.sst2_dev" in params:  # absent: the run predates the dev split (legacy)
        training["sst2_dev"] = int(params["prepare.sst2_dev"])
    return {**scores_from_metrics(run.data.metrics), "training": training}


# ------------------------------------------------------------------------------------------------ table


@dataclass(frozen=True)
class Column:
    """One table column: its header, and where its value sits in a result (``dataset``, ``split``, metric path)."""

    header: str
    dataset: str
    split: str
    path: tuple[str, ...]


SCORE_COLUMNS: tuple[Column, ...] = (
    Column("SST-2 dev acc", "sst2", "dev", ("sentence_accuracy",)),
    Column("SST-2 val acc", "sst2", "validation", ("sentence_accuracy",)),
    Column("CoNLL val F1", "conll2003", "validation", ("entity_f1",)),
    Column("CoNLL test F1", "conll2003", "test", ("entity_f1",)),
    *(Column(f"test {t}", "conll2003", "test", ("per_type_f1", t)) for t in ENTITY_TYPES),
    Column("served test F1", "conll2003", "test", ("served_entity_f1",)),
)
TIME_HEADER = "train time"
# the columns a configuration is compared on in the noise statement (the headline scores)
COMPARED = ("SST-2 dev acc", "SST-2 val acc", "CoNLL val F1", "CoNLL test F1", "served test F1")


def _trained_tasks(result: Mapping) -> set[str]:
    """The tasks a run trained: a task weight of 0 leaves that head untrained, so its scores are no result."""
    settings = result.get("training", {}).get("settings", {})
    weights = {task: float(settings.get(f"train.task_weights.{task}", 1.0)) for task in ("sentence", "token")}
    return {task for task, weight in weights.items() if weight != 0}


def row_values(result: Mapping) -> dict[str, float | None]:
    """The table's numbers for one result, by header; None where the run has no such score (or did not train that head)."""
    trained = _trained_tasks(result)
    values: dict[str, float | None] = {}
    for column in SCORE_COLUMNS:
        task = "sentence" if column.dataset == "sst2" else "token"
        value = result.get(column.dataset, {}).get(column.split, {}) if task in trained else {}
        for key in column.path:
            value = value.get(key) if isinstance(value, Mapping) else None
        values[column.header] = None if value is None else float(value)
    seconds = result.get("training", {}).get("train_seconds")
    values[TIME_HEADER] = None if seconds is None else float(seconds) / 60
    return values


def mean_spread(values: Sequence[float]) -> tuple[float, float]:
    """Mean and spread of ``values``; spread = half the range, so mean ± spread covers every seed.

    Half the range rather than a standard deviation: with two or three seeds a standard deviation is
    itself noise, while the range says plainly where the runs fell. Raises ValueError when empty.
    """
    if not values:
        raise ValueError("mean_spread of no values")
    return sum(values) / len(values), (max(values) - min(values)) / 2


def _fmt(value: float | None, time: bool = False) -> str:
    if value is None:
        return MISSING
    return f"{value:.1f} min" if time else f"{value:.3f}"


def _fmt_mean(values: list[float | None], time: bool = False) -> str:
    present = [v for v in values if v is not None]
    if not present:
        return MISSING
    if len(present) == 1:  # one seed has it: no spread to state
        return _fmt(present[0], time)
    mean, spread = mean_spread(present)
    return f"{mean:.1f} ± {spread:.1f} min" if time else f"{mean:.3f} ± {spread:.3f}"


def group_runs(names: Iterable[str]) -> dict[str, list[str]]:
    """Run names by configuration, runs by seed (no seed first): configurations in ``LABELS`` order, each
    multi-task variant right after the multi-task recipe it varies, the rest by name."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(parse_name(name)[0], []).append(name)
    positions = {c: i for i, c in enumerate(LABELS)}

    def rank(configuration: str) -> tuple[float, str]:
        if configuration in positions:
            return positions[configuration], ""
        if _VARIANT.match(configuration):
            return positions["full-mtl"] + 0.5, configuration
        return len(positions), configuration

    order = sorted(groups, key=rank)
    return {c: sorted(groups[c], key=lambda n: (parse_name(n)[1] is not None, parse_name(n)[1] or 0)) for c in order}


def describe(configuration: str) -> str:
    """What the table calls one configuration: its ``LABELS`` entry, the changed setting of a variant, else its name."""
    if configuration in LABELS:
        return LABELS[configuration]
    variant = _VARIANT.match(configuration)
    return f"multi-task, {_VARIANT_WORDS[variant['kind']].format(variant['value'])}" if variant else configuration


def label(name: str) -> str:
    """What the table calls one run: its configuration's label and its seed."""
    configuration, seed = parse_name(name)
    text = describe(configuration)
    return text if seed is None else f"{text}, seed {seed}"


def table(results: Mapping[str, Mapping], aggregate: bool = True) -> str:
    """A markdown table: one row per run, then (``aggregate``) a mean ± spread row per configuration of 2+ runs."""
    headers = ["run", *(c.header for c in SCORE_COLUMNS), TIME_HEADER]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for configuration, names in group_runs(results).items():
        rows = [row_values(results[n]) for n in names]
        for name, values in zip(names, rows):
            cells = [label(name), *(_fmt(values[c.header]) for c in SCORE_COLUMNS), _fmt(values[TIME_HEADER], time=True)]
            lines.append("| " + " | ".join(cells) + " |")
        if aggregate and len(names) > 1:
            cells = [
                f"**{describe(configuration)}: mean ± spread, {len(names)} seeds**",
                *(_fmt_mean([r[c.header] for r in rows]) for c in SCORE_COLUMNS),
                _fmt_mean([r[TIME_HEADER] for r in rows], time=True),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def noise_statement(results: Mapping[str, Mapping], reference: str = "full-mtl") -> list[str]:
    """Plain sentences: which differences between ``reference`` and each other configuration are inside seed noise.

    A difference is called inside noise when the two configurations' seed ranges overlap (some seed of
    one scored at least as well as some seed of the other). With one seed on either side there is no
    range, and nothing is claimed.
    """
    groups = group_runs(results)
    if reference not in groups:
        return [f"no {reference} runs: nothing to compare"]
    values = {c: [row_values(results[n]) for n in names] for c, names in groups.items()}
    lines = [
        "Spread is half the range over seeds. A difference is inside noise when the seed ranges overlap; with "
        "two seeds, ranges that do not overlap are a weak sign, not a test."
    ]
    ours = describe(reference)
    for other, rows in values.items():
        if other == reference:
            continue
        theirs = describe(other)
        for header in COMPARED:
            a = [r[header] for r in values[reference] if r[header] is not None]
            b = [r[header] for r in rows if r[header] is not None]
            if not a or not b:
                continue
            (mean_a, _), (mean_b, _) = mean_spread(a), mean_spread(b)
            head = f"- {header}: {ours} {_fmt_mean(a)} against {theirs} {_fmt_mean(b)} ({mean_a - mean_b:+.3f})"
            if len(a) < 2 or len(b) < 2:
                lines.append(f"{head}: one seed on a side, so the noise is unknown.")
            elif max(a) >= min(b) and max(b) >= min(a):
                lines.append(f"{head}: inside seed noise (the ranges overlap).")
            else:
                better = ours if mean_a > mean_b else theirs
                lines.append(f"{head}: outside the seed ranges, {better} ahead on every seed.")
    return lines


def is_legacy(result: Mapping) -> bool:
    """True for a result made before the SST-2 dev split (its ``training`` block has no ``sst2_dev``)."""
    return "sst2_dev" not in result.get("training", {})


def load_results(folder: Path) -> dict[str, dict]:
    """Every training result in ``folder`` by file stem (JSONs with a ``training`` block; not e.g. precision.json)."""
    loaded = {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}
    return {stem: r for stem, r in loaded.items() if "training" in r}


def results_of(folder: Path, legacy: bool = False) -> dict[str, dict]:
    """The current results in ``folder`` (made with the SST-2 dev split), or with ``legacy`` the earlier ones."""
    return {stem: r for stem, r in load_results(folder).items() if is_legacy(r) == legacy}


# ------------------------------------------------------------------------------------------------ check


def run_list(results: Mapping[str, Mapping]) -> str:
    """A markdown table of where each row came from: run, git commit and MLflow run, in the table's order."""
    lines = [
        f"MLflow runs behind the rows (experiment `{EXPERIMENT}`; the Hugging Face peers' in `{PEER_EXPERIMENT}`):",
        "",
        "| run | git commit | MLflow run |",
        "|---|---|---|",
    ]
    for names in group_runs(results).values():
        for name in names:
            training = results[name]["training"]
            commit, run_id = training.get("git_commit"), training.get("run_id")
            lines.append(f"| {name} | {f'`{commit[:7]}`' if commit else MISSING} | {f'`{run_id}`' if run_id else MISSING} |")
    return "\n".join(lines)


def report(results: Mapping[str, Mapping]) -> str:
    """What ``table`` prints for these results: the table, the noise statement and the run list, a blank line apart."""
    return "\n\n".join([table(results), "\n".join(noise_statement(results)), run_list(results)])


# ---------------------------------------------------------------------------------------------- headline

HEADLINE_COLUMNS = ("SST-2 val acc", "CoNLL test F1", "served test F1")  # the held-out scores: they chose nothing


def embedded_default(metrics_path: Path = EMBEDDED_METRICS, params_path: Path = PARAMS) -> dict | None:
    """The embedded default's headline row: ``metrics/real/metrics.json`` (as evaluate writes it) and the params behind it.

    None when the pipeline has not written the summary (nothing to show, rather than a made-up row).
    """
    if not metrics_path.is_file():
        return None
    import yaml  # light, and a dependency of the project

    summary = json.loads(metrics_path.read_text())
    params = yaml.safe_load(params_path.read_text()) if params_path.is_file() else {}
    prepare, train = params.get("prepare") or {}, params.get("train") or {}
    sizes = [f"{prepare[key]:,}" if prepare.get(key) is not None else "all" for key in ("sst2_train", "conll_train")]
    sst2, conll = summary.get("sst2", {}), summary.get("conll", {})
    return {
        "label": "multi-task, embedded default (`make run`)",
        "training": f"{sizes[0]} SST-2 + {sizes[1]} CoNLL sentences, {train.get('epochs', '?')} epochs",
        "seeds": str(train.get("seed", "?")),
        "values": {"SST-2 val acc": sst2.get("acc"), "CoNLL test F1": conll.get("f1"), "served test F1": conll.get("served_f1")},
    }


def _epochs(result: Mapping) -> int | None:
    """The epochs a run was given: ours record them in ``training.epochs``, the peers in their settings."""
    training = result.get("training", {})
    epochs = training.get("epochs") or training.get("settings", {}).get("epochs")
    return None if epochs is None else int(float(epochs))


def headline(results: Mapping[str, Mapping], embedded: Mapping | None = None) -> str:
    """The README's short table: the embedded default, then one mean ± spread row per main configuration.

    A configuration's cells are its seeds' mean ± spread (half the range), or the one seed's figure.
    """
    headers = ["model", "training", "seeds", *HEADLINE_COLUMNS]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    if embedded is not None:
        cells = [embedded["label"], embedded["training"], embedded["seeds"], *(_fmt(embedded["values"].get(h)) for h in HEADLINE_COLUMNS)]
        lines.append("| " + " | ".join(cells) + " |")
    groups = group_runs(results)
    for configuration in HEADLINE_CONFIGURATIONS:
        names = groups.get(configuration)
        if not names:
            continue
        rows = [row_values(results[n]) for n in names]
        epochs = sorted({e for e in (_epochs(results[n]) for n in names) if e is not None})
        training = f"all training rows, {' / '.join(map(str, epochs)) or '?'} epochs"
        seeds = ", ".join(str(seed) if seed is not None else MISSING for seed in (parse_name(n)[1] for n in names))
        cells = [describe(configuration), training, seeds, *(_fmt_mean([r[h] for r in rows]) for h in HEADLINE_COLUMNS)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ generated blocks


class MarkerError(ValueError):
    """A page has no single place for a generated block."""


@dataclass(frozen=True)
class Block:
    """Where a generated block lies in a page: between the line ``begin`` and the line ``end``."""

    begin: str
    end: str


RESULTS_BLOCK = Block(DOCS_BEGIN, DOCS_END)
HEADLINE_BLOCK = Block(HEADLINE_BEGIN, HEADLINE_END)
SAMPLE_BLOCK = Block(SAMPLE_BEGIN, SAMPLE_END)


def sample_answer(answers: list[dict]) -> str:
    """The README's served answer, shortened: the first sentence's answer whole but for its words (the first one, then
    ``...``), the others' text, label and entities; in a ``json`` code block. From ``metrics/real/sample.json``."""
    def dumps(value) -> str:
        return json.dumps(value, ensure_ascii=False)

    first, *rest = answers
    lines = ["```json", '{"predictions": [', f'  {{"text": {dumps(first["text"])},']
    lines.append(f'   "sentence_label": {dumps(first["sentence_label"])}, "sentence_score": {dumps(first["sentence_score"])},')
    lines.append(f'   "sentence_probs": {dumps(first["sentence_probs"])},')
    lines.append(f'   "words": [{dumps(first["words"][0])}, ...],')
    entities = [dumps(e) for e in first["entities"]]
    lines.append('   "entities": [' + (",\n                ".join(entities)) + "],")
    lines.append(f'   "truncated_words": {dumps(first["truncated_words"])}, "truncated_start": {dumps(first["truncated_start"])}}}' + ("," if rest else ""))
    for i, answer in enumerate(rest):
        lines.append(f'  {{"text": {dumps(answer["text"])}, "sentence_label": {dumps(answer["sentence_label"])}, ...,')
        lines.append(f'   "entities": [{", ".join(dumps(e) for e in answer["entities"])}]}}' + ("," if i < len(rest) - 1 else ""))
    lines += ["]}", "```"]
    return "\n".join(lines)


def sample_of(path: Path = SAMPLE) -> list[dict] | None:
    """The recorded sample answers, or None before the pipeline has run."""
    return json.loads(path.read_text()) if path.is_file() else None


def with_block(text: str, block: Block, body: str, where: str = "page") -> str:
    """``text`` with what lies between ``block``'s two marker lines replaced by ``body``."""
    for marker in (block.begin, block.end):
        count = text.count(marker)
        if count != 1:
            raise MarkerError(f"{where}: the line {marker!r} must appear once, found {count} times")
    if text.index(block.end) < text.index(block.begin):
        raise MarkerError(f"{where}: {block.end!r} comes before {block.begin!r}")
    head, rest = text.split(block.begin)
    _, tail = rest.split(block.end)
    return f"{head}{block.begin}\n{body}\n{block.end}{tail}"


def block_disagreements(text: str, block: Block, body: str) -> list[str]:
    """What is wrong with ``text``'s generated block; empty when it holds ``body`` and nothing else."""
    try:
        if with_block(text, block, body) == text:
            return []
    except MarkerError as error:
        return [str(error).removeprefix("page: ")]
    shown = text.split(block.begin)[1].split(block.end)[0]
    missing = [f"lacks the line {line!r}" for line in body.splitlines() if line and line not in shown.splitlines()]
    return missing or ["its generated block has every line of the table, but also others, or another order"]


def docs_disagreements(results: Mapping[str, Mapping], page: str) -> list[str]:
    """What is wrong with the results page's table; empty when it holds ``report(results)`` and nothing else."""
    return block_disagreements(page, RESULTS_BLOCK, report(results))


def readme_disagreements(results: Mapping[str, Mapping], readme: str, embedded: Mapping | None = None) -> list[str]:
    """What is wrong with the README's headline; empty when it holds ``headline(results, embedded)`` and nothing else."""
    return block_disagreements(readme, HEADLINE_BLOCK, headline(results, embedded))


def write_block(path: Path, block: Block, body: str) -> bool:
    """Write ``body`` into ``path``'s ``block``; True when that changed the file. A refused write leaves it as it was."""
    old = path.read_text()
    new = with_block(old, block, body, path.name)
    if new == old:
        return False
    # write beside, then rename: a crash never leaves a half-written page
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(new)
    tmp.replace(path)
    return True


def generated_blocks(
    folder: Path, docs_path: Path, readme_path: Path, embedded: Mapping | None = None, sample: list[dict] | None = None
) -> list[tuple[Path, Block, str]]:
    """Every generated block: (page, where in it, what it holds). The sample answer only once the pipeline recorded one."""
    results = results_of(folder)
    blocks = [(docs_path, RESULTS_BLOCK, report(results)), (readme_path, HEADLINE_BLOCK, headline(results, embedded))]
    if sample is not None:
        blocks.append((readme_path, SAMPLE_BLOCK, sample_answer(sample)))
    return blocks


def write_docs(
    folder: Path, docs_path: Path, readme_path: Path, embedded: Mapping | None = None, sample: list[dict] | None = None
) -> dict[Path, bool]:
    """The current results' table into ``docs_path``, their headline and the sample answer into ``readme_path``: which
    files changed. Every page's markers are checked before any is written, so a page without them changes nothing."""
    blocks = generated_blocks(folder, docs_path, readme_path, embedded, sample)
    for path, block, body in blocks:
        with_block(path.read_text(), block, body, path.name)  # raises MarkerError before anything is written
    changed: dict[Path, bool] = {}
    for path, block, body in blocks:
        changed[path] = write_block(path, block, body) or changed.get(path, False)
    return changed


def _leaves(tree: Mapping, prefix: str = "") -> dict[str, float]:
    """``{"sst2.dev.sentence_accuracy": 0.89, ...}`` from a nested score dict."""
    out: dict[str, float] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            out.update(_leaves(value, f"{prefix}{key}."))
        elif isinstance(value, (int, float)):
            out[f"{prefix}{key}"] = float(value)
    return out


def mlflow_disagreements(results: Mapping[str, Mapping], client) -> tuple[list[str], list[str]]:
    """(disagreements, runs skipped): each result's scores and git commit against the MLflow run it names."""
    from mlflow.exceptions import MlflowException

    problems: list[str] = []
    skipped: list[str] = []
    for name, result in results.items():
        run_id = result.get("training", {}).get("run_id")
        if not run_id:
            problems.append(f"{name}: no training.run_id, so no MLflow run vouches for it")
            continue
        try:
            run = client.get_run(run_id)
        except MlflowException:
            skipped.append(f"{name} (run {run_id} is not in this store)")
            continue
        # the commit is what the README's run list prints: a hand-edited one would send a reader to other code
        commit = result["training"].get("git_commit")
        logged_commit = run.data.tags.get("mlflow.source.git.commit") or run.data.tags.get("git_commit")
        if commit != logged_commit:
            problems.append(f"{name}: git_commit is {commit} here but {logged_commit} in MLflow run {run_id}")
        logged = _leaves(scores_from_metrics(run.data.metrics))
        for key, value in _leaves({k: v for k, v in result.items() if k in DATASETS}).items():
            if key not in logged:
                problems.append(f"{name}: {key} = {value} is not a metric of MLflow run {run_id}")
            elif abs(logged[key] - value) > 1e-6:
                problems.append(f"{name}: {key} is {value} here but {logged[key]} in MLflow run {run_id}")
    return problems, skipped


def check(folder: Path, docs_path: Path, readme_path: Path, embedded: Mapping | None = None) -> int:
    """Print where the docs page, the README, the result JSONs and the MLflow store disagree; 0 when they agree."""
    from mlflow.tracking import MlflowClient

    from mtl.tracking.store import configure

    results = results_of(folder)
    pages: dict[Path, list[str]] = {docs_path: [], readme_path: []}
    for path, block, body in generated_blocks(folder, docs_path, readme_path, embedded, sample_of()):
        pages[path] += block_disagreements(path.read_text(), block, body)
    shown = [f"{path.name}: {problem}" for path, problems in pages.items() for problem in problems]
    configure(REPO)
    runs, skipped = mlflow_disagreements(results, MlflowClient())
    problems = shown + runs
    for line in skipped:
        print(f"skipped: {line}")
    for line in problems:
        print(f"DISAGREES: {line}")
    verdicts = "; ".join(f"{path.name} {'differs' if problems else 'agrees'}" for path, problems in pages.items())
    print(f"{len(results)} results: {verdicts}; "
          f"{len(results) - len(skipped)} checked against their MLflow runs ({len(runs)} disagreements), {len(skipped)} not in this store")
    return 1 if problems else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results-dir", type=Path, default=RESULTS, help=f"where result JSONs are written and read (default {RESULTS.relative_to(REPO)})")
    sub = parser.add_subparsers(dest="command", required=True)
    collect_cmd = sub.add_parser("collect", help="write <results-dir>/NAME.json from the MLflow run of each DVC experiment")
    collect_cmd.add_argument("names", nargs="+", help="DVC experiment names (the runs' dvc_exp_name tag or run name), e.g. full-mtl-s42")
    table_cmd = sub.add_parser("table", help="print the markdown results table and which differences are inside seed noise")
    table_cmd.add_argument("--legacy", action="store_true", help="the results made before the SST-2 dev split instead (no mean rows)")
    sub.add_parser("headline", help="print the README's short table: the embedded default and one row per main configuration")
    for command, text in (
        ("docs", "write table's output into docs/results.md and the headline into README.md, between their markers"),
        ("readme", "the same as docs"),
        ("check", "do the docs page, the README, the result JSONs and the MLflow runs agree? (exit 1 if not)"),
    ):
        cmd = sub.add_parser(command, help=text)
        cmd.add_argument("--docs", type=Path, default=DOCS_PAGE, help=f"the page with the full table (default {DOCS_PAGE.relative_to(REPO)})")
        cmd.add_argument("--readme", type=Path, default=README, help=f"the page with the headline (default {README.relative_to(REPO)})")
        cmd.add_argument("--metrics", type=Path, default=EMBEDDED_METRICS, help="the embedded default's summary (default %(default)s)")
    args = parser.parse_args()
    if args.command == "check":
        raise SystemExit(check(args.results_dir, args.docs, args.readme, embedded_default(args.metrics)))
    if args.command in ("docs", "readme"):
        try:
            changed = write_docs(args.results_dir, args.docs, args.readme, embedded_default(args.metrics), sample_of())
        except MarkerError as error:
            raise SystemExit(str(error)) from None
        for path, rewritten in changed.items():
            print(f"{path}: {'rewritten' if rewritten else 'already current'}")
        return
    if args.command == "collect":
        args.results_dir.mkdir(parents=True, exist_ok=True)
        for name in args.names:
            path = args.results_dir / f"{name}.json"
            path.write_text(json.dumps(collect(name), indent=2, sort_keys=True) + "\n")
            print(f"wrote {path}")
        return
    if args.command == "headline":
        print(headline(results_of(args.results_dir), embedded_default()))
        return
    results = results_of(args.results_dir, args.legacy)
    if not results:
        kind = "legacy" if args.legacy else "current (SST-2 dev split)"
        raise SystemExit(f"no {kind} results in {args.results_dir}: run experiments/full_data.sh first")
    if args.legacy:
        print("Legacy: runs made before the SST-2 dev split (SST-2 validation was their only SST-2 yardstick)\n")
        print(table(results, aggregate=False))
        return
    print(report(results))


if __name__ == "__main__":
    main()
