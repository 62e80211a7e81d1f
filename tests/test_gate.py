"""The champion/challenger gate: thresholds, the current champion, missing scores, ties and tolerance."""

import pytest

from mtl.gate import decide, validation_scores

THRESHOLDS = {"sentence_accuracy": 0.8, "entity_f1": 0.6}
CANDIDATE = {"sst2.validation.sentence_accuracy": 0.85, "conll2003.validation.entity_f1": 0.84}


def test_first_model_needs_only_the_thresholds():
    decision = decide(CANDIDATE, THRESHOLDS, champion=None)
    assert decision.promote and decision.failures == []
    assert {c.kind for c in decision.checks} == {"threshold"}


def test_passes_thresholds_and_beats_the_champion():
    champion = {"sst2.validation.sentence_accuracy": 0.84, "conll2003.validation.entity_f1": 0.80}
    decision = decide(CANDIDATE, THRESHOLDS, champion)
    assert decision.promote
    assert sum(c.kind == "champion" for c in decision.checks) == 2


def test_fails_a_threshold_and_says_which_with_both_numbers():
    decision = decide({**CANDIDATE, "conll2003.validation.entity_f1": 0.55}, THRESHOLDS)
    assert not decision.promote
    assert decision.failures == ["conll2003.validation.entity_f1 0.5500 < 0.6000 (the threshold)"]


def test_worse_than_the_champion_on_one_task_loses():
    champion = {"sst2.validation.sentence_accuracy": 0.86, "conll2003.validation.entity_f1": 0.80}
    decision = decide(CANDIDATE, THRESHOLDS, champion)
    assert not decision.promote
    assert decision.failures == ["sst2.validation.sentence_accuracy 0.8500 < 0.8600 (the champion (less tolerance))"]


def test_tolerance_forgives_a_small_loss_only():
    champion = {"sst2.validation.sentence_accuracy": 0.86, "conll2003.validation.entity_f1": 0.80}
    assert decide(CANDIDATE, THRESHOLDS, champion, tolerance=0.01).promote
    assert not decide(CANDIDATE, THRESHOLDS, champion, tolerance=0.005).promote
    with pytest.raises(ValueError, match="tolerance"):
        decide(CANDIDATE, THRESHOLDS, champion, tolerance=-0.1)


def test_a_missing_score_fails_even_a_zero_threshold():
    decision = decide({"sst2.validation.sentence_accuracy": 0.9}, {"sentence_accuracy": 0.0, "entity_f1": 0.0})
    assert not decision.promote
    assert decision.failures == ["*.validation.entity_f1 missing < 0.0000 (the threshold): no such score"]


def test_equal_scores_pass():
    assert decide(CANDIDATE, THRESHOLDS, dict(CANDIDATE)).promote


def test_scores_on_a_different_validation_set_are_not_compared():
    champion = {"sst2.validation.sentence_accuracy": 0.5, "conll2003.validation.entity_f1": 0.5}
    comparable = {"sst2.validation.sentence_accuracy": False, "conll2003.validation.entity_f1": True}
    decision = decide(CANDIDATE, THRESHOLDS, champion, comparable=comparable)
    assert not decision.promote
    assert decision.failures == [
        "sst2.validation.sentence_accuracy 0.8500 < 0.5000 (the champion (less tolerance)): validation set differs from the champion's"
    ]


def test_validation_scores_reads_only_validation_splits_and_gated_metrics():
    metrics = {
        "sst2": {"validation": {"sentence_accuracy": 0.85, "sentence_macro_f1": 0.84}},
        "conll2003": {"validation": {"entity_f1": 0.84, "entity_precision": 0.83}, "test": {"entity_f1": 0.81}},
    }
    assert validation_scores(metrics) == {"sst2.validation.sentence_accuracy": 0.85, "conll2003.validation.entity_f1": 0.84}
