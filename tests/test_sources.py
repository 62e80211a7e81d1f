"""A user's source: files in any format, labels from the data, one task or two, and bad data named by file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtl.config.sources import DataConfig
from mtl.data.errors import DataError
from mtl.data.labels import collect_labels, iob2_problem, tags_for
from mtl.data.sources import prepare_files

TRAVEL = Path(__file__).resolve().parents[1] / "examples" / "travel"


def rows(*items: dict) -> str:
    return "".join(json.dumps(item) + "\n" for item in items)


def source(tmp_path: Path, fmt: str, train: str, validation: str | float, test: str | None = None, **options) -> DataConfig:
    return DataConfig(
        path=str(tmp_path),
        datasets={"mine": {"format": fmt, "train": train, "validation": validation, "test": test, **options}},
    )


def write(tmp_path: Path, name: str, text: str) -> str:
    (tmp_path / name).write_text(text)
    return str(tmp_path / name)


APP = {"text": "Slack 4.2 crashes", "word_tags": ["B-APP", "B-VERSION", "O"], "sentence_label": "bug"}
REFUND = {"text": "I want my money back", "sentence_label": "refund"}
FEATURE = {"text": "Please add dark mode to Slack", "word_tags": ["O", "O", "O", "O", "O", "B-APP"], "sentence_label": "feature"}


def test_labels_come_from_the_training_split_sorted():
    tables, labels = prepare_files(
        DataConfig(path=str(TRAVEL), datasets={"travel": {"format": "jsonl", "train": f"{TRAVEL}/train.jsonl",
                                                          "validation": f"{TRAVEL}/validation.jsonl", "test": f"{TRAVEL}/test.jsonl"}}),
        seed=0,
    )
    assert labels.sentence == ["ask", "book", "cancel"]
    assert labels.token == ["O", "B-AIRLINE", "I-AIRLINE", "B-CITY", "I-CITY"]
    assert sorted(tables) == ["travel/test", "travel/train", "travel/validation"]
    assert list(tables["travel/train"].columns) == ["text", "words", "word_tags", "sentence_label"]


def test_a_jsonl_row_may_carry_either_task_and_a_fraction_is_drawn_from_train(tmp_path):
    train = write(tmp_path, "train.jsonl", rows(APP, REFUND, FEATURE, APP, REFUND, FEATURE))
    tables, labels = prepare_files(source(tmp_path, "jsonl", train, 0.34), seed=0)
    assert labels.sentence == ["bug", "feature", "refund"] and labels.token == tags_for(["APP", "VERSION"])
    assert (len(tables["mine/train"]), len(tables["mine/validation"])) == (4, 2)
    again, _ = prepare_files(source(tmp_path, "jsonl", train, 0.34), seed=0)
    assert again["mine/validation"]["text"].tolist() == tables["mine/validation"]["text"].tolist()  # seeded
    refund = tables["mine/train"].set_index("text").loc["I want my money back"]
    assert refund["word_tags"] is None if refund.ndim == 1 else refund["word_tags"].isna().all()


def test_a_sentence_only_csv_has_no_token_task(tmp_path):
    train = write(tmp_path, "train.csv", 'text,label\n"Refund, please",refund\nApp crashes,bug\nAdd a button,feature\n')
    validation = write(tmp_path, "val.csv", "text,label\nIt crashed,bug\n")
    tables, labels = prepare_files(source(tmp_path, "csv", train, validation), seed=0)
    assert labels.sentence == ["bug", "feature", "refund"] and labels.token == []
    assert tables["mine/train"]["text"].tolist()[0] == "Refund, please"  # quoted as the csv module quotes


def test_a_token_only_conll_file_has_no_sentence_task(tmp_path):
    train = write(tmp_path, "train.txt", "Slack B-APP\n4.2 B-VERSION\ncrashes O\n\nZoom B-APP\nworks O\n")
    validation = write(tmp_path, "val.txt", "-DOCSTART- O\n\nZoom B-APP\n5 B-VERSION\n")
    tables, labels = prepare_files(source(tmp_path, "conll", train, validation), seed=0)
    assert tables["mine/validation"]["words"].tolist() == [["Zoom", "5"]]
    assert labels.sentence == [] and labels.token == tags_for(["APP", "VERSION"])


@pytest.mark.parametrize(
    "train, validation, where, problem",
    [
        (rows(APP, REFUND), rows({**REFUND, "sentence_label": "praise"}), "val.jsonl:1",
         "sentence label 'praise' never appears in training (training has: bug, refund): add it to the training data, or drop the row"),
        (rows(APP, REFUND), rows(REFUND, {**APP, "word_tags": ["B-OS", "O", "O"]}), "val.jsonl:2", "entity type 'OS' (B-OS) never appears in training"),
        (rows(APP, {**APP, "word_tags": ["I-APP", "O", "O"]}), rows(APP), "train.jsonl:2", "word 1 ('Slack'): tag 'I-APP' after 'O'"),
        (rows(APP, {**REFUND, "sentence_label": ""}), rows(APP), "train.jsonl:2", "'sentence_label' must be a non-empty string"),
        (rows(APP, {"text": "no labels"}), rows(APP), "train.jsonl:2", "no label: give 'sentence_label', 'word_tags' or both"),
        ("", rows(APP), "train.jsonl", "file is empty: add one JSON object per line with 'text' and 'sentence_label' and/or 'word_tags'"),
        (rows(REFUND, REFUND), rows(REFUND), "train.jsonl", "one sentence label only ('refund'): add sentences of at least one other class"),
        (rows({"text": "plain words", "word_tags": ["O", "O"]}), rows(REFUND), "train.jsonl", "word tags but no entity (every tag is O)"),
    ],
)
def test_bad_data_is_named_by_file_and_line(tmp_path, train, validation, where, problem):
    config = source(tmp_path, "jsonl", write(tmp_path, "train.jsonl", train), write(tmp_path, "val.jsonl", validation))
    with pytest.raises(DataError) as err:
        prepare_files(config, seed=0)
    assert str(err.value).startswith(f"{tmp_path}/{where}: {problem}")


def test_a_missing_file_and_a_bad_csv_row_say_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.csv: no such file"):
        prepare_files(source(tmp_path, "csv", str(tmp_path / "missing.csv"), 0.5), seed=0)
    bad = write(tmp_path, "bad.csv", "text,label\nfine,refund\nno label here\n")
    with pytest.raises(DataError, match=r"bad.csv:3: expected 2 ','-separated columns \(text, label\), got 1"):
        prepare_files(source(tmp_path, "csv", bad, 0.5), seed=0)
    header = write(tmp_path, "header.csv", "sentence,intent\nfine,refund\nbroken,bug\nfine too,refund\nbroken too,bug\n")
    with pytest.raises(DataError, match=r"header.csv:1: expected a header naming the columns 'text' and 'label'"):
        prepare_files(source(tmp_path, "csv", header, 0.5), seed=0)
    # the header's own names work when the data set names them
    _, labels = prepare_files(source(tmp_path, "csv", header, 0.25, text_column="sentence", label_column="intent"), seed=0)
    assert labels.sentence == ["bug", "refund"]


def test_iob2_and_label_collection_are_pure_functions():
    assert iob2_problem(["B-A", "I-A", "O", "B-B"]) is None
    assert iob2_problem(["O", "I-A"]) == (1, "tag 'I-A' after 'O': an I-A must follow B-A or I-A (IOB2)")
    assert iob2_problem(["B-A", "I-B"])[0] == 1
    assert iob2_problem(["X"]) == (0, "tag 'X' is not IOB2: expected O, B-TYPE or I-TYPE")
    import pandas as pd

    table = pd.DataFrame({"sentence_label": ["b", None, "a"], "word_tags": [None, ["B-Z", "O"], ["B-Y", "I-Y"]]})
    labels = collect_labels({"d/train": table})
    assert (labels.sentence, labels.token) == (["a", "b"], ["O", "B-Y", "I-Y", "B-Z", "I-Z"])
