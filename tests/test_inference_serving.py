import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from mtl.inference.predict import predict_texts
from mtl.registry.pyfunc import MAX_BATCH, MAX_CHARS, MAX_CHARS_ENV, bad_input, max_chars_from_env, texts_from_input


def test_predict_texts_structure_offsets_and_probabilities(tiny_model):
    text = "Kubernetes, on a rainy day in Paris!"
    [answer] = predict_texts(tiny_model, [text], return_embeddings=True)
    assert answer["text"] == text
    assert answer["sentence_label"] in ("Technology", "Weather", "Other")
    assert sum(answer["sentence_probs"].values()) == pytest.approx(1.0, abs=1e-4)
    assert answer["sentence_score"] == max(answer["sentence_probs"].values())
    assert [w["word"] for w in answer["words"]] == ["Kubernetes", ",", "on", "a", "rainy", "day", "in", "Paris", "!"]
    assert all(text[w["start"] : w["end"]] == w["word"] for w in answer["words"])
    for entity in answer["entities"]:
        assert text[entity["start"] : entity["end"]] == entity["text"]
    assert len(answer["embedding"]) == 32 and np.linalg.norm(answer["embedding"]) == pytest.approx(1.0, abs=1e-4)


def test_predictions_do_not_depend_on_batch_company(tiny_model):
    texts = ["short one", "a much longer sentence about GPUs and heavy rain in the city of London today", "mid length sentence here"]
    together = predict_texts(tiny_model, texts, batch_size=3)
    alone = [predict_texts(tiny_model, [t])[0] for t in texts]
    for a, b in zip(together, alone):
        assert a["sentence_label"] == b["sentence_label"]
        assert [w["tag"] for w in a["words"]] == [w["tag"] for w in b["words"]]
        assert a["sentence_score"] == pytest.approx(b["sentence_score"], abs=1e-4)


def test_words_past_max_length_are_counted_compactly(make_tiny_model):
    model = make_tiny_model(max_length=8)
    text = " ".join(["word"] * 12)
    [answer, short] = predict_texts(model, [text, "two words"])
    assert len(answer["words"]) == 6  # 8 pieces - [CLS] - [SEP]
    assert answer["truncated_words"] == 6
    assert answer["truncated_start"] == 30 and text[30:] == " ".join(["word"] * 6)
    assert (short["truncated_words"], short["truncated_start"]) == (0, None)
    # a 40,000-character sentence: the answer stays small
    [huge] = predict_texts(model, ["x " * 20_000])
    assert len(huge["words"]) == 6 and huge["truncated_words"] == 20_000 - 6


def test_predict_texts_rejects_a_bare_string(tiny_model):
    with pytest.raises(TypeError):
        predict_texts(tiny_model, "one sentence")


@pytest.mark.parametrize(
    "model_input",
    [
        pd.DataFrame({"text": ["a", "b"]}),
        pd.DataFrame({"sentence": ["a", "b"]}),
        ["a", "b"],
        pd.Series(["a", "b"]),
        np.array(["a", "b"]),
        {"text": np.array(["a", "b"])},
    ],
)
def test_accepted_inputs(model_input):
    assert texts_from_input(model_input) == ["a", "b"]


# Every boundary of the served input, with the message that names it (docs/serving.md).
REJECTED = [
    (pd.DataFrame({"a": ["x"], "b": ["y"]}), "expected one column"),
    (pd.DataFrame({"text": ["x"], "x": [1]}), "got 2 columns"),
    ({"text": ["a"], "x": ["b"]}, "expected one key 'text'"),
    ([], "no sentences"),
    (["ok", 3], "sentence 1 is int 3, expected a string"),
    (["ok", 2.5], "sentence 1 is float 2.5, expected a string"),
    (["ok", None], "sentence 1 is NoneType None, expected a string"),
    (np.array([1984]), "sentence 0 is int 1984, expected a string"),
    (np.array([True]), "sentence 0 is bool True, expected a string"),
    (np.array([["a", "b"]]), "expected a flat list of sentences, got nested lists"),
    ([["a", "b"]], "expected a flat list of sentences, sentence 0 is a list"),
    (["ok", "  "], "sentence 1 is empty"),
    (["x"] * (MAX_BATCH + 1), "send at most 256"),
    (["x" * 60_000, "y" * 40_001], "more than 100000 characters"),
    (42, "expected a list of sentences"),
]


def test_a_string_is_always_a_sentence():
    """"1984" is a novel: every string is a sentence, also one MLflow's numpy parsing made from a number among strings."""
    assert texts_from_input(np.array(["1984", "true"])) == ["1984", "true"]
    assert texts_from_input(np.array(["ok", "5"])) == ["ok", "5"]  # {"inputs": ["ok", 5]}: numpy made the 5 text
    assert texts_from_input(pd.DataFrame({"text": ["1984"]})) == ["1984"]


@pytest.mark.parametrize("model_input, message", REJECTED)
def test_rejected_inputs_are_400_errors_with_a_message(model_input, message):
    with pytest.raises(MlflowException) as err:
        texts_from_input(model_input)
    assert message in err.value.message
    assert err.value.get_http_status_code() == 400


