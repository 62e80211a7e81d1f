"""The SST-2 dev split carved out of train: seeded, whole sentences, disjoint from training, and errors that name their key."""

from pathlib import Path

import pandas as pd
import pytest

from mtl.config.params import ParamsError, PrepareConfig
from mtl.data.dev_split import NotEnoughRows, carve_dev, span_overlap, whole_rows
from mtl.data.readers import COLUMNS, read_sst2
from mtl.data.sources import prepare_real

WHOLE = 30  # whole sentences in the synthetic table


def _row(text: str, label: str = "positive") -> dict:
    return {"text": text, "words": text.split(), "word_tags": None, "sentence_label": label}


def sst2_like() -> pd.DataFrame:
    """SST-2's shape in small: each whole sentence followed by its phrases, some phrases shared, one sentence listed twice."""
    rows = []
    for i in range(WHOLE):
        rows.append(_row(f"the film{i} was great fun{i}", "positive" if i % 2 else "negative"))
        rows += [_row(f"film{i}"), _row(f"great fun{i}"), _row(f"was great fun{i}")]
    rows += [_row("great"), _row("the film3 was great fun3", "negative")]  # a phrase in every sentence; a copy
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _texts(table: pd.DataFrame) -> list[str]:
    return list(table["text"])


def _pieces(words: list[str]) -> set[str]:
    """Every word span of a sentence (written out here, not taken from the code under test)."""
    return {" ".join(words[a:b]) for a in range(len(words)) for b in range(a + 1, len(words) + 1)}


def test_dev_rows_are_whole_sentences_of_the_size_asked():
    carved = carve_dev(sst2_like(), dev_size=5, train_size=20, seed=0)
    assert len(carved.dev) == 5 and len(carved.train) == 20
    assert all(text.startswith("the film") for text in carved.dev["text"])
    assert len(set(_texts(carved.dev))) == 5


def test_no_training_row_is_a_dev_sentence_or_a_piece_of_one():
    table = sst2_like()
    carved = carve_dev(table, dev_size=5, train_size=None, seed=0)
    pieces = set().union(*(_pieces(list(words)) for words in carved.dev["words"]))
    assert not pieces & set(_texts(carved.train))
    # every other row is in the training pool: 4 rows per dev sentence leave (itself, its 3 phrases), plus "great"
    # (a word of every sentence) and the copy of film3's sentence if film3 is among the dev sentences
    copy_out = "the film3 was great fun3" in set(_texts(carved.dev))
    assert carved.pool == len(carved.train) == len(table) - 5 * 4 - 1 - copy_out


def test_the_training_sample_comes_from_the_rows_dev_leaves_and_never_changes_dev():
    table = sst2_like()
    small = carve_dev(table, dev_size=5, train_size=10, seed=0)
    everything = carve_dev(table, dev_size=5, train_size=None, seed=0)
    pd.testing.assert_frame_equal(small.dev, everything.dev)  # the training size does not move the dev split
    assert set(_texts(small.train)) <= set(_texts(everything.train))


def test_seeded_and_deterministic():
    table = sst2_like()
    first, again = carve_dev(table, 5, 10, seed=1), carve_dev(table, 5, 10, seed=1)
    pd.testing.assert_frame_equal(first.dev, again.dev)
    pd.testing.assert_frame_equal(first.train, again.train)
    assert _texts(carve_dev(table, 5, 10, seed=2).dev) != _texts(first.dev)
    assert first.dev.index.tolist() == list(range(5))  # a plain index; rows in the table's order
    order = _texts(table)
    assert [order.index(t) for t in _texts(first.dev)] == sorted(order.index(t) for t in _texts(first.dev))


def test_too_few_rows_says_which_part_ran_short():
    table = sst2_like()
    with pytest.raises(NotEnoughRows, match=f"31 dev sentences asked, but only {WHOLE} of the 122 rows are whole sentences") as err:
        carve_dev(table, dev_size=WHOLE + 1, train_size=None, seed=0)
    assert err.value.part == "dev"
    pool = carve_dev(table, dev_size=5, train_size=None, seed=0).pool
    with pytest.raises(NotEnoughRows, match=f"{pool + 1} training sentences asked, but {pool} of the 122 rows are left once the 5 dev") as err:
        carve_dev(table, dev_size=5, train_size=pool + 1, seed=0)
    assert err.value.part == "train"
    with pytest.raises(ValueError, match="dev_size must be >= 1"):
        carve_dev(table, dev_size=0, train_size=None, seed=0)


