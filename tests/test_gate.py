"""The champion/challenger gate: thresholds, the current champion, missing scores, ties, tolerance, and the split it reads."""

import pytest
from mlflow.entities.model_registry import ModelVersion, ModelVersionTag

from mtl.registry.gate import decide, parse_score, selection_scores
from mtl.registry.versions import recorded_scores

THRESHOLDS = {"sentence_accuracy": 0.8, "entity_f1": 0.6}
# the real pipeline's gated scores: SST-2 dev (SST-2 validation is held out) and CoNLL-2003 validation
CANDIDATE = {"sst2.dev.sentence_accuracy": 0.85, "conll2003.validation.entity_f1": 0.84}


def test_first_model_needs_only_the_thresholds():
    decision = decide(CANDIDATE, THRESHOLDS, champion=None)
    assert decision.promote and decision.failures == []
    assert {c.kind for c in decision.checks} == {"threshold"}


def test_passes_thresholds_and_beats_the_champion():
    champion = {"sst2.dev.sentence_accuracy": 0.84, "conll2003.validation.entity_f1": 0.80}
    decision = decide(CANDIDATE, THRESHOLDS, champion)
    assert decision.promote
    assert sum(c.kind == "champion" for c in decision.checks) == 2


def test_fails_a_threshold_and_says_which_with_both_numbers():
    decision = decide({**CANDIDATE, "conll2003.validation.entity_f1": 0.55}, THRESHOLDS)
    assert not decision.promote
    assert decision.failures == ["conll2003.validation.entity_f1 0.5500 < 0.6000 (the threshold)"]


def test_sst2_dev_below_its_threshold_fails_the_gate():
    decision = decide({**CANDIDATE, "sst2.dev.sentence_accuracy": 0.79}, THRESHOLDS)
    assert decision.failures == ["sst2.dev.sentence_accuracy 0.7900 < 0.8000 (the threshold)"]


def test_worse_than_the_champion_on_one_task_loses():
    champion = {"sst2.dev.sentence_accuracy": 0.86, "conll2003.validation.entity_f1": 0.80}
    decision = decide(CANDIDATE, THRESHOLDS, champion)
    assert not decision.promote
    assert decision.failures == ["sst2.dev.sentence_accuracy 0.8500 < 0.8600 (the champion (less tolerance))"]


def test_tolerance_forgives_a_small_loss_only():
    champion = {"sst2.dev.sentence_accuracy": 0.86, "conll2003.validation.entity_f1": 0.80}
    assert decide(CANDIDATE, THRESHOLDS, champion, tolerance=0.01).promote
    assert not decide(CANDIDATE, THRESHOLDS, champion, tolerance=0.005).promote
    with pytest.raises(ValueError, match="tolerance"):
        decide(CANDIDATE, THRESHOLDS, champion, tolerance=-0.1)


def test_a_missing_score_fails_even_a_zero_threshold():
    decision = decide({"sst2.dev.sentence_accuracy": 0.9}, {"sentence_accuracy": 0.0, "entity_f1": 0.0})
    assert not decision.promote
    assert decision.failures == ["*.*.entity_f1 missing < 0.0000 (the threshold): no such score on any selection split"]


def test_equal_scores_pass():
    assert decide(CANDIDATE, THRESHOLDS, dict(CANDIDATE)).promote


def test_one_sst2_dev_sentence_worse_loses_and_float_noise_does_not():
    """The tie margin is float noise, not a sentence: 737 of 872 right against the champion's 738 loses."""
    champion = {"sst2.dev.sentence_accuracy": 738 / 872, "conll2003.validation.entity_f1": 0.84}
    one_worse = {**champion, "sst2.dev.sentence_accuracy": 737 / 872}
    decision = decide(one_worse, THRESHOLDS, champion)
    assert not decision.promote
    assert decision.failures == ["sst2.dev.sentence_accuracy 0.8452 < 0.8463 (the champion (less tolerance))"]
    # the same accuracy computed another way (a sum of 872 per-sentence shares) still counts as equal
    noisy = sum([1 / 872] * 738)
    assert noisy != 738 / 872 and decide({**champion, "sst2.dev.sentence_accuracy": noisy}, THRESHOLDS, champion).promote


def test_a_champion_score_the_candidate_lacks_fails():
    """A candidate that cannot show the champion's SST-2 dev score is not shown to be as good, whatever else it has."""
    champion = {"sst2.dev.sentence_accuracy": 0.5, "conll2003.validation.entity_f1": 0.5}
    candidate = {"example.validation.sentence_accuracy": 0.99, "conll2003.validation.entity_f1": 0.9}
    decision = decide(candidate, THRESHOLDS, champion)
    assert not decision.promote
    assert decision.failures == ["sst2.dev.sentence_accuracy missing < 0.5000 (the champion (less tolerance)): the candidate has no such score"]


