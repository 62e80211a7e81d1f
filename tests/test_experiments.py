"""The full-data experiment helpers: the HF peer's data and label alignment, run names, the results table, the runner's commands."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "experiments"))

import dev_overlap  # noqa: E402
import hf_peer  # noqa: E402
import results  # noqa: E402

from tests.test_dev_split import _pieces, _raw_dir, _row, sst2_like  # noqa: E402


def test_peer_labels_first_piece_only_like_run_ner(tokenizer):
    table = pd.DataFrame({"words": [["Kubernetes", "in", "Paris"]], "word_tags": [["B-MISC", "O", "B-LOC"]]})
    label_id = {"O": 0, "B-MISC": 7, "B-LOC": 5}
    row = hf_peer.conll_rows(tokenizer, table, 32, label_id)[0]
    pieces = tokenizer.convert_ids_to_tokens(row["input_ids"])
    assert len(pieces) > 5, "Kubernetes must split into several pieces for this test to mean anything"
    labelled = [(p, label) for p, label in zip(pieces, row["labels"]) if label != -100]
    assert labelled == [(pieces[1], 7), ("in", 0), ("paris", 5)]
    assert row["labels"][0] == row["labels"][-1] == -100  # [CLS] and [SEP]


def test_sst2_peer_trains_on_the_pipelines_rows_and_scores_dev_and_validation(tmp_path):
    raw = _raw_dir(tmp_path, sst2_like())
    params = tmp_path / "params.yaml"
    params.write_text("prepare:\n  sst2_dev: 4\n  seed: 0\n  sst2_train: 5\n")
    cfg = hf_peer.prepare_config(params, raw, train_n=None)
    assert (cfg.sst2_dev, cfg.sst2_train, cfg.conll_train) == (4, None, None)  # --train-n replaces the params' caps
    train, scored = hf_peer.peer_tables("sst2", cfg)
    assert set(scored) == {"dev", "validation"}
    assert len(scored["dev"]) == 4
    # no training row is a dev sentence or a phrase of one (its label would give the dev label away)
    dev_pieces = set().union(*(_pieces(list(words)) for words in scored["dev"]["words"]))
    assert len(train) > 0 and not set(train["text"]) & dev_pieces
    assert list(scored["validation"]["text"]) == ["a held-out sentence"]
    capped, _ = hf_peer.peer_tables("sst2", hf_peer.prepare_config(params, raw, train_n=7))
    assert len(capped) == 7 and set(capped["text"]) <= set(train["text"])


def test_conll_peer_scores_validation_and_test(tmp_path):
    raw = _raw_dir(tmp_path, sst2_like())
    params = tmp_path / "params.yaml"
    params.write_text("prepare:\n  sst2_dev: 4\n")
    train, scored = hf_peer.peer_tables("conll", hf_peer.prepare_config(params, raw, train_n=None))
    assert set(scored) == {"validation", "test"}
    assert list(train["word_tags"].iloc[0]) == ["B-PER", "O"]


def test_peer_keeps_the_global_batch_on_several_gpus():
    assert [hf_peer.per_device_batch(32, n) for n in (0, 1, 2, 4)] == [32, 32, 16, 8]
    with pytest.raises(ValueError, match="does not split evenly over 3 GPUs"):
        hf_peer.per_device_batch(32, 3)


def test_peer_metric_names_match_the_pipelines():
    names = hf_peer.metric_names({"conll2003": {"test": {"entity_f1": 0.8, "per_type_f1": {"PER": 0.9}}}, "sst2": {"dev": {"sentence_accuracy": 0.7}}})
    assert names == {"conll2003_test_entity_f1": 0.8, "conll2003_test_f1_PER": 0.9, "sst2_dev_sentence_accuracy": 0.7}
    # and the collector reads them back into scores.json's shape
    assert results.scores_from_metrics(names) == {
        "conll2003": {"test": {"entity_f1": 0.8, "per_type_f1": {"PER": 0.9}}},
        "sst2": {"dev": {"sentence_accuracy": 0.7}},
    }


@pytest.mark.parametrize(
    "name, parsed",
    [
        ("full-mtl-s42", ("full-mtl", 42)),
        ("full-sentence-only-s43", ("full-sentence-only", 43)),
        ("hf-conll-s7", ("hf-conll", 7)),
        ("full-mtl-seed43", ("full-mtl", 43)),  # the legacy spelling
        ("full-mtl", ("full-mtl", None)),
        ("full-mtl-token-w0.5", ("full-mtl-token-w0.5", None)),
        ("hf-sst2-s", ("hf-sst2-s", None)),
        ("full-mtl-tw1.5-s42", ("full-mtl-tw1.5", 42)),
        ("full-mtl-temp2-s43", ("full-mtl-temp2", 43)),
        ("full-mtl-lr5e-5-s42", ("full-mtl-lr5e-5", 42)),  # the exponent's minus is not a seed suffix
        ("full-mtl-e5-s42", ("full-mtl-e5", 42)),
    ],
)
def test_run_names_parse_into_configuration_and_seed(name, parsed):
    assert results.parse_name(name) == parsed


def test_multi_task_variants_are_labelled_by_their_setting():
    assert results.label("full-mtl-tw2-s43") == "multi-task, token loss weight 2, seed 43"
    assert results.describe("full-mtl-tw1.5") == "multi-task, token loss weight 1.5"
    assert results.label("full-mtl-temp2-s42") == "multi-task, temperature sampling, T = 2, seed 42"
    assert results.label("full-mtl-lr5e-5-s43") == "multi-task, encoder learning rate 5e-5, seed 43"
    assert results.label("full-mtl-e5-s42") == "multi-task, 5 epochs, seed 42"
    assert results.describe("full-mtl") == "multi-task (ours)" and results.describe("full-mtl-twx") == "full-mtl-twx"


def test_multi_task_variants_sit_right_after_the_multi_task_rows():
    names = ["hf-conll-s42", "full-token-only-s42", "full-mtl-tw2-s42", "full-mtl-s43", "full-mtl-temp2-s42", "full-mtl-tw1.5-s42", "zz-s1", "full-mtl-s42"]
    assert list(results.group_runs(names)) == ["full-mtl", "full-mtl-temp2", "full-mtl-tw1.5", "full-mtl-tw2", "full-token-only", "hf-conll", "zz"]


def test_run_name_round_trips():
    assert results.parse_name(results.run_name("full-token-only", 43)) == ("full-token-only", 43)


def test_mean_spread_is_the_mean_and_half_the_range():
    mean, spread = results.mean_spread([0.897, 0.899, 0.904])
    assert (round(mean, 6), round(spread, 6)) == (0.9, 0.0035)
    assert results.mean_spread([0.5]) == (0.5, 0.0)
    with pytest.raises(ValueError):
        results.mean_spread([])


def test_scores_from_metrics_keeps_final_scores_only():
    metrics = {
        "sst2_dev_sentence_accuracy": 0.91,
        "sst2_validation_sentence_accuracy": 0.9,
        "conll2003_test_served_entity_f1": 0.84,
        "conll2003_validation_f1_MISC": 0.78,
        "val_sst2_dev_sentence_accuracy": 0.5,  # per-epoch: not a final score
        "dev_sentence_accuracy": 0.5,  # headline copy
        "train_loss": 0.2,
    }
    assert results.scores_from_metrics(metrics) == {
        "sst2": {"dev": {"sentence_accuracy": 0.91}, "validation": {"sentence_accuracy": 0.9}},
        "conll2003": {"test": {"served_entity_f1": 0.84}, "validation": {"per_type_f1": {"MISC": 0.78}}},
    }


def _result(dev=None, val=None, conll=None, served=None, weights=(1.0, 1.0), seconds=120.0, sst2_dev=872):
    """A hand-made result in the collector's shape; None leaves that score out."""
    training = {"train_seconds": seconds, "settings": {"train.task_weights.sentence": str(weights[0]), "train.task_weights.token": str(weights[1])}}
    if sst2_dev is not None:
        training["sst2_dev"] = sst2_dev
    out: dict = {"training": training}
    sst2 = {split: {"sentence_accuracy": v} for split, v in (("dev", dev), ("validation", val)) if v is not None}
    if sst2:
        out["sst2"] = sst2
    if conll is not None:
        split = {"entity_f1": conll, "per_type_f1": {"PER": 0.9, "LOC": 0.8, "ORG": 0.7, "MISC": 0.6}}
        test = dict(split, served_entity_f1=served) if served is not None else split
        out["conll2003"] = {"validation": split, "test": test}
    return out


