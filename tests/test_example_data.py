"""The example-data generator: determinism, template-level splits, word/tag consistency, file output."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from mtl.data import example as example_data
from mtl.data.example import EXAMPLE_SENTENCE_LABELS, EXAMPLE_SPLITS, EXAMPLE_TOKEN_LABELS, generate_examples, write_examples
from mtl.data.readers import COLUMNS, read_example
from mtl.text.words import split_words

OUTPUT_COLUMNS = [*COLUMNS, "template", "split"]


@pytest.fixture(scope="module")
def examples() -> pd.DataFrame:
    return generate_examples(n=900, seed=0)


def spans(tags: list[str]) -> list[tuple[int, int, str]]:
    """(first word, last word + 1, type) of each entity in a valid IOB2 sequence."""
    out: list[tuple[int, int, str]] = []
    for i, tag in enumerate(tags):
        if tag.startswith("B-"):
            out.append((i, i + 1, tag[2:]))
        elif tag.startswith("I-"):
            start, _, etype = out[-1]
            out[-1] = (start, i + 1, etype)
    return out


def test_columns_and_types(examples: pd.DataFrame) -> None:
    assert list(examples.columns) == OUTPUT_COLUMNS
    for row in examples.itertuples(index=False):
        assert isinstance(row.text, str)
        assert type(row.words) is list and type(row.word_tags) is list
        assert isinstance(row.template, str) and re.fullmatch(r"(tech|weather|other)-\d\d", row.template)
    assert set(examples["split"]) == set(EXAMPLE_SPLITS)


@pytest.mark.parametrize("n", [0, 1, 2, 7, 9, 100, 901])
def test_n_honoured_and_classes_balanced(n: int) -> None:
    df = generate_examples(n=n, seed=1)
    assert len(df) == n
    counts = df["sentence_label"].value_counts().reindex(EXAMPLE_SENTENCE_LABELS, fill_value=0)
    assert counts.max() - counts.min() <= (1 if n else 0)


def test_same_seed_same_table_and_different_seed_differs() -> None:
    a = generate_examples(n=300, seed=7)
    b = generate_examples(n=300, seed=7)
    pd.testing.assert_frame_equal(a, b)
    c = generate_examples(n=300, seed=8)
    assert a["text"].tolist() != c["text"].tolist()
    assert set(a["text"]) != set(c["text"])
    # rows are shuffled, not grouped by class or split
    assert a["sentence_label"].iloc[:30].nunique() == len(EXAMPLE_SENTENCE_LABELS)
    assert a["split"].iloc[:60].nunique() > 1


def test_no_duplicate_texts(examples: pd.DataFrame) -> None:
    assert examples["text"].is_unique


def test_words_are_the_tokenised_text_and_found_in_order(examples: pd.DataFrame) -> None:
    for text, words in zip(examples["text"], examples["words"]):
        assert words == split_words(text)[0]
        cursor = 0
        for (start, _), word in zip(split_words(text)[1], words):
            found = text.find(word, cursor)
            assert found == start  # sequential find recovers the true offsets
            cursor = found + len(word)
        assert " ." not in text and " ," not in text and " ?" not in text
        assert text[0].isupper() or text[0].isdigit()


def test_tags_are_valid_iob2(examples: pd.DataFrame) -> None:
    for words, tags in zip(examples["words"], examples["word_tags"]):
        assert len(words) == len(tags)
        previous = "O"
        for tag in tags:
            assert tag in EXAMPLE_TOKEN_LABELS
            if tag.startswith("I-"):
                assert previous in ("B-" + tag[2:], tag), tags
            previous = tag


def test_sentence_themes_have_matching_entities(examples: pd.DataFrame) -> None:
    mixed = {t.template_id for ts in example_data._templates().values() for t in ts if t.mixed}
    for row in examples.itertuples(index=False):
        types = {etype for _, _, etype in spans(row.word_tags)}
        if row.sentence_label == "Technology":
            assert "TECH" in types
        elif row.sentence_label == "Weather":
            assert "WEATHER" in types
        elif row.template not in mixed:
            assert not types
        if row.template not in mixed:
            assert types <= {"Technology": {"TECH"}, "Weather": {"WEATHER"}, "Other": set()}[row.sentence_label]


def test_entity_words_are_vocabulary_entries(examples: pd.DataFrame) -> None:
    vocab = {
        "TECH": {v for k in ("gadget", "software", "system") for v in example_data._VOCAB[k]},
        "WEATHER": {v for k in ("weather", "storm") for v in example_data._VOCAB[k]},
    }
    for words, tags in zip(examples["words"], examples["word_tags"]):
        for start, end, etype in spans(tags):
            phrase = " ".join(words[start:end])
            assert phrase in vocab[etype] or phrase.lower() in {v.lower() for v in vocab[etype]}, phrase


def test_splits_are_disjoint_by_template(examples: pd.DataFrame) -> None:
    split_per_template = examples.groupby("template")["split"].nunique()
    assert (split_per_template == 1).all()
    templates = {s: set(examples.loc[examples["split"] == s, "template"]) for s in EXAMPLE_SPLITS}
    assert not templates["train"] & templates["validation"]
    assert not templates["train"] & templates["test"]
    assert not templates["validation"] & templates["test"]


def test_template_split_proportions_and_every_class_in_every_split(examples: pd.DataFrame) -> None:
    for label in EXAMPLE_SENTENCE_LABELS:
        rows = examples[examples["sentence_label"] == label]
        per_split = rows.groupby("split")["template"].nunique()
        total = per_split.sum()
        assert total == len(example_data._TEMPLATES[label])
        assert 0.6 <= per_split["train"] / total <= 0.8
        assert 0.1 <= per_split["validation"] / total <= 0.2
        assert 0.1 <= per_split["test"] / total <= 0.2
    assert (examples.groupby("split")["sentence_label"].nunique() == len(EXAMPLE_SENTENCE_LABELS)).all()


def test_every_class_in_every_split_even_when_tiny() -> None:
    df = generate_examples(n=9, seed=5)
    assert set(zip(df["split"], df["sentence_label"])) == {
        (s, label) for s in EXAMPLE_SPLITS for label in EXAMPLE_SENTENCE_LABELS
    }


def test_mixed_templates_only_train() -> None:
    df = generate_examples(n=900, seed=3)
    mixed = {t.template_id for ts in example_data._templates().values() for t in ts if t.mixed}
    assert mixed and set(df.loc[df["template"].isin(mixed), "split"]) == {"train"}


def test_split_assignment_depends_on_seed() -> None:
    def held_out(seed: int) -> set[str]:
        df = generate_examples(n=300, seed=seed)
        return set(df.loc[df["split"] != "train", "template"])

    assert held_out(0) != held_out(1)


def test_enough_templates_and_vocabulary() -> None:
    for label in EXAMPLE_SENTENCE_LABELS:
        patterns = [p for p, _ in example_data._TEMPLATES[label]]
        assert len(patterns) >= 25 and len(set(patterns)) == len(patterns)
    assert sum(len(example_data._VOCAB[k]) for k in ("gadget", "software", "system")) >= 80
    assert sum(len(example_data._VOCAB[k]) for k in ("weather", "storm")) >= 40
    multiword = [v for k in ("gadget", "software", "system", "weather", "storm") for v in example_data._VOCAB[k] if " " in v]
    assert len(multiword) >= 30


def test_entity_words_never_appear_as_plain_words() -> None:
    """A word tagged TECH/WEATHER somewhere is never an O word of a template or a neutral filler."""
    entity_kinds = set(example_data._ENTITY_TYPE)
    entity_words = {
        w.lower() for k in entity_kinds for v in example_data._VOCAB[k] for w in split_words(v)[0]
    }
    plain: set[str] = set()
    for templates in example_data._TEMPLATES.values():
        for pattern, _ in templates:
            plain |= {w.lower() for w in split_words(re.sub(r"\{\w+\}", " ", pattern))[0]}
    for kind, values in example_data._VOCAB.items():
        if kind not in entity_kinds:
            plain |= {w.lower() for v in values for w in split_words(v)[0]}
    plain -= {".", ",", "?", "'"}
    assert entity_words & plain == set()


def test_vocabularies_shared_across_splits(examples: pd.DataFrame) -> None:
    def entity_phrases(split: str) -> set[str]:
        rows = examples[examples["split"] == split]
        return {" ".join(w[s:e]).lower() for w, t in zip(rows["words"], rows["word_tags"]) for s, e, _ in spans(t)}

    train = entity_phrases("train")
    test = entity_phrases("test")
    assert len(test & train) / len(test) > 0.8


def test_invalid_n() -> None:
    with pytest.raises(ValueError, match="n must be >= 0"):
        generate_examples(n=-1)
    with pytest.raises(ValueError, match="too large"):
        generate_examples(n=10_000_000)


def test_write_examples_round_trip(tmp_path) -> None:
    path = tmp_path / "nested" / "dir" / "examples.jsonl"
    df = write_examples(path, n=60, seed=2)
    pd.testing.assert_frame_equal(df, generate_examples(n=60, seed=2))
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 60
    first = json.loads(lines[0])
    assert list(first) == OUTPUT_COLUMNS
    assert first["text"] == df.loc[0, "text"] and first["words"] == df.loc[0, "words"]
    back = read_example(path, extra_columns=("template", "split"))
    assert back.to_dict(orient="records") == df.to_dict(orient="records")
    assert list(read_example(path).columns) == list(COLUMNS)
    assert sorted(p.name for p in path.parent.iterdir()) == ["examples.jsonl"]


def test_write_examples_is_atomic_on_failure(tmp_path, monkeypatch) -> None:
    path = tmp_path / "examples.jsonl"
    path.write_text("old content\n", encoding="utf-8")

    def broken_dumps(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(example_data.json, "dumps", broken_dumps)
    with pytest.raises(RuntimeError, match="disk full"):
        write_examples(path, n=30)
    assert path.read_text(encoding="utf-8") == "old content\n"
    assert [p.name for p in tmp_path.iterdir()] == ["examples.jsonl"]
