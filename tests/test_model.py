import numpy as np
import pytest
import torch

from mtl.config.model import ModelConfig
from mtl.config.options import check_freeze
from mtl.model.encoder import SentenceEncoder, cosine_similarity
from mtl.model.multitask import MultiTaskModel
from mtl.training.freezing import freeze

SENTENCES = ["Kubernetes scales the cluster.", "Heavy rain in Paris", "I had pasta for lunch with my friends today", "ok"]


def _batch(model, sentences=SENTENCES) -> tuple[torch.Tensor, ...]:
    """``model``'s inputs for ``sentences``, in ``forward``'s order (case ids too with the case feature)."""
    from mtl.runtime.batching import pad_extra

    words = [s.split() for s in sentences]
    b = model.tokenizer(words, is_split_into_words=True, padding=True, return_tensors="pt")
    extra = pad_extra(model.extra_inputs(words, [b.word_ids(i) for i in range(len(words))]), b["input_ids"].shape[1])
    return (b["input_ids"], b["attention_mask"], *(torch.from_numpy(v) for v in extra.values()))


def test_one_forward_pass_gives_both_tasks(tiny_model):
    b = _batch(tiny_model)
    with torch.no_grad():
        out = tiny_model(*b)
    assert out.sentence_logits.shape == (4, 3)
    assert out.token_logits.shape == (4, b[0].shape[1], 5)
    assert out.embeddings.shape == (4, 32)


def test_save_load_gives_bit_identical_logits(make_tiny_model, tmp_path):
    model = make_tiny_model(pooling="max")
    b = _batch(model)
    with torch.no_grad():
        before = model(*b)
    model.save(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "config.json", "labels.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"
    ]
    assert not list(tmp_path.rglob("*.pkl")) and not list(tmp_path.rglob("*.bin"))
    loaded = MultiTaskModel.load(tmp_path / "m")
    assert loaded.config == model.config
    with torch.no_grad():
        after = loaded(*b)
    assert torch.equal(before.sentence_logits, after.sentence_logits)
    assert torch.equal(before.token_logits, after.token_logits)


def test_saved_files_do_not_depend_on_where_the_backbone_was_loaded_from(make_tiny_model, tmp_path):
    model = make_tiny_model()
    model.encoder.backbone.config._name_or_path = "/some/machine/specific/path"
    model.save(tmp_path / "m")
    assert "/some/machine" not in (tmp_path / "m" / "config.json").read_text()