def test_table_rows_per_run_then_mean_and_spread_per_configuration():
    text = results.table({
        "zz-extra-s1": _result(0.5, 0.5, 0.5),
        "full-token-only-s42": _result(0.48, 0.49, 0.86, served=0.85, weights=(0.0, 1.0), seconds=60),
        "full-mtl-s43": _result(0.900, 0.899, 0.876, served=0.874, seconds=180),
        "full-mtl-s42": _result(0.910, 0.897, 0.870, served=0.868, seconds=120),
    })
    lines = text.splitlines()
    assert lines[0] == (
        "| run | SST-2 dev acc | SST-2 val acc | CoNLL val F1 | CoNLL test F1 | test PER | test LOC | test ORG | test MISC "
        "| served test F1 | train time |"
    )
    assert lines[2] == "| multi-task (ours), seed 42 | 0.910 | 0.897 | 0.870 | 0.870 | 0.900 | 0.800 | 0.700 | 0.600 | 0.868 | 2.0 min |"
    assert lines[3].startswith("| multi-task (ours), seed 43 | 0.900 | 0.899 | 0.876 |")
    assert lines[4] == (
        "| **multi-task (ours): mean ± spread, 2 seeds** | 0.905 ± 0.005 | 0.898 ± 0.001 | 0.873 ± 0.003 | 0.873 ± 0.003 "
        "| 0.900 ± 0.000 | 0.800 ± 0.000 | 0.700 ± 0.000 | 0.600 ± 0.000 | 0.871 ± 0.003 | 2.5 ± 0.5 min |"
    )
    # the untrained sentence head of a token-only run is no result; one seed gets no mean row
    assert lines[5] == "| token-only (ours, sentence weight 0), seed 42 | – | – | 0.860 | 0.860 | 0.900 | 0.800 | 0.700 | 0.600 | 0.850 | 1.0 min |"
    assert lines[6].startswith("| zz-extra, seed 1 | 0.500 | 0.500 | 0.500 |")
    assert len(lines) == 7


