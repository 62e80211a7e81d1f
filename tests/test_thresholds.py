"""A confidence threshold drops whole entities, never single words, and every surface applies the same one."""

from __future__ import annotations

import json

import pytest

from mtl.apps.webapp import apply_thresholds
from mtl.inference.predict import predict_texts
from mtl.text.decoding import is_valid
from mtl.text.entities import keep_confident
from mtl.text.words import split_words

CONLL = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
TEXT = "Shares fell on the New York Stock Exchange today"
# the B- of the exchange scores 0.45, under the default 0.5; its I- words score high
TAGS = ["O", "O", "O", "O", "B-ORG", "I-ORG", "I-ORG", "I-ORG", "O"]
SCORES = [0.99, 0.98, 0.99, 0.97, 0.45, 0.9, 0.91, 0.92, 0.99]


def test_an_entity_is_kept_or_dropped_whole_and_the_tags_stay_iob2():
    words, offsets = split_words(TEXT)
    assert len(words) == len(TAGS)
    tags, kept = keep_confident(TEXT, TAGS, offsets, SCORES, 0.5)
    # the entity's score is its words' mean, 0.795: kept whole, not cut to "York Stock Exchange"
    assert [(e.type, e.text) for e in kept] == [("ORG", "New York Stock Exchange")] and tags == TAGS
    tags, kept = keep_confident(TEXT, TAGS, offsets, SCORES, 0.8)
    assert kept == [] and tags == ["O"] * len(TAGS)
    for threshold in (0.0, 0.3, 0.5, 0.7, 0.8, 1.0):
        assert is_valid(keep_confident(TEXT, TAGS, offsets, SCORES, threshold)[0], CONLL), threshold
    with pytest.raises(ValueError, match="between 0 and 1"):
        keep_confident(TEXT, TAGS, offsets, SCORES, 1.5)


def test_the_app_shows_the_whole_entity_where_the_word_threshold_cut_it():
    words, offsets = split_words(TEXT)
    answer = {
        "text": TEXT, "sentence_label": "negative", "sentence_score": 0.9, "sentence_probs": {"negative": 0.9, "positive": 0.1},
        "words": [{"word": w, "start": s, "end": e, "tag": t, "score": p} for w, (s, e), t, p in zip(words, offsets, TAGS, SCORES)],
        "entities": [],
    }
    shown = apply_thresholds(answer, 0.5, 0.5)
    assert [e["text"] for e in shown["entities"]] == ["New York Stock Exchange"]
    assert is_valid([w["tag"] for w in shown["words"]], CONLL)


SENTENCES = ["Peter Blackburn flew from Brussels to New York on Monday .", "EU rejects German call to boycott British lamb ."]


def test_predict_the_app_and_the_cli_agree_at_every_threshold(make_tiny_model, tmp_path, capsys):
    """The same entities for the same threshold: predict_texts (the served path), the app on a cached answer, mtl predict."""
    from mtl.apps.cli import main

    model = make_tiny_model(sentence_labels=["negative", "positive"], token_labels=CONLL)
    model.save(tmp_path / "model")
    raw = predict_texts(model, SENTENCES)
    assert any(a["entities"] for a in raw)  # a random head tags something, so the thresholds below have work to do
    for threshold in (0.0, 0.2, 0.25, 0.3, 0.5, 1.0):
        served = predict_texts(model, SENTENCES, threshold=threshold)
        app = [apply_thresholds(a, 0.0, threshold) for a in raw]
        assert [a["entities"] for a in served] == [a["entities"] for a in app], threshold
        assert [[w["tag"] for w in a["words"]] for a in served] == [[w["tag"] for w in a["words"]] for a in app], threshold
        main(["predict", "--model_path", str(tmp_path / "model"), "--json", "--threshold", str(threshold), *SENTENCES])
        assert json.loads(capsys.readouterr().out) == served
    counts = [sum(len(a["entities"]) for a in predict_texts(model, SENTENCES, threshold=t)) for t in (0.0, 0.3, 1.0)]
    assert counts[0] >= counts[1] >= counts[2] == 0 and counts[0] > 0


def test_the_apps_embedding_is_the_served_one_and_encode_keeps_sentence_transformers_tokens(make_tiny_model):
    """One tokenisation for what the app shows and the model serves; `encode` stays sentence-transformers' (raw text)."""
    import numpy as np

    from mtl.apps.webapp import LoadedModel, analyse

    model = make_tiny_model()
    sentence = "I don't like rainy Mondays"
    served = np.array(predict_texts(model, [sentence], return_embeddings=True)[0]["embedding"])
    shown = analyse(LoadedModel("test", model.encoder, model), [sentence], model.config.pooling)["embeddings"][0]
    assert np.allclose(shown, served, atol=1e-6)
    # the documented difference: encode() tokenises the raw text ("don't" one word), the served path the words ("do", "n't")
    raw = model.encoder.encode([sentence])[0]
    raw = raw / np.linalg.norm(raw)
    assert split_words(sentence)[0] == ["I", "do", "n't", "like", "rainy", "Mondays"]
    assert not np.allclose(raw, served, atol=1e-4) and float(raw @ served) > 0.9
