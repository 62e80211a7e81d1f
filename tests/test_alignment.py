import pytest

from mtl.alignment import (
    IGNORE,
    align_labels,
    b_to_i_map,
    check_alignment,
    first_piece_index,
    group_entities,
    split_words,
    truncated_words,
    word_offsets,
    words_from_pieces,
)

TAGS = ["O", "B-TECH", "I-TECH", "B-WEATHER", "I-WEATHER"]
B2I = b_to_i_map(TAGS)


def test_b_to_i_map():
    assert B2I == {1: 2, 3: 4}


def test_first_strategy_labels_only_first_pieces():
    # [CLS] kubern ##etes runs [SEP]
    word_ids = [None, 0, 0, 1, None]
    assert align_labels(word_ids, [1, 0], "first", B2I) == [IGNORE, 1, IGNORE, 0, IGNORE]


def test_all_strategy_turns_b_into_i_on_continuation_pieces():
    word_ids = [None, 0, 0, 0, 1, 1, None]
    assert align_labels(word_ids, [1, 2], "all", B2I) == [IGNORE, 1, 2, 2, 2, 2, IGNORE]


def test_round_trip_with_real_tokenizer_both_strategies(tokenizer):
    words = ["Kubernetes", "and", "TensorFlow", "survived", "the", "thunderstorm", "."]
    tags = [1, 0, 1, 0, 0, 3, 0]
    enc = tokenizer(words, is_split_into_words=True)
    word_ids = enc.word_ids()
    assert len(word_ids) > len(words) + 2, "some words must split into several pieces for this test to mean anything"
    for strategy in ("first", "all"):
        pieces = align_labels(word_ids, tags, strategy, B2I)
        assert len(pieces) == len(word_ids)
        assert words_from_pieces(word_ids, pieces, len(words)) == tags
        labelled = [p for p in pieces if p != IGNORE]
        assert len(labelled) == (len(words) if strategy == "first" else len(word_ids) - 2)


def test_truncation_is_counted(tokenizer):
    words = ["word"] * 20
    enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=8)
    word_ids = enc.word_ids()
    assert truncated_words(word_ids, len(words)) == 14  # 8 pieces - [CLS] - [SEP] = 6 words kept
    assert first_piece_index(word_ids, len(words))[6:] == [None] * 14
    assert words_from_pieces(word_ids, list(range(8)), len(words), fill=-1)[5:7] == [6, -1]


def test_split_words_and_offsets():
    text = "Apple's new M3 chip, e-mail: U.S. launch!"
    words, offsets = split_words(text)
    assert words == ["Apple's", "new", "M3", "chip", ",", "e-mail", ":", "U.S", ".", "launch", "!"]
    assert [text[s:e] for s, e in offsets] == words
    assert word_offsets(text, words) == offsets


def test_word_offsets_missing_word():
    with pytest.raises(ValueError, match="not found"):
        word_offsets("a b", ["a", "c"])


def test_group_entities_with_offsets_and_scores():
    text = "Rain hit the new iPhone 15 Pro launch"
    words, offsets = split_words(text)
    tags = ["B-WEATHER", "O", "O", "O", "B-TECH", "I-TECH", "I-TECH", "O"]
    scores = [0.9, 1, 1, 1, 0.8, 0.6, 0.7, 1]
    ents = group_entities(text, tags, offsets, scores)
    assert [(e.type, e.text, e.start, e.end) for e in ents] == [("WEATHER", "Rain", 0, 4), ("TECH", "iPhone 15 Pro", 17, 30)]
    assert ents[1].score == pytest.approx(0.7)


def test_stray_i_starts_an_entity_and_type_change_splits():
    text = "a b c d"
    _, offsets = split_words(text)
    ents = group_entities(text, ["I-TECH", "I-WEATHER", "B-TECH", "B-TECH"], offsets)
    assert [(e.type, e.text) for e in ents] == [("TECH", "a"), ("WEATHER", "b"), ("TECH", "c"), ("TECH", "d")]


def test_unknown_strategy():
    with pytest.raises(ValueError, match="first, all"):
        check_alignment("last")