def test_character_budget_is_configurable(monkeypatch):
    assert texts_from_input(["x" * 60_000, "y" * 40_000]) == ["x" * 60_000, "y" * 40_000]  # exactly the budget
    with pytest.raises(MlflowException, match="more than 10 characters"):
        texts_from_input(["abcdef", "ghijk"], max_chars=10)
    monkeypatch.setenv(MAX_CHARS_ENV, "500")
    assert max_chars_from_env() == 500
    monkeypatch.setenv(MAX_CHARS_ENV, "lots")
    with pytest.raises(ValueError, match="MTL_MAX_CHARS must be a positive integer"):
        max_chars_from_env()
    monkeypatch.delenv(MAX_CHARS_ENV)
    assert max_chars_from_env() == MAX_CHARS == 100_000


def test_a_400_message_keeps_its_text_when_mlflow_rewrites_it():
    err = bad_input("sentence 1 is empty")
    err.message = f"Failed to predict data '{['x'] * 257}'. \nError: {err.message}"  # what the scoring server does
    assert err.message == "sentence 1 is empty"
    assert '"message": "sentence 1 is empty"' in err.serialize_as_json()


def test_pyfunc_params_choose_precision_and_reject_bad_values(tiny_model):
    from mtl.registry.pyfunc import MultiTaskPyfunc

    served = MultiTaskPyfunc()
    served.model = tiny_model
    texts = ["Heavy rain in Paris", "Kubernetes scales the cluster."]
    full = served.predict(None, texts)
    half = served.predict(None, texts, params={"precision": "bf16", "batch_size": 1})
    assert [a["text"] for a in half] == texts and [len(a["words"]) for a in half] == [len(a["words"]) for a in full]
    for params, message in (({"precision": "fp16"}, "unknown precision 'fp16': choose one of fp32, bf16"), ({"batch_size": 0}, "batch_size must be >= 1")):
        with pytest.raises(MlflowException) as err:
            served.predict(None, texts, params=params)
        assert message in err.value.message and err.value.get_http_status_code() == 400


def _rigged(make_tiny_model, decoding: str):
    """A tiny model whose token head scores every piece alike, I-TECH first and B-TECH second (so argmax is invalid IOB2)."""
    import dataclasses

    import torch

    model = make_tiny_model()
    model.config = dataclasses.replace(model.config, decoding=decoding)
    with torch.no_grad():
        model.token_head.classifier.weight.zero_()
        model.token_head.classifier.bias.copy_(torch.tensor([0.0, 1.0, 2.0, 0.0, 0.0]))  # O B-TECH I-TECH B-WEATHER I-WEATHER
    return model


def test_every_prediction_path_decodes_by_the_models_setting(make_tiny_model, tokenizer):
    from mtl.data.align import align_table
    from mtl.evaluation.evaluate import table_rows
    from mtl.registry.pyfunc import MultiTaskPyfunc

    text = "Kubernetes scales the cluster"
    p = np.exp([0.0, 1.0, 2.0, 0.0, 0.0]) / np.exp([0.0, 1.0, 2.0, 0.0, 0.0]).sum()
    table, _ = align_table(
        pd.DataFrame({"words": [text.split()], "word_tags": [["O"] * 4], "sentence_label": ["Other"]}),
        tokenizer, ["Technology", "Weather", "Other"], ["O", "B-TECH", "I-TECH", "B-WEATHER", "I-WEATHER"],
    )
    expected = {"argmax": ["I-TECH"] * 4, "viterbi": ["B-TECH"] + ["I-TECH"] * 3}
    for decoding, tags in expected.items():
        model = _rigged(make_tiny_model, decoding)
        [answer] = predict_texts(model, [text])
        assert [w["tag"] for w in answer["words"]] == tags, decoding
        # a word's score is the probability of the tag it was given, whichever decoding gave it
        assert [w["score"] for w in answer["words"]] == [round(float(p[model.config.token_labels.index(t)]), 6) for t in tags]
        served = MultiTaskPyfunc()
        served.model = model
        assert served.predict(None, [text]) == [answer]
        evaluated = table_rows(model, table).word_tag_ids[0]  # evaluation scores what is served
        assert [model.config.token_labels[t] for t in evaluated] == tags


def test_viterbi_predictions_are_valid_iob2_where_argmax_ones_are_not(make_tiny_model):
    import dataclasses

    from mtl.text.decoding import is_valid

    texts = ["Apple unveiled a new iPhone in California", "The weather in Paris is terrible today", "Heavy rain hit Kubernetes servers"] * 2
    valid = {}
    for decoding in ("argmax", "viterbi"):
        model = make_tiny_model()  # the same random weights each time
        model.config = dataclasses.replace(model.config, decoding=decoding)
        labels = model.config.token_labels
        valid[decoding] = [is_valid([w["tag"] for w in a["words"]], labels) for a in predict_texts(model, texts)]
    assert not all(valid["argmax"]), "the random head must give some invalid argmax sequence, or this test shows nothing"
    assert all(valid["viterbi"])


def test_importing_the_pyfunc_model_prints_no_mlflow_type_hint_warning():
    """Every export and every `mlflow models serve` start imports it: a warning there is noise to a user.

    A fresh interpreter, because MLflow shows this warning once per process.
    """
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", "import mtl.registry.pyfunc"], capture_output=True, text=True, timeout=120, check=True
    )
    assert "type hints" not in done.stderr, done.stderr