def _raw_dir(tmp_path: Path, table: pd.DataFrame) -> Path:
    """A raw data directory with ``table`` as SST-2 train and one-sentence files for the other splits."""
    raw = tmp_path / "raw"
    (raw / "sst2").mkdir(parents=True)
    (raw / "conll2003").mkdir()
    label = {"negative": 0, "positive": 1}
    lines = ["sentence\tlabel", *(f"{t} \t{label[y]}" for t, y in zip(table["text"], table["sentence_label"]))]
    (raw / "sst2" / "train.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (raw / "sst2" / "validation.tsv").write_text("sentence\tlabel\na held-out sentence \t1\n", encoding="utf-8")
    for split in ("train", "validation", "test"):
        (raw / "conll2003" / f"{split}.txt").write_text("Peter NNP B-NP B-PER\nruns VBZ B-VP O\n\n", encoding="utf-8")
    return raw


def test_prepare_real_writes_a_dev_split_beside_the_others(tmp_path):
    raw = _raw_dir(tmp_path, sst2_like())
    tables = prepare_real(PrepareConfig(raw_dir=str(raw), sst2_train=12, sst2_dev=4, seed=0))
    assert set(tables) == {"sst2/train", "sst2/dev", "sst2/validation", "conll2003/train", "conll2003/validation", "conll2003/test"}
    assert (len(tables["sst2/dev"]), len(tables["sst2/train"])) == (4, 12)
    assert not set(_texts(tables["sst2/dev"])) & set(_texts(tables["sst2/train"]))
    assert _texts(tables["sst2/validation"]) == ["a held-out sentence"]  # untouched: it stays held out


@pytest.mark.parametrize(
    "dev, train, message",
    [
        (WHOLE + 1, None, "prepare.sst2_dev: 31 dev sentences asked, but only 30 of the 122 rows are whole sentences"),
        (5, 200, "prepare.sst2_train: 200 training sentences asked, but"),
    ],
)
def test_prepare_real_names_the_key_that_asks_for_too_much(tmp_path, dev, train, message):
    raw = _raw_dir(tmp_path, sst2_like())
    with pytest.raises(ParamsError, match=message) as err:
        prepare_real(PrepareConfig(raw_dir=str(raw), sst2_train=train, sst2_dev=dev, seed=0))
    assert "lower prepare.sst2_" in str(err.value)


@pytest.mark.slow
def test_the_default_carving_of_real_sst2(raw_dir):
    """The figures of docs/pipeline.md: 872 whole sentences as long as validation's, 57,480 rows left to train on, no shared text."""
    train = read_sst2(raw_dir / "sst2" / "train.tsv")
    cfg = PrepareConfig()
    carved = carve_dev(train, cfg.sst2_dev, None, cfg.seed)
    assert (len(carved.dev), carved.pool, len(train)) == (872, 57_480, 67_349)
    assert round(carved.dev["words"].map(len).mean(), 1) == 19.7
    assert not set(_texts(carved.dev)) & set(_texts(carved.train))


def test_span_overlap_counts_the_rows_inside_some_sentence_by_length():
    rows = pd.DataFrame([_row(t) for t in ("great", "film", "great fun", "fun great", "the film was great fun", "dull", "great")])
    sentences = pd.DataFrame([_row("the film was great fun"), _row("a dull day")])
    # "fun great" is not a span (order matters); the 5-word row is counted in the last bucket of 3
    assert span_overlap(rows, sentences, longest=3) == {1: 4, 2: 1, 3: 1}
    assert span_overlap(rows, sentences.iloc[:0]) == dict.fromkeys(range(1, 7), 0)


def test_whole_rows_are_the_rows_no_other_row_contains():
    whole = whole_rows(sst2_like())
    assert all(text.startswith("the film") for text in whole["text"])
    assert len(whole) == WHOLE + 1  # a copy of a sentence is as whole as the sentence