def test_load_rejects_a_directory_that_is_not_a_model(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a saved mtl model"):
        MultiTaskModel.load(tmp_path)


@pytest.mark.parametrize(
    "spec, frozen_parts",
    [("none", set()), ("embeddings", {"embeddings"}), ("layers:1", {"embeddings"}), ("encoder", {"embeddings", "layers"})],
)
def test_freezing_counts(make_tiny_model, spec, frozen_parts):
    model = make_tiny_model()
    report = freeze(model, spec)
    for part in ("embeddings", "layers", "sentence_head", "token_head"):
        counts = report[part]
        if part in frozen_parts:
            assert counts["trainable"] == 0 and counts["frozen"] > 0, part
        elif part == "layers" and spec == "layers:1":
            assert counts["trainable"] == counts["frozen"] > 0  # two identical layers, one frozen
        else:
            assert counts["frozen"] == 0 and counts["trainable"] > 0, part


def test_freeze_validation(make_tiny_model):
    with pytest.raises(ValueError, match="none, embeddings, layers:N, encoder"):
        check_freeze("half")
    with pytest.raises(ValueError, match="more layers"):
        freeze(make_tiny_model(), "layers:9")


def test_model_config_validates_pooling_and_decoding():
    with pytest.raises(ValueError, match="mean, max, cls"):
        ModelConfig(name="x", sentence_labels=["a", "b"], token_labels=["O", "B-X"], pooling="sum")
    with pytest.raises(ValueError, match="unknown decoding 'beam': choose one of viterbi, argmax"):
        ModelConfig(name="x", sentence_labels=["a", "b"], token_labels=["O", "B-X"], decoding="beam")


def test_model_config_is_the_params_section_plus_labels_and_data():
    """One type: a model built in code (the CLI, tests) has params.yaml's settings, declared once, in ModelParams."""
    from mtl.config.params import ModelParams

    assert issubclass(ModelConfig, ModelParams)
    params = ModelParams(pooling="max", max_length=64, decoding="argmax")
    config = ModelConfig.from_params(params, sentence_labels=["a", "b"], token_labels=["O", "B-X"], data_source="example")
    assert config.params == params and config.backbone == params.name == ModelParams().name
    with pytest.raises(ValueError, match="greater than or equal to 8"):
        ModelConfig(name="x", sentence_labels=["a", "b"], token_labels=["O", "B-X"], max_length=4)


def test_config_json_keeps_the_keys_every_saved_model_has(make_tiny_model, tmp_path):
    """config.json's keys are the saved format (mtl-model/1): the same bytes keep a model's DVC hash."""
    import json

    make_tiny_model().save(tmp_path / "m")
    saved = json.loads((tmp_path / "m" / "config.json").read_text())
    assert sorted(saved) == [
        "alignment", "backbone", "case_feature", "data_source", "decoding", "dropout", "encoder", "extra", "format", "max_length", "pooling"
    ]
    assert saved["backbone"] == "tiny-random-bert"
    assert MultiTaskModel.load(tmp_path / "m").config == make_tiny_model().config


def test_decoding_is_saved_and_a_config_saved_without_it_loads_as_argmax(make_tiny_model, tmp_path):
    import dataclasses
    import json

    model = make_tiny_model()
    model.config = dataclasses.replace(model.config, decoding="viterbi")
    model.save(tmp_path / "m")
    config_file = tmp_path / "m" / "config.json"
    assert json.loads(config_file.read_text())["decoding"] == "viterbi"
    assert MultiTaskModel.load(tmp_path / "m").config.decoding == "viterbi"
    # a model saved before decoding was a setting was decoded by argmax, and still is
    old = json.loads(config_file.read_text())
    del old["decoding"]
    config_file.write_text(json.dumps(old))
    assert MultiTaskModel.load(tmp_path / "m").config.decoding == "argmax"


def test_encode_restores_input_order_and_matches_one_by_one(make_tiny_model):
    encoder = make_tiny_model().encoder
    together = encoder.encode(SENTENCES, batch_size=2)
    alone = np.stack([encoder.encode([s])[0] for s in SENTENCES])
    assert together.dtype == np.float32 and together.shape == (4, 32)
    np.testing.assert_allclose(together, alone, atol=1e-5)
    sim = encoder.similarity(SENTENCES)
    assert sim.shape == (4, 4) and np.allclose(np.diag(sim), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, 32)


def test_cosine_similarity():
    a = np.array([[1.0, 0.0], [0.0, 2.0]])
    np.testing.assert_allclose(cosine_similarity(a, a), [[1, 0], [0, 1]])


@pytest.mark.slow
def test_mean_pooling_matches_sentence_transformers():
    from sentence_transformers import SentenceTransformer

    from mtl.model.backbones import MINILM, resolve_backbone

    location = resolve_backbone(MINILM)
    assert location != MINILM, "all-MiniLM-L6-v2 must resolve to the locally installed package"
    ours = SentenceEncoder.from_pretrained(MINILM, pooling="mean", normalize=True, max_length=256)
    theirs = SentenceTransformer(location, device="cpu")
    sentences = SENTENCES + ["The weather in Paris is terrible today", "Apple unveiled a new iPhone in California"] * 5
    np.testing.assert_allclose(ours.encode(sentences, batch_size=4), theirs.encode(sentences, normalize_embeddings=True), atol=1e-5)


def test_precision_is_validated_everywhere(tiny_model):
    from mtl.config.options import check_precision
    from mtl.inference.predict import predict_texts

    assert check_precision("bf16") == "bf16"
    for call in (
        lambda: check_precision("fp16"),
        lambda: tiny_model.encoder.encode(SENTENCES, precision="int8"),
        lambda: predict_texts(tiny_model, SENTENCES, precision="half"),
    ):
        with pytest.raises(ValueError, match="choose one of fp32, bf16"):
            call()


def test_bf16_encode_and_predict_stay_close_to_fp32(make_tiny_model):
    from mtl.inference.predict import predict_texts

    model = make_tiny_model()
    full = model.encoder.encode(SENTENCES)
    half = model.encoder.encode(SENTENCES, precision="bf16")
    assert half.dtype == np.float32 and half.shape == full.shape
    cosines = np.sum(full * half, 1) / (np.linalg.norm(full, axis=1) * np.linalg.norm(half, axis=1))
    assert cosines.min() > 0.99, cosines
    assert not np.array_equal(full, half), "bf16 must actually run in lower precision"
    a = predict_texts(model, SENTENCES, return_embeddings=True)
    b = predict_texts(model, SENTENCES, return_embeddings=True, precision="bf16")
    assert [[w["word"] for w in x["words"]] for x in a] == [[w["word"] for w in x["words"]] for x in b]
    for x, y in zip(a, b, strict=True):
        assert abs(x["sentence_probs"]["Technology"] - y["sentence_probs"]["Technology"]) < 0.05