def test_table_marks_missing_cells_and_averages_what_is_there():
    text = results.table({
        "hf-sst2-s42": _result(dev=0.88, val=0.89),
        "hf-sst2-s43": _result(dev=None, val=0.87),  # this seed has no dev score
    })
    lines = text.splitlines()
    assert lines[2] == "| HF peer: `run_glue` recipe, seed 42 | 0.880 | 0.890 | – | – | – | – | – | – | – | 2.0 min |"
    assert lines[3].startswith("| HF peer: `run_glue` recipe, seed 43 | – | 0.870 | – |")
    # one seed has a dev score: shown without a spread, not as 0.880 ± 0.000
    assert lines[4] == "| **HF peer: `run_glue` recipe: mean ± spread, 2 seeds** | 0.880 | 0.880 ± 0.010 | – | – | – | – | – | – | – | 2.0 ± 0.0 min |"


def test_noise_statement_says_which_differences_are_inside_seed_noise():
    lines = results.noise_statement({
        "full-mtl-s42": _result(0.90, 0.90, 0.87),
        "full-mtl-s43": _result(0.91, 0.89, 0.88),
        "full-sentence-only-s42": _result(0.905, 0.92, weights=(1.0, 0.0)),
        "full-sentence-only-s43": _result(0.929, 0.93, weights=(1.0, 0.0)),
        "hf-conll-s42": _result(conll=0.86),
    })
    text = "\n".join(lines)
    assert "- SST-2 dev acc: multi-task (ours) 0.905 ± 0.005 against sentence-only (ours, token weight 0) 0.917 ± 0.012 (-0.012): inside seed noise" in text
    assert "- SST-2 val acc: multi-task (ours) 0.895 ± 0.005 against sentence-only (ours, token weight 0) 0.925 ± 0.005 (-0.030): outside the seed ranges, sentence-only" in text
    assert "- CoNLL val F1: multi-task (ours) 0.875 ± 0.005 against HF peer: `run_ner` recipe 0.860 (+0.015): one seed on a side" in text
    assert "CoNLL val F1: multi-task (ours) 0.875 ± 0.005 against sentence-only" not in text  # its token head is untrained


