"""Readers into the uniform sentence table: exact output on small files, every error with path:line."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from mtl.data import raw as raw_data
from mtl.data.errors import DataError
from mtl.data.raw import load_split
from mtl.data.readers import COLUMNS, CONLL_TAGS, SST2_LABELS, read_conll, read_example, read_sst2
from mtl.data.tables import sample_rows

RAW_DIR = Path(os.environ.get("MTL_RAW_DIR", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
needs_raw = pytest.mark.skipif(not (RAW_DIR / "sst2").is_dir() or not (RAW_DIR / "conll2003").is_dir(),
                               reason=f"raw data not found at {RAW_DIR} (set MTL_RAW_DIR)")


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def records(df: pd.DataFrame) -> list[dict]:
    assert list(df.columns) == list(COLUMNS)
    return df.to_dict(orient="records")


def assert_list_columns(df: pd.DataFrame) -> None:
    for column in ("words", "word_tags"):
        assert df[column].dtype == object
    assert all(type(w) is list for w in df["words"])


# --- DataError ---------------------------------------------------------------------------------


def test_data_error_message_and_attributes() -> None:
    err = DataError(Path("/x/y.tsv"), 12, "bad label")
    assert str(err) == "/x/y.tsv:12: bad label"
    assert (err.path, err.line, err.problem) == ("/x/y.tsv", 12, "bad label")
    assert isinstance(err, ValueError)
    assert str(DataError("f.txt", None, "file is empty")) == "f.txt: file is empty"
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) and again.line == 12


# --- SST-2 ---------------------------------------------------------------------------------------


def test_read_sst2_good(tmp_path: Path) -> None:
    path = write(tmp_path, "s.tsv", "sentence\tlabel\nhide new secretions \t0\nit 's a charming journey \t1\n")
    df = read_sst2(path)
    assert records(df) == [
        {"text": "hide new secretions", "words": ["hide", "new", "secretions"], "word_tags": None,
         "sentence_label": "negative"},
        {"text": "it 's a charming journey", "words": ["it", "'s", "a", "charming", "journey"], "word_tags": None,
         "sentence_label": "positive"},
    ]
    assert_list_columns(df)
    assert SST2_LABELS == ("negative", "positive")


def test_read_sst2_without_final_newline(tmp_path: Path) -> None:
    df = read_sst2(write(tmp_path, "s.tsv", "sentence\tlabel\ngood \t1"))
    assert df["sentence_label"].tolist() == ["positive"]


@pytest.mark.parametrize(
    ("content", "where", "problem"),
    [
        ("", "", "file is empty"),
        ("text\tlabel\nfine \t1\n", ":1", "expected a header naming the columns 'sentence' and 'label'"),
        ("fine \t1\n", ":1", "expected a header naming the columns"),
        ("sentence\tlabel\nfine \t1\nno label here\n", ":3", "expected 2 tab-separated columns (sentence, label)"),
        ("sentence\tlabel\nfine \t1\n\nmore \t0\n", ":3", "expected 2 tab-separated columns (sentence, label)"),
        ("sentence\tlabel\nfine \t1\ttoo many\n", ":2", "expected 2 tab-separated columns (sentence, label)"),
        ("sentence\tlabel\nfine \t2\n", ":2", "label must be 0 or 1, got '2'"),
        ("sentence\tlabel\nfine \tpositive\n", ":2", "label must be 0 or 1"),
        ("sentence\tlabel\nfine \t1\n   \t0\n", ":3", "empty sentence"),
        ("sentence\tlabel\n", "", "no sentences after the header: add rows"),
    ],
)
def test_read_sst2_errors(tmp_path: Path, content: str, where: str, problem: str) -> None:
    path = write(tmp_path, "bad.tsv", content)
    with pytest.raises(DataError) as info:
        read_sst2(path)
    assert str(info.value).startswith(f"{path}{where}: {problem}")


def test_read_sst2_invalid_utf8_names_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.tsv"
    path.write_bytes(b"sentence\tlabel\nok \t1\nbad \xff \t0\n")
    with pytest.raises(DataError, match=r":3: not valid UTF-8"):
        read_sst2(path)


# --- CoNLL ---------------------------------------------------------------------------------------

CONLL_GOOD = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
. . O O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

In IN B-PP O
Paris NNP B-NP B-LOC
"""


