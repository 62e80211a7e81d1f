"""Word shapes from original-cased words: a table of words, and pieces that take their word's shape."""

from __future__ import annotations

import pytest

from mtl.text.shapes import NONE, SHAPES, piece_shapes, shape_id, word_shape

TABLE = [
    ("apple", "lower"),
    ("3rd", "lower"),
    ("n't", "lower"),
    ("e-mail", "lower"),
    ("Apple", "title"),
    ("Brussels", "title"),
    ("J.", "title"),
    ("A", "title"),
    ("I", "title"),
    ("St.", "title"),
    ("Élodie", "title"),
    ("NATO", "upper"),
    ("U.S.", "upper"),
    ("EU", "upper"),
    ("S&P", "upper"),
    ("BRUSSELS", "upper"),
    ("iPhone", "mixed"),
    ("McDonald", "mixed"),
    ("O'Neill", "mixed"),
    ("eBay", "mixed"),
    ("1996", "digit"),
    ("3,000", "digit"),
    ("2-1", "digit"),
    ("-3", "digit"),
    (".", "other"),
    ("--", "other"),
    ("$", "other"),
    ("東京", "other"),
    ("", "other"),
]


@pytest.mark.parametrize("word, shape", TABLE)
def test_word_shapes(word, shape):
    assert word_shape(word) == shape
    assert SHAPES[shape_id(word)] == shape


def test_every_shape_but_none_is_in_the_table_and_none_is_id_0():
    assert {s for _, s in TABLE} == set(SHAPES) - {"none"}
    assert SHAPES[NONE] == "none" == SHAPES[0]


def test_pieces_take_their_words_shape_and_special_tokens_none(tokenizer):
    words = ["Kubernetes", "runs", "at", "NASA", "in", "1996", "."]
    encoded = tokenizer(words, is_split_into_words=True)
    word_ids = encoded.word_ids()
    shapes = piece_shapes(words, word_ids)
    assert len(shapes) == len(word_ids) and shapes[0] == shapes[-1] == NONE  # [CLS], [SEP]
    for piece, wid in zip(shapes, word_ids):
        assert piece == (NONE if wid is None else shape_id(words[wid]))
    assert len([w for w in word_ids if w == 0]) > 1, "Kubernetes must span several pieces, all of them title"
    # word ids as the aligned tables store them (-1 for special tokens) give the same shapes
    assert piece_shapes(words, [-1 if w is None else w for w in word_ids]) == shapes