def test_run_list_names_each_rows_commit_and_mlflow_run_in_table_order():
    with_run = {
        "hf-conll-s42": _result(conll=0.86),
        "hf-sst2-s42": _result(0.9, 0.9),
        "full-mtl-s42": _result(0.9, 0.9, 0.87),
        "full-mtl-s43": _result(0.9, 0.9, 0.87),
    }
    with_run["full-mtl-s42"]["training"] |= {"git_commit": "7fb4c65f0a1b2c3d4e5f60718293a4b5c6d7e8f9", "run_id": "8187"}
    with_run["full-mtl-s43"]["training"] |= {"run_id": "e1f0"}  # no commit recorded
    lines = results.run_list(with_run).splitlines()
    assert lines[0] == "MLflow runs behind the rows (experiment `mtl-pipeline`; the Hugging Face peers' in `mtl-peers`):"
    assert lines[2:] == [
        "| run | git commit | MLflow run |",
        "|---|---|---|",
        "| full-mtl-s42 | `7fb4c65` | `8187` |",
        "| full-mtl-s43 | – | `e1f0` |",
        "| hf-sst2-s42 | – | – |",  # the table's order (run_glue before run_ner), not the names'
        "| hf-conll-s42 | – | – |",  # nothing recorded: no made-up commit or run
    ]
    assert results.report(with_run).endswith(results.run_list(with_run))


def test_legacy_results_are_told_apart_and_still_render():
    assert results.is_legacy(_result(0.9, sst2_dev=None)) and not results.is_legacy(_result(0.9))
    committed = results.load_results(results.RESULTS)
    legacy = {name: r for name, r in committed.items() if results.is_legacy(r)}
    # the committed 1-epoch runs, made before the dev split, are legacy; the 3-epoch runs made since are not
    assert {"full-mtl", "full-mtl-seed43", "hf-sst2", "hf-conll"} <= set(legacy)
    assert {"full-mtl-s42", "full-mtl-s43"} <= set(committed) - set(legacy)
    lines = results.table(legacy, aggregate=False).splitlines()
    assert "| multi-task (ours) | – | 0.897 | 0.870 | 0.840 | 0.917 | 0.888 | 0.775 | 0.707 | – | 18.2 min |" in lines
    assert "| sentence-only (ours, token weight 0), seed 43 | – | 0.898 | – | – | – | – | – | – | – | 12.3 min |" in lines
    assert not any("mean ± spread" in line for line in lines)


def _script_repo(tmp_path: Path) -> Path:
    """A committed git repository with the runner script, so its dry run touches nothing of ours."""
    root = tmp_path / "repo"
    (root / "experiments").mkdir(parents=True)
    shutil.copy(REPO / "experiments" / "full_data.sh", root / "experiments")
    (root / "params.yaml").write_text("train: {}\n")
    (root / "dvc.lock").write_text("schema: '2.0'\n")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "init"]):
        subprocess.run(cmd, cwd=root, env=env, check=True)
    return root


def _dry_run(root: Path, *names: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "experiments/full_data.sh", *names], cwd=root, env={**os.environ, "DRY_RUN": "1", **env}, capture_output=True, text=True, timeout=60
    )