def test_scores_on_a_different_selection_set_are_not_compared():
    champion = {"sst2.dev.sentence_accuracy": 0.5, "conll2003.validation.entity_f1": 0.5}
    comparable = {"sst2.dev.sentence_accuracy": False, "conll2003.validation.entity_f1": True}
    decision = decide(CANDIDATE, THRESHOLDS, champion, comparable=comparable)
    assert not decision.promote
    assert decision.failures == [
        "sst2.dev.sentence_accuracy 0.8500 < 0.5000 (the champion (less tolerance)): selection set differs from the champion's"
    ]


def test_a_champion_chosen_on_sst2_validation_is_never_compared_with_a_dev_score():
    """A champion registered before the dev split: its SST-2 score is on validation, ours on dev; CoNLL still compares."""
    champion = {"sst2.validation.sentence_accuracy": 0.5, "conll2003.validation.entity_f1": 0.8}
    decision = decide(CANDIDATE, THRESHOLDS, champion)
    assert not decision.promote
    assert decision.failures == [
        "sst2.dev.sentence_accuracy 0.8500 < 0.5000 (the champion (less tolerance)): "
        "the champion's score is on sst2.validation, a different split: never compared"
    ]
    assert [c.passed for c in decision.checks if c.score.startswith("conll2003")] == [True, True]  # threshold, champion


def test_selection_scores_read_sst2_dev_and_conll_validation_only():
    scores = {
        "sst2": {"dev": {"sentence_accuracy": 0.85, "sentence_macro_f1": 0.84}, "validation": {"sentence_accuracy": 0.99}},
        "conll2003": {"validation": {"entity_f1": 0.84, "entity_precision": 0.83}, "test": {"entity_f1": 0.99}},
    }
    assert selection_scores(scores) == {"sst2.dev.sentence_accuracy": 0.85, "conll2003.validation.entity_f1": 0.84}
    # the example data has no dev split: its validation split still chooses
    example = {"example": {"validation": {"sentence_accuracy": 0.9, "entity_f1": 0.8}, "test": {"sentence_accuracy": 1.0}}}
    assert selection_scores(example) == {"example.validation.sentence_accuracy": 0.9, "example.validation.entity_f1": 0.8}


def test_a_held_out_score_can_neither_pass_nor_fail_the_gate():
    """SST-2 validation is reported, never gated: a perfect or a hopeless held-out score changes nothing."""
    base = {"sst2": {"dev": {"sentence_accuracy": 0.85}}, "conll2003": {"validation": {"entity_f1": 0.84}}}
    verdicts = set()
    for held_out in (0.0, 1.0):
        scores = {**base, "sst2": {**base["sst2"], "validation": {"sentence_accuracy": held_out}}}
        verdicts.add(decide(selection_scores(scores), THRESHOLDS).as_dict()["passed"])
    assert verdicts == {True}


def test_score_names_have_three_parts():
    assert parse_score("sst2.dev.sentence_accuracy") == ("sst2", "dev", "sentence_accuracy")
    with pytest.raises(ValueError, match="not <dataset>.<split>.<metric>"):
        parse_score("sst2.sentence_accuracy")


def _version(tags: dict[str, str]) -> ModelVersion:
    return ModelVersion("mtl-pipeline", "1", 0, tags=[ModelVersionTag(k, v) for k, v in tags.items()])


def test_recorded_fingerprints_are_keyed_by_data_set_and_split_old_ones_too():
    new = _version({"score.sst2.dev.sentence_accuracy": "0.85", "selection_md5.sst2.dev": "a", "selection_md5.conll2003.validation": "b"})
    assert recorded_scores(new) == ({"sst2.dev.sentence_accuracy": 0.85}, {"sst2.dev": "a", "conll2003.validation": "b"})
    # versions registered before the dev split fingerprinted each validation split as validation_md5.<dataset>
    old = _version({"score.conll2003.validation.entity_f1": "0.8", "validation_md5.conll2003": "b", "validation_md5.sst2": "c"})
    assert recorded_scores(old)[1] == {"conll2003.validation": "b", "sst2.validation": "c"}


def test_export_fingerprints_the_selection_sets_only(tmp_path):
    """A changed held-out set (SST-2 validation) leaves the gate's comparison alone; a changed dev set does not."""
    import pandas as pd

    from mtl.data.readers import COLUMNS
    from mtl.data.tables import read_tables, selection_fingerprints, write_tables

    def table(*texts):
        return pd.DataFrame([{"text": t, "words": t.split(), "word_tags": None, "sentence_label": "positive"} for t in texts], columns=list(COLUMNS))

    tables = {"sst2/train": table("a"), "sst2/dev": table("b"), "sst2/validation": table("c"), "conll2003/validation": table("d"), "conll2003/test": table("e")}
    write_tables(tables, tmp_path / "one")
    write_tables({**tables, "sst2/validation": table("other")}, tmp_path / "two")
    write_tables({**tables, "sst2/dev": table("other")}, tmp_path / "three")
    one, two, three = (selection_fingerprints(read_tables(tmp_path / name)) for name in ("one", "two", "three"))
    assert set(one) == {"sst2.dev", "conll2003.validation"}
    assert one == two and one["sst2.dev"] != three["sst2.dev"]
