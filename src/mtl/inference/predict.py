"""Run a trained model: on encoded tables (evaluation) and on free text (predict, serving, the app).

Both paths share ``forward_rows``: the length-sorted batching loop (``mtl.runtime.batching``) on the chosen
runtime (``mtl.runtime.engines``), then one tag per word, decoded from the scores of each word's first piece
by the model's own ``decoding`` (``mtl.text.decoding``). Served answers, in-process answers and evaluation
therefore come from the same code, whichever runtime runs the forward pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mtl.model.encoder import SentenceEncoder
from mtl.model.multitask import MultiTaskModel
from mtl.runtime.batching import run_batches
from mtl.runtime.engines import batch_forward
from mtl.text.alignment import first_piece_index
from mtl.text.decoding import decode
from mtl.text.entities import keep_confident
from mtl.text.words import split_words


@dataclass
class RowPredictions:
    """Per-row outputs of one pass: sentence probabilities, word tag ids and scores, embeddings."""

    sentence_probs: np.ndarray  # (n, n_sentence_labels)
    word_tag_ids: list[list[int]]  # one per word; truncated words get tag 0 ("O")
    word_scores: list[list[float]]  # the probability of each word's chosen tag; 0.0 for truncated words
    word_truncated: list[list[bool]]
    embeddings: np.ndarray | None  # (n, dim), L2-normalised


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, in float32 (stable: the row maximum is subtracted first)."""
    shifted = np.exp(logits - logits.max(-1, keepdims=True))
    return shifted / shifted.sum(-1, keepdims=True)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-softmax over the last axis (finite where ``log(softmax)`` would underflow to -inf)."""
    shifted = logits - logits.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def decode_words(
    token_logits: np.ndarray, firsts: Sequence[int | None], labels: Sequence[str], decoding: str
) -> tuple[list[int], list[float]]:
    """One row's word tags and their probabilities from its token logits (pieces, tags).

    ``firsts`` is each word's first piece (None for a word cut by truncation: tag 0, score 0.0). The
    kept words are decoded as one sequence by ``decoding``; a word's score is the probability of the
    tag chosen for it, whichever decoding chose it.
    """
    kept = [p for p in firsts if p is not None]
    word_logits = token_logits[kept]
    log_probs = log_softmax(word_logits)
    chosen = decode(log_probs, labels, decoding)
    chosen_p = np.exp(log_probs[np.arange(len(kept)), chosen])
    tags, scores = [0] * len(firsts), [0.0] * len(firsts)
    # truncated words are the last ones, but walk by position anyway: nothing here relies on that
    positions = [w for w, p in enumerate(firsts) if p is not None]
    for w, t, p in zip(positions, chosen, chosen_p):
        tags[w], scores[w] = int(t), float(p)
    return tags, scores


def forward_rows(
    model: MultiTaskModel,
    input_ids: Sequence[Sequence[int]],
    word_ids: Sequence[Sequence[int | None]],
    words: Sequence[Sequence[str]],
    batch_size: int = 64,
    return_embeddings: bool = False,
    show_progress: bool | None = None,
    precision: str = "fp32",
    runtime: str = "torch",
) -> RowPredictions:
    """Both heads' predictions for already-tokenised rows, in input order.

    ``words`` are each row's original-cased words (``word_ids`` map pieces to them): they give the word
    count, and the word shapes of a model with the case feature (``MultiTaskModel.extra_inputs``).
    ``runtime``: ``torch``, ``onnx`` or ``onnx-int8`` (``mtl.runtime.engines``); ``precision``: ``mtl.runtime.precision``.
    Word tags are decoded by ``model.config.decoding`` (``mtl.text.decoding``).
    """
    n = len(input_ids)
    probs = np.zeros((n, len(model.config.sentence_labels)), dtype=np.float32)
    tags: list[list[int]] = [[] for _ in range(n)]
    scores: list[list[float]] = [[] for _ in range(n)]
    truncated: list[list[bool]] = [[] for _ in range(n)]
    embeddings = np.zeros((n, model.encoder.dim), dtype=np.float32) if return_embeddings else None
    outputs = ("sentence_logits", "token_logits") + (("embeddings",) if return_embeddings else ())
    pad = model.tokenizer.pad_token_id or 0
    labels, decoding = model.config.token_labels, model.config.decoding
    # a head without labels (a one-task model) has no outputs to read: its task is skipped, not decoded
    has_sentence, has_token = "sentence" in model.config.tasks, "token" in model.config.tasks
    with batch_forward(model, outputs, runtime, precision) as forward:
        extra = model.extra_inputs(words, word_ids)
        for idx, out in run_batches(forward, input_ids, batch_size, pad, desc="predict", show_progress=show_progress, extra=extra):
            if has_sentence:
                probs[idx] = softmax(out["sentence_logits"])
            if embeddings is not None:
                embeddings[idx] = normalize_rows(out["embeddings"])
            for j, i in enumerate(idx):
                firsts = first_piece_index(word_ids[i], len(words[i]))
                if has_token:
                    tags[i], scores[i] = decode_words(out["token_logits"][j], firsts, labels, decoding)
                truncated[i] = [p is None for p in firsts]
    return RowPredictions(probs, tags, scores, truncated, embeddings)


def tokenize_texts(tokenizer, texts: Sequence[str], max_length: int) -> tuple[list, object, list[list[int | None]]]:
    """Free text as the model saw its training data: split into words (``mtl.text.words.split_words``), then each
    word into pieces. Returns each text's (words, offsets), the tokenizer's encoding and each row's piece-to-word ids.

    The one tokenisation of free text for both tasks and for the served embeddings (``predict_texts``,
    ``embed_texts``). ``SentenceEncoder.encode`` tokenises raw text instead, as sentence-transformers does:
    "don't" is one word there and two here ("do", "n't"), so its embeddings differ slightly from these.
    """
    split = [split_words(t) for t in texts]
    non_empty = [w if w else [""] for w, _ in split]  # the tokenizer rejects an empty word list
    encoded = tokenizer(non_empty, is_split_into_words=True, truncation=True, max_length=max_length)
    return split, encoded, [encoded.word_ids(i) for i in range(len(texts))]


def embed_texts(encoder: SentenceEncoder, texts: Sequence[str], batch_size: int = 32, pooling: str | None = None) -> np.ndarray:
    """L2-normalised embeddings of free text, tokenised as ``predict_texts`` tokenises it (``tokenize_texts``),
    pooled by ``pooling`` (default: the encoder's own; the encoder itself is left as it is).

    With the encoder of a trained model and its own pooling, these are the embeddings the served model returns
    (``return_embeddings``); the app and ``mtl demo`` show them, under any pooling.
    """
    if isinstance(texts, str):
        raise TypeError("embed_texts expects a list of sentences, not one string")
    if pooling is not None and pooling != encoder.pooling:  # SentenceEncoder checks the name
        encoder = SentenceEncoder(encoder.backbone, encoder.tokenizer, pooling=pooling, max_length=encoder.max_length)
    _, encoded, _ = tokenize_texts(encoder.tokenizer, texts, encoder.max_length)
    out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    with batch_forward(encoder, ("embeddings",)) as forward:
        for idx, batch in run_batches(forward, encoded["input_ids"], batch_size, encoder.tokenizer.pad_token_id or 0, desc="embed"):
            out[idx] = batch["embeddings"]
    return normalize_rows(out)


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    """Each row divided by its L2 norm (a zero row stays zero)."""
    return vectors / np.clip(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12, None)


def predict_texts(
    model: MultiTaskModel,
    texts: Sequence[str],
    batch_size: int = 32,
    return_embeddings: bool = False,
    precision: str = "fp32",
    runtime: str = "torch",
    threshold: float = 0.0,
) -> list[dict]:
    """Predict both tasks for free-text sentences (on ``runtime``: ``torch``, ``onnx`` or ``onnx-int8``).

    Each answer holds the sentence label, its probability and all class probabilities; every word with
    its tag, probability and character offsets; the grouped entities; and, on request, the embedding.
    An entity whose score is below ``threshold`` is dropped whole, its words tagged ``O``
    (``mtl.text.entities.keep_confident``); 0 keeps every entity.
    Words past the model's ``max_length`` are not listed: ``truncated_words`` counts them and
    ``truncated_start`` is the character offset of the first one (None when nothing was cut).
    """
    if isinstance(texts, str):
        raise TypeError("predict_texts expects a list of sentences, not one string")
    split, encoded, word_ids = tokenize_texts(model.tokenizer, texts, model.config.max_length)
    words = [w for w, _ in split]
    rows = forward_rows(
        model,
        encoded["input_ids"],
        word_ids,
        words,
        batch_size,
        return_embeddings,
        precision=precision,
        runtime=runtime,
    )
    labels, tag_names = model.config.sentence_labels, model.config.token_labels
    answers = []
    for i, text in enumerate(texts):
        offsets = split[i][1]
        # the scores as the answer lists them: a threshold applied later to a cached answer (the app) sees the same numbers
        scores = [round(p, 6) for p in rows.word_scores[i]]
        answer: dict = {"text": text}
        # a one-task model answers its task only: an untrained head's output is never shown
        if "sentence" in model.config.tasks:
            best = int(np.argmax(rows.sentence_probs[i]))
            answer["sentence_label"] = labels[best]
            answer["sentence_score"] = round(float(rows.sentence_probs[i, best]), 6)
            answer["sentence_probs"] = {label: round(float(p), 6) for label, p in zip(labels, rows.sentence_probs[i])}
        if "token" in model.config.tasks:
            tags, entities = keep_confident(text, [tag_names[t] for t in rows.word_tag_ids[i]], offsets, scores, threshold)
            answer["words"] = [
                {"word": w, "start": s, "end": e, "tag": t, "score": p}
                for w, (s, e), t, p, cut in zip(words[i], offsets, tags, scores, rows.word_truncated[i])
                if not cut
            ]
            answer["entities"] = [e.as_dict() for e in entities]
        # Words past max_length get no tag. They are counted, not listed, so a huge sentence gets a small answer.
        answer["truncated_words"] = int(sum(rows.word_truncated[i]))
        answer["truncated_start"] = next((s for (s, _), cut in zip(offsets, rows.word_truncated[i]) if cut), None)
        if rows.embeddings is not None:
            answer["embedding"] = [round(float(x), 7) for x in rows.embeddings[i]]
        answers.append(answer)
    return answers