def test_read_conll_good(tmp_path: Path) -> None:
    df = read_conll(write(tmp_path, "c.txt", CONLL_GOOD))
    lines = df.pop("line")
    assert records(df) == [
        {"text": "EU rejects German .", "words": ["EU", "rejects", "German", "."],
         "word_tags": ["B-ORG", "O", "B-MISC", "O"], "sentence_label": None},
        {"text": "Peter Blackburn", "words": ["Peter", "Blackburn"], "word_tags": ["B-PER", "I-PER"],
         "sentence_label": None},
        {"text": "In Paris", "words": ["In", "Paris"], "word_tags": ["O", "B-LOC"], "sentence_label": None},
    ]
    assert lines.tolist() == [3, 8, 13]  # where each sentence starts, for errors found later (file:line)
    assert_list_columns(df)


def test_read_conll_docstart_without_blank_line_ends_sentence(tmp_path: Path) -> None:
    df = read_conll(write(tmp_path, "c.txt", "A DT B-NP O\n-DOCSTART- -X- -X- O\nB NN B-NP O\n\n\n\n"))
    assert df["words"].tolist() == [["A"], ["B"]]


def test_read_conll_custom_tag_set(tmp_path: Path) -> None:
    path = write(tmp_path, "c.txt", "Apple NNP B-NP B-TECH\n")
    assert read_conll(path, tags=("O", "B-TECH", "I-TECH"))["word_tags"].tolist() == [["B-TECH"]]
    with pytest.raises(DataError, match=r":1: unknown NER tag 'B-TECH'"):
        read_conll(path, CONLL_TAGS)
    assert read_conll(path)["word_tags"].tolist() == [["B-TECH"]]  # a user's file: any entity type


@pytest.mark.parametrize(
    ("content", "where", "problem"),
    [
        ("", "", "file is empty"),
        ("-DOCSTART- -X- -X- O\n\n", "", "no sentences"),
        ("\n\n", "", "no sentences"),
        ("EU NNP B-NP B-ORG\nrejects\n", ":2", "expected at least 2 space-separated columns (word ... tag), got 1"),
        ("EU NNP B-NP B-ORG\n\nrejects VBZ B-VP O extra\n", ":3", "unknown NER tag 'extra'"),
        ("EU NNP B-NP B-ORG\nrejects VBZ B-VP B-XYZ\n", ":2", "unknown NER tag 'B-XYZ'"),
        ("EU NNP B-NP b-org\n", ":1", "unknown NER tag 'b-org'"),
        ("In IN B-PP O\nParis NNP B-NP I-LOC\n", ":2", "tag 'I-LOC' after 'O': an I-LOC must follow B-LOC or I-LOC (IOB2)"),
        ("In B-LOC\nParis I-PER\n", ":2", "tag 'I-PER' after 'B-LOC'"),
        ("In b-loc\n", ":1", "tag 'b-loc' is not IOB2"),
    ],
)
def test_read_conll_errors(tmp_path: Path, content: str, where: str, problem: str) -> None:
    path = write(tmp_path, "bad.txt", content)
    with pytest.raises(DataError) as info:
        read_conll(path, CONLL_TAGS if "NNP" in content or "VBZ" in content else None)
    assert str(info.value).startswith(f"{path}{where}: {problem}")


# --- example JSON Lines --------------------------------------------------------------------------

GOOD_EXAMPLE = {
    "text": "The new GPU survived the heavy rain.",
    "words": ["The", "new", "GPU", "survived", "the", "heavy", "rain", "."],
    "word_tags": ["O", "O", "B-TECH", "O", "O", "B-WEATHER", "I-WEATHER", "O"],
    "sentence_label": "Technology",
    "template": "tech-01",
    "split": "train",
}
OTHER_EXAMPLE = {"text": "Maria cooked pasta.", "words": ["Maria", "cooked", "pasta", "."],
                 "word_tags": ["O", "O", "O", "O"], "sentence_label": "Other"}


def jsonl(*objects: object) -> str:
    return "".join((o if isinstance(o, str) else json.dumps(o)) + "\n" for o in objects)


def test_read_example_good(tmp_path: Path) -> None:
    df = read_example(write(tmp_path, "e.jsonl", jsonl(GOOD_EXAMPLE, "", OTHER_EXAMPLE)))
    assert records(df) == [
        {k: GOOD_EXAMPLE[k] for k in COLUMNS},
        OTHER_EXAMPLE,
    ]
    assert_list_columns(df)