def test_runner_names_every_configuration_and_seed_with_the_same_budget(tmp_path):
    done = _dry_run(_script_repo(tmp_path))
    assert done.returncode == 0, done.stderr
    runs = [line.split(":", 1) for line in done.stdout.splitlines() if line.startswith("== ")]
    names = [name.removeprefix("== ") for name, _ in runs]
    assert names == [f"{c}-s{s}" for s in (42, 43) for c in ("full-mtl", "full-sentence-only", "full-token-only", "hf-sst2", "hf-conll")]
    commands = dict(zip(names, (cmd for _, cmd in runs)))
    for name, command in commands.items():  # 3 epochs for everyone, ours and the peers
        assert ("-S train.epochs=3 " if name.startswith("full-") else " --epochs 3 ") in command
    assert "-S train.seed=43 -S train.task_weights.sentence=1.0 -S train.task_weights.token=0" in commands["full-sentence-only-s43"]
    assert "-S prepare.sst2_train=null -S prepare.conll_train=null" in commands["full-token-only-s42"]
    assert "hf_peer.py conll --epochs 3 --seed 43 --run-name hf-conll-s43" in commands["hf-conll-s43"]


def test_runner_rejects_an_unknown_name_before_running_anything(tmp_path):
    done = _dry_run(_script_repo(tmp_path), "full-mtl-s42", "full-mtl-seed43", EPOCHS="1")
    assert done.returncode == 1
    assert "unknown run name full-mtl-seed43" in done.stderr and "== " not in done.stdout


def test_runner_runs_a_multi_task_variant_only_when_named(tmp_path):
    root = _script_repo(tmp_path)
    done = _dry_run(root, "full-mtl-tw2-s42", "full-mtl-tw1.5-s43", "full-mtl-twx-s42")
    assert done.returncode == 1 and "unknown run name full-mtl-twx-s42" in done.stderr and "== " not in done.stdout
    done = _dry_run(root, "full-mtl-temp-s42")
    assert done.returncode == 1 and "unknown run name full-mtl-temp-s42" in done.stderr
    done = _dry_run(root, "full-mtl-lr5e-s42")
    assert done.returncode == 1 and "unknown run name full-mtl-lr5e-s42" in done.stderr
    for epochs in ("e0", "e2.5", "e"):  # epochs are a whole number of at least 1
        done = _dry_run(root, f"full-mtl-{epochs}-s42")
        assert done.returncode == 1 and f"unknown run name full-mtl-{epochs}-s42" in done.stderr
    done = _dry_run(root, "full-mtl-tw2-s42", "full-mtl-tw1.5-s43", "full-mtl-temp2-s42", "full-mtl-lr5e-5-s42", "full-mtl-e5-s42")
    assert done.returncode == 0, done.stderr
    commands = dict(line.removeprefix("== ").split(":", 1) for line in done.stdout.splitlines() if line.startswith("== "))
    assert "-n full-mtl-tw2-s42 " in commands["full-mtl-tw2-s42"]
    assert commands["full-mtl-tw2-s42"].endswith("-S train.seed=42 -S train.task_weights.sentence=1.0 -S train.task_weights.token=2")
    assert commands["full-mtl-tw1.5-s43"].endswith("-S train.seed=43 -S train.task_weights.sentence=1.0 -S train.task_weights.token=1.5")
    assert commands["full-mtl-temp2-s42"].endswith(
        "-S train.seed=42 -S train.task_weights.sentence=1.0 -S train.task_weights.token=1.0 -S train.sampling=temperature -S train.temperature=2"
    )
    assert commands["full-mtl-lr5e-5-s42"].endswith(
        "-S train.seed=42 -S train.task_weights.sentence=1.0 -S train.task_weights.token=1.0 -S train.learning_rate=5e-5"
    )
    # the variant's epochs replace EPOCHS (one train.epochs flag, not two that DVC would have to reconcile)
    assert commands["full-mtl-e5-s42"].endswith(
        "-S train.epochs=5 -S train.seed=42 -S train.task_weights.sentence=1.0 -S train.task_weights.token=1.0"
    )
    assert commands["full-mtl-tw2-s42"].count("train.epochs=") == 1 and "train.epochs=3 " in commands["full-mtl-tw2-s42"]


