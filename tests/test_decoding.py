"""Word-tag decoding on hand-made score tables: argmax, and Viterbi under the IOB2 constraints."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mtl.config.options import DECODINGS, check_decoding
from mtl.text.decoding import argmax_path, decode, is_valid, transition_masks, viterbi_path

CONLL = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")


def table(rows: list[dict[str, float]], labels=CONLL, rest: float = 0.01) -> np.ndarray:
    """Log-probabilities (words, labels) from a few named probabilities per word; every other label gets ``rest``."""
    probs = np.full((len(rows), len(labels)), rest)
    for i, row in enumerate(rows):
        for tag, p in row.items():
            probs[i, labels.index(tag)] = p
    return np.log(probs / probs.sum(1, keepdims=True))


def tags(ids, labels=CONLL) -> list[str]:
    return [labels[i] for i in ids]


def test_masks_follow_iob2():
    start, allowed = transition_masks(CONLL)
    assert [t for t, ok in zip(CONLL, start) if not ok] == ["I-PER", "I-ORG", "I-LOC", "I-MISC"]
    i = CONLL.index
    assert allowed[i("B-PER"), i("I-PER")] and allowed[i("I-PER"), i("I-PER")]
    assert not allowed[i("O"), i("I-PER")] and not allowed[i("I-LOC"), i("I-PER")] and not allowed[i("B-ORG"), i("I-PER")]
    # O and B-X may follow anything
    assert allowed[:, [i("O"), i("B-PER"), i("B-MISC")]].all()
    assert allowed.sum() == 9 * 5 + 4 * 2


def test_argmax_gives_an_invalid_sequence_and_viterbi_fixes_it():
    # "Peter Blackburn": argmax says O I-PER (an I- after O); the best valid sequence is B-PER I-PER
    scores = table([{"O": 0.5, "B-PER": 0.4}, {"I-PER": 0.9}])
    assert tags(argmax_path(scores)) == ["O", "I-PER"]
    assert not is_valid(["O", "I-PER"], CONLL)
    assert tags(decode(scores, CONLL, "viterbi")) == ["B-PER", "I-PER"]
    assert tags(decode(scores, CONLL, "argmax")) == ["O", "I-PER"]


def test_viterbi_never_starts_with_i_nor_changes_type_inside_an_entity():
    starts_inside = table([{"I-ORG": 0.6, "B-ORG": 0.3}, {"O": 0.9}])
    assert tags(argmax_path(starts_inside)) == ["I-ORG", "O"]
    assert tags(viterbi_path(starts_inside, *transition_masks(CONLL))) == ["B-ORG", "O"]
    # B-PER then I-LOC: keeping B-PER (0.8) and switching to B-LOC (0.3) beats I-PER (0.05) and B-LOC first (0.1)
    switches = table([{"B-PER": 0.8, "B-LOC": 0.1}, {"I-LOC": 0.6, "B-LOC": 0.3, "I-PER": 0.05}])
    assert tags(argmax_path(switches)) == ["B-PER", "I-LOC"]
    assert tags(decode(switches, CONLL)) == ["B-PER", "B-LOC"]


def test_all_o_and_valid_argmax_sequences_are_left_alone():
    all_o = table([{"O": 0.9}] * 6)
    assert tags(decode(all_o, CONLL)) == ["O"] * 6
    valid = table([{"B-ORG": 0.7}, {"I-ORG": 0.6, "O": 0.3}, {"O": 0.8}, {"B-LOC": 0.5, "I-LOC": 0.4}])
    assert tags(decode(valid, CONLL)) == tags(argmax_path(valid)) == ["B-ORG", "I-ORG", "O", "B-LOC"]


def test_single_word_and_empty_sentence():
    single = table([{"I-PER": 0.7, "B-PER": 0.2}])
    assert tags(decode(single, CONLL)) == ["B-PER"]
    assert tags(decode(single, CONLL, "argmax")) == ["I-PER"]
    empty = np.zeros((0, len(CONLL)))
    assert decode(empty, CONLL).tolist() == [] and decode(empty, CONLL, "argmax").tolist() == []


def test_labels_without_bio_structure_are_unconstrained():
    rng = np.random.default_rng(0)
    for labels in (("O", "PER", "LOC", "ORG"), ("O", "I-PER", "I-LOC")):  # plain tags; IOB1 (I- starts entities)
        start, allowed = transition_masks(labels)
        assert start.all() and allowed.all(), labels
        for _ in range(20):
            scores = np.log(rng.dirichlet(np.ones(len(labels)), size=int(rng.integers(1, 8))))
            assert decode(scores, labels).tolist() == argmax_path(scores).tolist()


def test_ties_go_to_the_lower_label_index():
    flat = np.zeros((4, len(CONLL)))
    assert tags(decode(flat, CONLL)) == tags(argmax_path(flat)) == ["O"] * 4
    # B-PER I-PER and B-LOC I-LOC score the same: the lower ids win, as argmax's would
    tied = table([{"B-PER": 0.45, "B-LOC": 0.45}, {"I-PER": 0.45, "I-LOC": 0.45}])
    assert tags(decode(tied, CONLL)) == ["B-PER", "I-PER"]


def test_viterbi_is_the_best_valid_sequence_by_brute_force():
    labels = ("O", "B-A", "I-A", "B-B", "I-B")
    start, allowed = transition_masks(labels)
    rng = np.random.default_rng(42)
    for _ in range(30):
        n = int(rng.integers(1, 5))
        scores = np.log(rng.dirichlet(np.full(len(labels), 0.5), size=n))
        best = max(
            (p for p in itertools.product(range(len(labels)), repeat=n) if is_valid([labels[i] for i in p], labels)),
            key=lambda p: sum(scores[t, i] for t, i in enumerate(p)),
        )
        path = viterbi_path(scores, start, allowed)
        assert is_valid(tags(path, labels), labels)
        assert path.tolist() == list(best)


def test_decoding_values_are_checked_with_the_valid_list():
    assert DECODINGS == ("viterbi", "argmax") and check_decoding("argmax") == "argmax"
    with pytest.raises(ValueError, match="unknown decoding 'crf': choose one of viterbi, argmax"):
        check_decoding("crf")
    with pytest.raises(ValueError, match="unknown decoding 'greedy'"):
        decode(np.zeros((1, len(CONLL))), CONLL, "greedy")
    with pytest.raises(ValueError, match="3 scores per word for 9 labels"):
        decode(np.zeros((2, 3)), CONLL)
