"""A byte-level BPE backbone (RoBERTa-style, built here from a config and a small vocabulary trained in the test):
words are tokenised as they are mid-sentence, aligned, trained on and predicted, and the model saves and loads."""

from __future__ import annotations

import pytest
import torch

from mtl.config.model import ModelConfig
from mtl.config.params import TrainConfig
from mtl.data.align import align_tables
from mtl.data.sources import label_sets, prepare_example
from mtl.data.tables import by_role
from mtl.inference.predict import predict_texts
from mtl.model.backbones import load_tokenizer
from mtl.model.multitask import MultiTaskModel
from mtl.text.words import split_words
from mtl.training.loop import train


@pytest.fixture(scope="module")
def roberta_backbone(tmp_path_factory):
    """A tiny RoBERTa with random weights and a 400-piece byte-level BPE vocabulary trained on the example data."""
    from tokenizers import ByteLevelBPETokenizer, processors
    from transformers import RobertaConfig, RobertaModel, RobertaTokenizerFast

    texts = list(prepare_example(120, seed=3)["example/train"]["text"])
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(texts, vocab_size=400, min_frequency=1, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    bpe._tokenizer.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    tokenizer = RobertaTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                     pad_token="<pad>", mask_token="<mask>")
    folder = tmp_path_factory.mktemp("tiny-roberta")
    torch.manual_seed(0)
    config = RobertaConfig(vocab_size=tokenizer.vocab_size + 5, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=80, pad_token_id=1, bos_token_id=0, eos_token_id=2)
    RobertaModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)  # as a user's RoBERTa comes: saved without add_prefix_space
    return folder


def test_a_word_gets_the_pieces_it_has_mid_sentence(roberta_backbone):
    tokenizer = load_tokenizer(str(roberta_backbone))
    words = ["Forecasters", "expect", "snow"]
    encoded = tokenizer(words, is_split_into_words=True)
    pieces = tokenizer.convert_ids_to_tokens(encoded["input_ids"])
    for index, word in enumerate(words):
        own = [p for p, w in zip(pieces, encoded.word_ids()) if w == index]
        assert own == tokenizer.tokenize(" " + word), (word, own)  # "Ġexpect", not "expect" as if it began a text
    assert encoded.word_ids()[0] is None and encoded.word_ids()[-1] is None  # <s> ... </s>


def test_align_train_predict_save_and_load(roberta_backbone, tmp_path):
    sentence_labels, token_labels = label_sets("example")
    config = ModelConfig(name=str(roberta_backbone), sentence_labels=sentence_labels, token_labels=token_labels, max_length=64)
    model = MultiTaskModel.from_backbone(config, seed=0)
    encoded, reports = align_tables(prepare_example(60, seed=1), model.tokenizer, label_sets("example"), "first", 64)
    table = encoded["example/train"]
    first_words = [[ids[p] for p, w in enumerate(word_ids) if w >= 0 and (p == 0 or word_ids[p - 1] != w)] for ids, word_ids in
                   zip(table["input_ids"], table["word_ids"])]
    assert all(len(f) == len(words) for f, words in zip(first_words, table["words"]))  # one first piece per word
    result = train(model, by_role(encoded, "train"), {}, TrainConfig(epochs=1, batch_size=8, seed=0), log=lambda _: None)
    assert torch.isfinite(torch.tensor(result.history[0].train_loss))
    text = "Heavy rain is expected in Paris on Monday"
    [answer] = predict_texts(model, [text])
    assert [w["word"] for w in answer["words"]] == split_words(text)[0]
    assert all(text[w["start"] : w["end"]] == w["word"] for w in answer["words"])
    model.save(tmp_path / "saved")
    loaded = MultiTaskModel.load(tmp_path / "saved")
    assert predict_texts(loaded, [text]) == predict_texts(model, [text])