def test_runner_without_accelerate_stops_before_any_run(tmp_path):
    """The peers' Trainer needs accelerate; finding out after an hour of our own runs would waste the hour."""
    root = _script_repo(tmp_path)
    bare = tmp_path / "python"  # this interpreter without site-packages: no accelerate
    bare.write_text(f"#!/bin/sh\nexec {sys.executable} -S \"$@\"\n")
    bare.chmod(0o755)
    done = subprocess.run(
        ["bash", "experiments/full_data.sh", "full-mtl-s42", "hf-conll-s42"], cwd=root, env={**os.environ, "PYTHON": str(bare)},
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 1 and "need accelerate" in done.stderr and "== " not in done.stdout, (done.stdout, done.stderr)


def test_peer_reads_the_raw_data_the_params_name_unless_told(tmp_path):
    (tmp_path / "project").mkdir()
    params = tmp_path / "project" / "params.yaml"
    params.write_text("prepare:\n  raw_dir: ../data\n")
    assert hf_peer.prepare_config(params, None, None).raw_dir == str((tmp_path / "data").resolve())  # relative to the project, as the pipeline reads it
    assert hf_peer.prepare_config(params, tmp_path / "elsewhere", None).raw_dir == str((tmp_path / "elsewhere").resolve())


def test_the_docs_show_the_results_table_verbatim():
    """docs/results.md's table is the committed JSONs' table, not numbers typed or left behind by hand."""
    current = results.results_of(results.RESULTS)
    assert current, "no current results committed"
    assert results.docs_disagreements(current, results.DOCS_PAGE.read_text()) == []


def test_the_readme_shows_the_headline_verbatim():
    """The README's headline is generated from the same JSONs and the embedded default's committed metrics."""
    embedded = results.embedded_default()
    assert embedded is not None, "metrics/real/metrics.json is committed"
    readme = (REPO / "README.md").read_text()
    assert results.readme_disagreements(results.results_of(results.RESULTS), readme, embedded) == []


def test_the_readme_shows_the_pipelines_own_sample_answer():
    """The README's served answer is generated from what evaluate recorded, metrics/real/sample.json: it cannot drift."""
    sample = results.sample_of()
    assert sample is not None, "metrics/real/sample.json is committed with the pipeline's other metrics"
    from mtl.inference.samples import SAMPLE_SENTENCES

    assert [a["text"] for a in sample] == list(SAMPLE_SENTENCES)
    readme = (REPO / "README.md").read_text()
    assert results.block_disagreements(readme, results.SAMPLE_BLOCK, results.sample_answer(sample)) == []
    # and the README's curl asks exactly these sentences
    assert all(sentence in readme.split(results.SAMPLE_BEGIN)[0] for sentence in SAMPLE_SENTENCES)


def test_a_hand_edited_sample_answer_is_a_disagreement():
    answers = [
        {"text": "a b", "sentence_label": "x", "sentence_score": 0.5, "sentence_probs": {"x": 0.5, "y": 0.5},
         "words": [{"word": "a", "start": 0, "end": 1, "tag": "O", "score": 0.9}], "entities": [], "truncated_words": 0, "truncated_start": None},
        {"text": "c", "sentence_label": "y", "entities": [{"type": "T", "text": "c", "start": 0, "end": 1, "score": 0.7}]},
    ]
    body = results.sample_answer(answers)
    assert body.startswith("```json") and body.endswith("```") and '"score": 0.7' in body
    page = _page(results.SAMPLE_BLOCK, body)
    assert results.block_disagreements(page, results.SAMPLE_BLOCK, body) == []
    edited = page.replace('"sentence_score": 0.5', '"sentence_score": 0.9')
    assert results.block_disagreements(edited, results.SAMPLE_BLOCK, body)


def _page(block, body: str) -> str:
    return f"intro\n\n{block.begin}\n{body}\n{block.end}\n\nmore\n"


def _embedded(tmp_path: Path, acc=0.844, f1=0.8315, served=0.8312) -> dict:
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"sst2": {"acc": acc, "dev_acc": 0.85}, "conll": {"f1": f1, "served_f1": served, "val_f1": 0.86}}))
    params = tmp_path / "params.yaml"
    params.write_text("prepare:\n  sst2_train: 3000\n  conll_train: null\ntrain:\n  epochs: 3\n  seed: 42\n")
    return results.embedded_default(metrics, params)