def test_read_example_extra_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "e.jsonl", jsonl(GOOD_EXAMPLE))
    df = read_example(path, extra_columns=("template", "split"))
    assert list(df.columns) == [*COLUMNS, "template", "split"]
    assert df.loc[0, "template"] == "tech-01"
    with pytest.raises(DataError, match=r":1: missing key\(s\): template"):
        read_example(write(tmp_path, "o.jsonl", jsonl(OTHER_EXAMPLE)), extra_columns=("template",))


def _with(**changes: object) -> dict:
    return {**OTHER_EXAMPLE, **changes}


@pytest.mark.parametrize(
    ("lines", "where", "problem"),
    [
        ((), "", "file is empty"),
        (("", "  "), "", "no sentences"),
        ((OTHER_EXAMPLE, '{"text": "broken"'), ":2", "invalid JSON"),
        ((OTHER_EXAMPLE, "", "not json at all"), ":3", "invalid JSON"),
        (("[1, 2]",), ":1", "expected a JSON object, got list"),
        (({k: v for k, v in OTHER_EXAMPLE.items() if k != "word_tags"},), ":1", "missing key(s): word_tags"),
        ((_with(text=""),), ":1", "'text' must be a non-empty string"),
        ((_with(words=[]),), ":1", "'words' must be a non-empty list"),
        ((_with(words=["Maria", 3, "pasta", "."]),), ":1", "'words' must be a non-empty list"),
        ((_with(word_tags=None),), ":1", "'word_tags' must be a list of strings"),
        ((OTHER_EXAMPLE, _with(word_tags=["O", "O", "O"])), ":2", "4 words but 3 word_tags"),
        ((_with(word_tags=["B-PER", "O", "O", "O"]),), ":1", "unknown word tag(s) B-PER"),
        ((_with(sentence_label="Sports"),), ":1", "unknown sentence_label 'Sports'"),
        ((_with(sentence_label=None),), ":1", "unknown sentence_label None"),
        ((_with(words=["cooked", "Maria", "pasta", "."]),), ":1", "word 1 'Maria' not found in 'text' after character 12"),
        ((_with(words=["Maria", "baked", "pasta", "."]),), ":1", "word 1 'baked' not found"),
    ],
)
def test_read_example_errors(tmp_path: Path, lines: tuple, where: str, problem: str) -> None:
    path = write(tmp_path, "bad.jsonl", jsonl(*lines))
    with pytest.raises(DataError) as info:
        read_example(path)
    assert str(info.value).startswith(f"{path}{where}: {problem}")


def test_a_json_array_reads_as_its_json_lines_do(tmp_path: Path) -> None:
    """The user guide's example_data.json is one JSON document: `mtl example-data` writes an array to a .json file."""
    from mtl.data.example import write_examples

    write_examples(tmp_path / "a.jsonl", n=60)
    as_lines = read_example(tmp_path / "a.jsonl", optional_columns=("split",))
    write_examples(tmp_path / "a.json", n=60)
    assert isinstance(json.loads((tmp_path / "a.json").read_text()), list)
    as_array = read_example(tmp_path / "a.json", optional_columns=("split",))
    assert as_array.drop(columns="line").equals(as_lines.drop(columns="line"))
    assert list(as_array["line"]) == [n + 1 for n in as_lines["line"]]  # the "[" takes line 1
    # any layout: an item is named by the line it starts on
    pretty = json.dumps([OTHER_EXAMPLE, OTHER_EXAMPLE], indent=2)
    assert list(read_example(write(tmp_path, "p.json", pretty), optional_columns=("split",))["line"]) == [2, 18]


@pytest.mark.parametrize(
    ("content", "where", "problem"),
    [
        ("[\n" + json.dumps(OTHER_EXAMPLE) + "\n" + json.dumps(OTHER_EXAMPLE) + "\n]", ":3", "expected ',' or ']' after an item"),
        ("[\n" + json.dumps(OTHER_EXAMPLE) + ",\n", ":2", "the JSON array is not closed"),
        ("[\n" + json.dumps(OTHER_EXAMPLE) + ",\n{oops}\n]", ":3", "invalid JSON: Expecting property name"),
        ("[\n" + json.dumps(OTHER_EXAMPLE), ":2", "the JSON array is not closed"),
        ("[\n" + json.dumps(OTHER_EXAMPLE) + "\n]\n[]", ":4", "text after the end of the JSON array"),
        ("[\n" + json.dumps(OTHER_EXAMPLE) + ",\n" + json.dumps(_with(sentence_label="Sports")) + "\n]", ":3", "unknown sentence_label 'Sports'"),
        ("[\n]", "", "no sentences"),
    ],
)
def test_json_array_errors_name_the_line(tmp_path: Path, content: str, where: str, problem: str) -> None:
    path = write(tmp_path, "bad.json", content)
    with pytest.raises(DataError) as info:
        read_example(path)
    assert str(info.value).startswith(f"{path}{where}: {problem}")


