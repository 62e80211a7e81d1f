"""The travel worked example (examples/travel): regenerates byte-identically, consistent words and tags, template split."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from mtl.text.words import split_words
from tests.conftest import REPO

TRAVEL = REPO / "examples" / "travel"
FILES = ("train.jsonl", "validation.jsonl", "test.jsonl", "requests_train.csv", "requests_test.csv")
KEYS = ["text", "words", "word_tags", "sentence_label"]
TYPES = {"CITY", "AIRLINE"}


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    # examples/ is not a package: load the script from its path.
    spec = importlib.util.spec_from_file_location("travel_generate", TRAVEL / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def splits() -> dict[str, list[dict]]:
    return {split: [json.loads(line) for line in (TRAVEL / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()] for split in ("train", "validation", "test")}


def test_regenerating_gives_the_committed_files_byte_for_byte(generator: ModuleType, tmp_path: Path) -> None:
    generator.main(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (TRAVEL / name).read_bytes(), name


def test_rows_have_the_keys_and_words_from_split_words(splits: dict[str, list[dict]]) -> None:
    assert [len(rows) for rows in splits.values()] == [300, 60, 60]
    texts = [row["text"] for rows in splits.values() for row in rows]
    assert len(set(texts)) == len(texts)
    for rows in splits.values():
        for row in rows:
            assert list(row) == KEYS
            assert row["words"] == split_words(row["text"])[0]
            assert len(row["word_tags"]) == len(row["words"])


def test_tags_are_iob2_over_city_and_airline(splits: dict[str, list[dict]]) -> None:
    seen = set()
    entities_per_sentence = set()
    for rows in splits.values():
        for row in rows:
            previous = "O"
            for tag in row["word_tags"]:
                assert tag == "O" or (tag[:2] in ("B-", "I-") and tag[2:] in TYPES), tag
                if tag.startswith("I-"):
                    assert previous in (f"B-{tag[2:]}", tag), row
                previous = tag
            seen.update(row["word_tags"])
            entities_per_sentence.add(sum(tag.startswith("B-") for tag in row["word_tags"]))
    assert seen == {"O"} | {f"{prefix}-{etype}" for prefix in "BI" for etype in TYPES}
    assert entities_per_sentence == {0, 1, 2, 3}


def test_every_split_has_every_intent(generator: ModuleType, splits: dict[str, list[dict]]) -> None:
    for rows in splits.values():
        assert {row["sentence_label"] for row in rows} == set(generator.LABELS) == {"book", "cancel", "ask"}


def test_held_out_templates_are_unseen_in_training(generator: ModuleType) -> None:
    built = generator.build_splits()
    used = {split: {row["template"] for row in rows} for split, rows in built.items()}
    assert used["train"].isdisjoint(used["validation"] | used["test"])
    assert used["validation"].isdisjoint(used["test"])
    # ids differ, and so does the wording behind them
    wording = {tid: template for split_templates in generator.templates().values() for tid, _, template in split_templates}
    assert len(set(wording.values())) == len(wording)
    # the built rows are what the files hold, less the template id
    for split, rows in built.items():
        on_disk = (TRAVEL / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
        assert [json.loads(line) for line in on_disk] == [{key: row[key] for key in KEYS} for row in rows]


def test_no_entity_word_is_also_a_plain_word(generator: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    generator.check_vocabulary()
    book = generator.TEMPLATES["book"]
    monkeypatch.setitem(book, "train", (*book["train"], "Fly me to the old city of {city}."))  # "City" of "Mexico City"
    with pytest.raises(ValueError, match="city"):
        generator.check_vocabulary()


@pytest.mark.parametrize("split", ["train", "test"])
def test_csv_holds_the_same_text_and_label_as_jsonl(splits: dict[str, list[dict]], split: str) -> None:
    with open(TRAVEL / f"requests_{split}.csv", encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["text", "label"]
        pairs = [(row["text"], row["label"]) for row in reader]
    assert pairs == [(row["text"], row["sentence_label"]) for row in splits[split]]
    # some texts need quoting (commas, double quotes), so the CSV round trip is not trivial
    assert any("," in text for text, _ in pairs)
    if split == "train":
        assert any('"' in text for text, _ in pairs)