def test_headline_shows_the_embedded_default_then_one_row_per_main_configuration(tmp_path):
    runs = {
        "full-mtl-s43": _result(0.900, 0.899, 0.876, served=0.874),
        "full-mtl-s42": _result(0.910, 0.897, 0.870, served=0.868),
        "full-mtl-tw2-s42": _result(0.9, 0.9, 0.9, served=0.9),  # a variant: the docs' table only
        "hf-conll-s42": _result(conll=0.86),
    }
    for result in runs.values():
        result["training"]["epochs"] = 3
    lines = results.headline(runs, _embedded(tmp_path)).splitlines()
    assert lines[0] == "| model | training | seeds | SST-2 val acc | CoNLL test F1 | served test F1 |"
    assert lines[2:] == [
        "| multi-task, embedded default (`make run`) | 3,000 SST-2 + all CoNLL sentences, 3 epochs | 42 | 0.844 | 0.832 | 0.831 |",
        "| multi-task (ours) | all training rows, 3 epochs | 42, 43 | 0.898 ± 0.001 | 0.873 ± 0.003 | 0.871 ± 0.003 |",
        "| HF peer: `run_ner` recipe | all training rows, 3 epochs | 42 | – | 0.860 | – |",
    ]
    assert results.embedded_default(tmp_path / "absent.json") is None
    assert "embedded default" not in results.headline(runs, None)  # no metrics: no made-up row


def test_generated_blocks_disagreements_name_the_missing_lines(tmp_path):
    current = {"full-mtl-s42": _result(dev=0.9, val=0.91, conll=0.88)}
    report = results.report(current)
    page = _page(results.RESULTS_BLOCK, report)
    assert results.docs_disagreements(current, page) == []
    missing = results.docs_disagreements(current, page.replace("0.910", "0.909"))
    assert missing and all("0.910" in line and line.startswith("lacks the line") for line in missing)
    shuffled = "\n".join(reversed(report.splitlines()))
    assert results.docs_disagreements(current, _page(results.RESULTS_BLOCK, shuffled)) == [
        "its generated block has every line of the table, but also others, or another order"
    ]
    # a left-over line inside the block is a disagreement too, though every table line is there
    assert results.docs_disagreements(current, _page(results.RESULTS_BLOCK, report + "\n| old row |")) != []
    assert "must appear once, found 0 times" in results.docs_disagreements(current, report)[0]
    # the README's headline: a hand-edited number, or a stale embedded default, is reported
    embedded = _embedded(tmp_path)
    readme = _page(results.HEADLINE_BLOCK, results.headline(current, embedded))
    assert results.readme_disagreements(current, readme, embedded) == []
    edited = readme.replace("| 0.844 |", "| 0.854 |")
    assert edited != readme
    assert any("0.844" in line for line in results.readme_disagreements(current, edited, embedded))
    retrained = _embedded(tmp_path, acc=0.851)
    assert any("0.851" in line for line in results.readme_disagreements(current, readme, retrained))
    # each page is checked for its own block: the full table is no headline
    assert "must appear once" in results.readme_disagreements(current, page, embedded)[0]


def test_the_docs_writer_replaces_only_the_blocks(tmp_path):
    current = {"full-mtl-s42": _result(dev=0.9, val=0.91, conll=0.88)}
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "full-mtl-s42.json").write_text(json.dumps(current["full-mtl-s42"]))
    embedded = _embedded(tmp_path)
    docs, readme = tmp_path / "results.md", tmp_path / "README.md"
    docs.write_text(_page(results.RESULTS_BLOCK, "| stale | table |"))
    readme.write_text(_page(results.HEADLINE_BLOCK, "| stale | headline |"))
    assert results.write_docs(tmp_path / "results", docs, readme, embedded) == {docs: True, readme: True}
    assert docs.read_text() == _page(results.RESULTS_BLOCK, results.report(current))
    assert readme.read_text() == _page(results.HEADLINE_BLOCK, results.headline(current, embedded))
    assert results.docs_disagreements(current, docs.read_text()) == []
    assert results.readme_disagreements(current, readme.read_text(), embedded) == []
    # already current: untouched
    assert results.write_docs(tmp_path / "results", docs, readme, embedded) == {docs: False, readme: False}
    # a page without its markers stops the write before either file changes
    docs.write_text(_page(results.RESULTS_BLOCK, "| stale | table |"))
    readme.write_text("no markers here\n")
    with pytest.raises(results.MarkerError, match="README.md: the line .* must appear once, found 0 times"):
        results.write_docs(tmp_path / "results", docs, readme, embedded)
    assert readme.read_text() == "no markers here\n"
    assert docs.read_text() == _page(results.RESULTS_BLOCK, "| stale | table |")
    docs.write_text(f"{results.DOCS_END}\n{results.DOCS_BEGIN}\n")
    with pytest.raises(results.MarkerError, match="comes before"):
        results.write_docs(tmp_path / "results", docs, readme, embedded)


