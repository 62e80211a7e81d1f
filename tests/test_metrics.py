import pytest

from mtl.evaluation.metrics import sentence_metrics, token_metrics


def test_sentence_metrics():
    m = sentence_metrics(["a", "a", "b", "c"], ["a", "b", "b", "c"], ["a", "b", "c"])
    assert m["accuracy"] == 0.75
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    assert m["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)


def test_token_metrics_are_entity_level():
    true = [["B-TECH", "I-TECH", "O", "B-WEATHER"]]
    pred = [["B-TECH", "O", "O", "B-WEATHER"]]  # TECH span cut short: wrong entity, though 3/4 tags match
    m = token_metrics(true, pred)
    assert m["precision"] == 0.5 and m["recall"] == 0.5
    assert m["per_type"]["TECH"]["f1"] == 0.0 and m["per_type"]["WEATHER"]["f1"] == 1.0
    assert m["support"] == 2


def test_span_metrics_need_exact_span_and_type():
    from mtl.evaluation.metrics import span_metrics

    gold = [[(0, 4, "LOC"), (10, 15, "PER")], [(3, 8, "ORG")]]
    pred = [[(0, 4, "LOC"), (10, 14, "PER")], [(3, 8, "LOC"), (20, 25, "ORG")]]
    m = span_metrics(gold, pred)
    assert (m["support"], m["predicted"]) == (3, 4)
    assert m["precision"] == pytest.approx(1 / 4) and m["recall"] == pytest.approx(1 / 3)
    assert m["f1"] == pytest.approx(2 * (1 / 4) * (1 / 3) / (1 / 4 + 1 / 3))
    assert span_metrics([[]], [[]])["f1"] == 0.0
