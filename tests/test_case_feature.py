"""The case feature: word shapes as a learned vector before the token head, the same in training,
evaluation, prediction, serving and the ONNX graphs; models saved without it still load."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from mtl.data.align import align_table
from mtl.evaluation.evaluate import table_rows
from mtl.inference.predict import predict_texts
from mtl.model.multitask import MultiTaskModel
from mtl.text.shapes import NONE, SHAPES, piece_shapes
from mtl.training.collate import collate
from mtl.training.freezing import model_parameters

WORDS = [["Apple", "opened", "an", "office", "in", "NEW", "YORK", "."], ["apple", "pie", "in", "1996"]]


def _cased(make_tiny_model, seed: int = 1) -> MultiTaskModel:
    """A tiny model with the case feature and a random (not zero) case embedding, so shapes visibly change its tags."""
    model = make_tiny_model(case_feature=True)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        model.case_embedding.weight.copy_(3 * torch.randn(model.case_embedding.weight.shape, generator=generator))
        model.case_embedding.weight[NONE] = 0
    return model


def _inputs(model, words):
    encoded = model.tokenizer(words, is_split_into_words=True, padding=True, return_tensors="pt")
    case = [piece_shapes(w, encoded.word_ids(i)) for i, w in enumerate(words)]
    width = encoded["input_ids"].shape[1]
    case_ids = torch.tensor([c + [NONE] * (width - len(c)) for c in case])
    return encoded["input_ids"], encoded["attention_mask"], case_ids


def test_a_new_case_embedding_is_zero_so_the_model_starts_as_without_it(make_tiny_model):
    plain, cased = make_tiny_model(case_feature=False), make_tiny_model(case_feature=True)
    assert plain.case_embedding is None and plain.input_names == ("input_ids", "attention_mask")
    assert cased.input_names == ("input_ids", "attention_mask", "case_ids")
    assert cased.case_embedding.weight.shape == (len(SHAPES), 32) and not cased.case_embedding.weight.any()
    ids, mask, case_ids = _inputs(cased, WORDS)
    with torch.no_grad():
        assert torch.equal(plain(ids, mask).token_logits, cased(ids, mask, case_ids).token_logits)
    assert "case_embedding" in model_parameters(cased) and "case_embedding" not in model_parameters(plain)
    with pytest.raises(ValueError, match="has the case feature: pass case_ids"):
        cased(ids, mask)


def test_case_ids_change_the_token_logits_only(make_tiny_model):
    model = _cased(make_tiny_model)
    ids, mask, case_ids = _inputs(model, WORDS)
    with torch.no_grad():
        cased, flat = model(ids, mask, case_ids), model(ids, mask, torch.zeros_like(case_ids))
    assert not torch.allclose(cased.token_logits, flat.token_logits)
    assert torch.equal(cased.sentence_logits, flat.sentence_logits) and torch.equal(cased.embeddings, flat.embeddings)


def test_save_load_keeps_the_feature_and_old_configs_load_without_it(make_tiny_model, tmp_path):
    model = _cased(make_tiny_model)
    model.save(tmp_path / "m")
    loaded = MultiTaskModel.load(tmp_path / "m")
    assert loaded.config == model.config and loaded.config.case_feature
    assert torch.equal(loaded.case_embedding.weight, model.case_embedding.weight)
    assert predict_texts(loaded, [" ".join(w) for w in WORDS]) == predict_texts(model, [" ".join(w) for w in WORDS])
    # a model saved before the case feature existed: no key, no weights; it loads and predicts as before
    make_tiny_model(case_feature=False).save(tmp_path / "old")
    config_file = tmp_path / "old" / "config.json"
    config = json.loads(config_file.read_text())
    del config["case_feature"]
    config_file.write_text(json.dumps(config))
    old = MultiTaskModel.load(tmp_path / "old")
    assert not old.config.case_feature and old.case_embedding is None
    assert predict_texts(old, ["Apple in Paris"]) == predict_texts(make_tiny_model(case_feature=False), ["Apple in Paris"])


def test_evaluation_and_prediction_give_the_same_case_ids_and_tags(make_tiny_model, tokenizer):
    """evaluate_table's rows (aligned tables) and predict_texts (free text) compute the shapes alike."""
    model = _cased(make_tiny_model)
    table, _ = align_table(
        pd.DataFrame({"words": WORDS, "word_tags": [["O"] * len(w) for w in WORDS], "sentence_label": ["Other"] * 2}),
        tokenizer, model.config.sentence_labels, model.config.token_labels,
    )
    rows = table_rows(model, table)
    answers = predict_texts(model, [" ".join(w) for w in WORDS])
    for i, answer in enumerate(answers):
        assert [model.config.token_labels[t] for t in rows.word_tag_ids[i]] == [w["tag"] for w in answer["words"]]
        np.testing.assert_allclose(rows.word_scores[i], [w["score"] for w in answer["words"]], atol=1e-6)
    # and the shapes matter: the same words in lower case get other scores
    lower = predict_texts(model, [" ".join(w).lower() for w in WORDS])
    assert [[w["score"] for w in a["words"]] for a in lower] != [[w["score"] for w in a["words"]] for a in answers]


def test_collate_pads_case_ids_with_none():
    batch = collate([([101, 7, 102], [-100, 0, -100], 1), ([101, 102], [-100, -100], 0)], 0, {"case_ids": [[0, 2, 0], [0, 0]]})
    assert batch["case_ids"].tolist() == [[0, 2, 0], [0, 0, NONE]]
    assert "case_ids" not in collate([([101, 102], [-100, -100], 0)], 0)


def test_training_learns_the_case_embedding_and_keeps_none_at_zero(make_tiny_model, tokenizer):
    from mtl.config.params import TrainConfig
    from mtl.data.align import align_tables
    from mtl.data.sources import label_sets, prepare_example
    from mtl.data.tables import by_role
    from mtl.training.loop import train

    encoded, _ = align_tables(prepare_example(120, seed=1), tokenizer, label_sets("example"), "first", 64)
    model = make_tiny_model(case_feature=True)
    cfg = TrainConfig(epochs=1, batch_size=16, learning_rate=1e-3, head_learning_rate=3e-3, warmup_ratio=0.0, seed=0)
    train(model, by_role(encoded, "train"), {}, cfg, log=lambda _: None)
    weight = model.case_embedding.weight.detach()
    assert not weight[NONE].any()
    used = {SHAPES.index(s) for s in ("lower", "title")}  # the example data's words are mostly these
    assert all(weight[i].abs().sum() > 0 for i in used)