def test_mlflow_disagreements_compare_each_score_with_the_run_it_names(tmp_path):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.create_experiment("check", artifact_location=(tmp_path / "artifacts").as_uri())
    run_id = client.create_run(experiment, tags={"mlflow.source.git.commit": "a" * 40}).info.run_id
    for key, value in {"sst2_dev_sentence_accuracy": 0.9, "conll2003_test_f1_PER": 0.8, "train_loss": 0.1}.items():
        client.log_metric(run_id, key, value)
    training = {"run_id": run_id, "git_commit": "a" * 40}
    agreeing = {"sst2": {"dev": {"sentence_accuracy": 0.9}}, "conll2003": {"test": {"per_type_f1": {"PER": 0.8}}}, "training": training}
    assert results.mlflow_disagreements({"a": agreeing}, client) == ([], [])
    changed = {**agreeing, "sst2": {"dev": {"sentence_accuracy": 0.91}}}
    unlogged = {**agreeing, "sst2": {"dev": {"sentence_accuracy": 0.9}, "validation": {"sentence_accuracy": 0.88}}}
    elsewhere = {**agreeing, "training": {**training, "run_id": "0" * 32}}
    unvouched = {**agreeing, "training": {}}
    recommitted = {**agreeing, "training": {**training, "git_commit": "b" * 40}}
    problems, skipped = results.mlflow_disagreements(
        {"b": changed, "c": unlogged, "d": elsewhere, "e": unvouched, "f": recommitted}, client
    )
    assert problems == [
        f"b: sst2.dev.sentence_accuracy is 0.91 here but 0.9 in MLflow run {run_id}",
        f"c: sst2.validation.sentence_accuracy = 0.88 is not a metric of MLflow run {run_id}",
        "e: no training.run_id, so no MLflow run vouches for it",
        f"f: git_commit is {'b' * 40} here but {'a' * 40} in MLflow run {run_id}",
    ]
    assert skipped == [f"d (run {'0' * 32} is not in this store)"]


def test_dev_overlap_counts_what_the_carving_takes_out_and_what_validation_shares():
    validation = pd.DataFrame([_row("a great day"), _row("film2 at last")])
    counts = dev_overlap.overlaps(sst2_like(), validation, dev_size=5, seed=0)
    assert counts["validation"] == {1: 2, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0}  # "great" and "film2", phrases of other sentences
    assert counts["dev"] == dict.fromkeys(range(1, 7), 0)
    # out: each dev sentence's three phrases (film<i>, great fun<i>, was great fun<i>) and "great"; the copy of
    # a dev sentence is the dev split, not a phrase of it
    assert counts["taken out"] == {1: 6, 2: 5, 3: 5, 4: 0, 5: 0, 6: 0}
    # of those only "great" is also inside a sentence that stays in training
    assert counts["of those, inside a kept sentence"] == {1: 1, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0}


def test_dev_overlap_reads_the_params_dev_size_and_seed_and_writes_json(tmp_path, capsys):
    raw = _raw_dir(tmp_path, sst2_like())
    params = tmp_path / "params.yaml"
    params.write_text("prepare:\n  sst2_dev: 5\n  seed: 0\n")
    out = tmp_path / "overlap.json"
    assert dev_overlap.main(["--params", str(params), "--data-dir", str(raw), "--out", str(out)]) == 0
    assert "dev: 5 sentences, seed 0" in capsys.readouterr().out
    assert json.loads(out.read_text())["taken out"] == {"1": 6, "2": 5, "3": 5, "4": 0, "5": 0, "6": 0}