# --- load_split and the Hub fallbacks --------------------------------------------------------------


def make_raw_dir(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    (raw / "sst2").mkdir(parents=True)
    (raw / "conll2003").mkdir()
    (raw / "sst2" / "validation.tsv").write_text("sentence\tlabel\ngreat fun \t1\n", encoding="utf-8")
    (raw / "conll2003" / "test.txt").write_text(CONLL_GOOD, encoding="utf-8")
    return raw


def test_load_split_reads_raw_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = make_raw_dir(tmp_path)
    monkeypatch.setattr(raw_data, "load_hub_sst2", lambda split: pytest.fail("must not use the Hub"))
    monkeypatch.setattr(raw_data, "load_hub_conll", lambda split: pytest.fail("must not use the Hub"))
    assert load_split("sst2", "validation", raw)["text"].tolist() == ["great fun"]
    assert len(load_split("conll2003", "test", str(raw))) == 3
    with pytest.raises(FileNotFoundError, match="train"):
        load_split("sst2", "train", raw)


def test_load_split_falls_back_to_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(raw_data, "load_hub_sst2", lambda split: calls.append(("sst2", split)) or "sst2-table")
    monkeypatch.setattr(raw_data, "load_hub_conll", lambda split: calls.append(("conll", split)) or "conll-table")
    assert load_split("sst2", "train", tmp_path / "missing") == "sst2-table"
    assert load_split("conll2003", "test", None) == "conll-table"
    assert calls == [("sst2", "train"), ("conll", "test")]


@pytest.mark.parametrize(
    ("dataset", "split", "message"),
    [
        ("imdb", "train", "unknown dataset 'imdb': choose one of sst2, conll2003"),
        ("sst2", "test", "unknown sst2 split 'test': choose one of train, validation"),
        ("conll2003", "dev", "unknown conll2003 split 'dev': choose one of train, validation, test"),
    ],
)
def test_load_split_rejects_unknown_names(tmp_path: Path, dataset: str, split: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        load_split(dataset, split, make_raw_dir(tmp_path))
    assert str(info.value) == message


def test_hub_loaders_reject_unknown_split() -> None:
    with pytest.raises(ValueError, match="choose one of train, validation$"):
        raw_data.load_hub_sst2("test")
    with pytest.raises(ValueError, match="choose one of train, validation, test$"):
        raw_data.load_hub_conll("valid")


class FakeDataset:
    def __init__(self, columns: dict[str, list], features: object = None) -> None:
        self.columns = columns
        self.features = features or {}

    def __getitem__(self, key: str) -> list:
        return self.columns[key]


def test_load_hub_sst2_maps_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    calls = []

    def fake_load_dataset(path, name=None, **kwargs):
        calls.append((path, name, kwargs))
        return FakeDataset({"sentence": ["bad movie ", "a gem "], "label": [0, 1], "idx": [0, 1]})

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    df = raw_data.load_hub_sst2("validation")
    assert calls == [("nyu-mll/glue", "sst2", {"split": "validation", "revision": raw_data.HUB_SST2_REVISION})]
    assert records(df) == [
        {"text": "bad movie", "words": ["bad", "movie"], "word_tags": None, "sentence_label": "negative"},
        {"text": "a gem", "words": ["a", "gem"], "word_tags": None, "sentence_label": "positive"},
    ]


def test_load_hub_sst2_rejects_unlabelled_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    monkeypatch.setattr(datasets, "load_dataset",
                        lambda *a, **k: FakeDataset({"sentence": ["ok ", "hidden "], "label": [1, -1]}))
    with pytest.raises(DataError, match=r"/train:2: label must be 0 or 1, got -1"):
        raw_data.load_hub_sst2("train")


def test_load_hub_conll_maps_tag_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    calls = []
    features = {"ner_tags": SimpleNamespace(feature=SimpleNamespace(names=list(CONLL_TAGS)))}

    def fake_load_dataset(path, **kwargs):
        calls.append((path, kwargs))
        return FakeDataset({"tokens": [["EU", "rejects", "German"], [], ["Peter", "Blackburn"]],
                            "ner_tags": [[3, 0, 7], [], [1, 2]]}, features)

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    df = raw_data.load_hub_conll("test")
    assert calls == [("eriktks/conll2003", {"split": "test", "revision": raw_data.HUB_CONLL_REVISION})]
    assert records(df) == [
        {"text": "EU rejects German", "words": ["EU", "rejects", "German"], "word_tags": ["B-ORG", "O", "B-MISC"],
         "sentence_label": None},
        {"text": "Peter Blackburn", "words": ["Peter", "Blackburn"], "word_tags": ["B-PER", "I-PER"],
         "sentence_label": None},
    ]

    features["ner_tags"] = SimpleNamespace(feature=SimpleNamespace(names=["O", "B-PER"]))
    with pytest.raises(DataError, match="differ from"):
        raw_data.load_hub_conll("test")


# --- sample_rows ---------------------------------------------------------------------------------


def test_sample_rows() -> None:
    df = pd.DataFrame({"x": range(1000)}, index=range(5000, 6000))
    for n in (None, 1000, 5000):
        out = sample_rows(df, n, seed=0)
        assert out["x"].tolist() == list(range(1000)) and out.index.tolist() == list(range(1000))
    a = sample_rows(df, 50, seed=1)
    assert len(a) == 50 and a.index.tolist() == list(range(50))
    assert a["x"].is_monotonic_increasing and a["x"].is_unique
    assert a["x"].tolist() != list(range(50))  # a sample, not the head
    pd.testing.assert_frame_equal(a, sample_rows(df, 50, seed=1))
    assert a["x"].tolist() != sample_rows(df, 50, seed=2)["x"].tolist()
    assert len(sample_rows(df, 0, seed=0)) == 0
    with pytest.raises(ValueError, match="n must be None or >= 0"):
        sample_rows(df, -1, seed=0)


# --- the real shared files ------------------------------------------------------------------------


@needs_raw
@pytest.mark.parametrize(("split", "rows", "negative", "positive"),
                         [("train", 67_349, 29_780, 37_569), ("validation", 872, 428, 444)])
def test_real_sst2(split: str, rows: int, negative: int, positive: int) -> None:
    df = read_sst2(RAW_DIR / "sst2" / f"{split}.tsv")
    assert len(df) == rows
    assert df["sentence_label"].value_counts().to_dict() == {"negative": negative, "positive": positive}
    assert not df["text"].str.endswith(" ").any()
    assert df["word_tags"].isna().all()


@needs_raw
@pytest.mark.parametrize(
    ("split", "sentences", "tokens", "entities"),
    [
        ("train", 14_041, 203_621, {"PER": 6600, "ORG": 6321, "LOC": 7140, "MISC": 3438}),
        ("validation", 3_250, 51_362, {"PER": 1842, "ORG": 1341, "LOC": 1837, "MISC": 922}),
        ("test", 3_453, 46_435, {"PER": 1617, "ORG": 1661, "LOC": 1668, "MISC": 702}),
    ],
)
def test_real_conll(split: str, sentences: int, tokens: int, entities: dict[str, int]) -> None:
    df = load_split("conll2003", split, RAW_DIR)
    assert len(df) == sentences
    assert df["words"].map(len).sum() == tokens
    counts = {etype: 0 for etype in entities}
    for tags in df["word_tags"]:
        for tag in tags:
            if tag.startswith("B-"):
                counts[tag[2:]] += 1
    assert counts == entities
    assert df["sentence_label"].isna().all()
    assert (df["text"] == df["words"].map(" ".join)).all()


def test_missing_raw_dir_and_unreachable_hub_names_both(tmp_path, monkeypatch):

    def offline(split):
        raise ConnectionError("Couldn't reach 'nyu-mll/glue' on the Hub")

    monkeypatch.setattr(raw_data, "load_hub_sst2", offline)
    with pytest.raises(FileNotFoundError, match=r"raw data directory .*nowhere not found, and loading sst2 train from the Hugging Face Hub failed"):
        raw_data.load_split("sst2", "train", tmp_path / "nowhere")
