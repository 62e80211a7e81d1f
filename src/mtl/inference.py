"""Run a trained model: on encoded tables (evaluation) and on free text (predict, serving, the app).

Both paths share ``forward_rows``: length-sorted batches under ``inference_mode``, then one tag per word
from its first piece. Served answers and in-process answers therefore come from the same code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from mtl.alignment import first_piece_index, group_entities, split_words
from mtl.encoding import collate
from mtl.model import MultiTaskModel
from mtl.precision import autocast, check_precision

PROGRESS_THRESHOLD = 1000


@dataclass
class RowPredictions:
    """Per-row outputs of one pass: sentence probabilities, word tag ids and scores, embeddings."""

    sentence_probs: np.ndarray  # (n, n_sentence_labels)
    word_tag_ids: list[list[int]]  # one per word; truncated words get tag 0 ("O")
    word_scores: list[list[float]]
    word_truncated: list[list[bool]]
    embeddings: np.ndarray | None  # (n, dim), L2-normalised


def forward_rows(
    model: MultiTaskModel,
    input_ids: Sequence[Sequence[int]],
    word_ids: Sequence[Sequence[int | None]],
    n_words: Sequence[int],
    batch_size: int = 64,
    return_embeddings: bool = False,
    show_progress: bool | None = None,
    precision: str = "fp32",
) -> RowPredictions:
    """Both heads' predictions for already-tokenised rows, in input order (``precision``: ``mtl.precision``)."""
    check_precision(precision)
    n = len(input_ids)
    order = np.argsort([-len(ids) for ids in input_ids], kind="stable")
    probs = np.zeros((n, len(model.config.sentence_labels)), dtype=np.float32)
    tags: list[list[int]] = [[] for _ in range(n)]
    scores: list[list[float]] = [[] for _ in range(n)]
    truncated: list[list[bool]] = [[] for _ in range(n)]
    embeddings = np.zeros((n, model.encoder.dim), dtype=np.float32) if return_embeddings else None
    pad = model.tokenizer.pad_token_id or 0
    device = next(model.parameters()).device
    show = n > PROGRESS_THRESHOLD if show_progress is None else show_progress
    was_training = model.training
    model.eval()
    with torch.inference_mode(), autocast(precision, device):
        # disable=None: a bar on a terminal, none in logs (an explicit False would write every update there)
        for start in tqdm(range(0, n, batch_size), desc="predict", disable=None if show else True, unit="batch"):
            idx = order[start : start + batch_size]
            batch = collate([(input_ids[i], [], 0) for i in idx], pad)
            out = model(batch["input_ids"].to(device), batch["attention_mask"].to(device))
            probs[idx] = torch.softmax(out.sentence_logits.float(), -1).cpu().numpy()
            token_probs = torch.softmax(out.token_logits.float(), -1)
            best_p, best = token_probs.max(-1)
            best_p, best = best_p.cpu().numpy(), best.cpu().numpy()
            if embeddings is not None:
                embeddings[idx] = torch.nn.functional.normalize(out.embeddings.float(), dim=-1).cpu().numpy()
            for j, i in enumerate(idx):
                firsts = first_piece_index(word_ids[i], n_words[i])
                tags[i] = [0 if p is None else int(best[j, p]) for p in firsts]
                scores[i] = [0.0 if p is None else float(best_p[j, p]) for p in firsts]
                truncated[i] = [p is None for p in firsts]
    model.train(was_training)
    return RowPredictions(probs, tags, scores, truncated, embeddings)


def predict_texts(
    model: MultiTaskModel,
    texts: Sequence[str],
    batch_size: int = 32,
    return_embeddings: bool = False,
    precision: str = "fp32",
) -> list[dict]:
    """Predict both tasks for free-text sentences.

    Each answer holds the sentence label, its probability and all class probabilities; every word with
    its tag, probability and character offsets; the grouped entities; and, on request, the embedding.
    Words past the model's ``max_length`` are not listed: ``truncated_words`` counts them and
    ``truncated_start`` is the character offset of the first one (None when nothing was cut).
    """
    if isinstance(texts, str):
        raise TypeError("predict_texts expects a list of sentences, not one string")
    split = [split_words(t) for t in texts]
    words = [w for w, _ in split]
    non_empty = [w if w else [""] for w in words]  # the tokenizer rejects an empty word list
    encoded = model.tokenizer(non_empty, is_split_into_words=True, truncation=True, max_length=model.config.max_length)
    word_ids = [encoded.word_ids(i) for i in range(len(texts))]
    rows = forward_rows(
        model, encoded["input_ids"], word_ids, [len(w) for w in words], batch_size, return_embeddings, precision=precision
    )
    labels, tag_names = model.config.sentence_labels, model.config.token_labels
    answers = []
    for i, text in enumerate(texts):
        offsets = split[i][1]
        tags = [tag_names[t] for t in rows.word_tag_ids[i]]
        best = int(np.argmax(rows.sentence_probs[i]))
        answer = {
            "text": text,
            "sentence_label": labels[best],
            "sentence_score": round(float(rows.sentence_probs[i, best]), 6),
            "sentence_probs": {label: round(float(p), 6) for label, p in zip(labels, rows.sentence_probs[i])},
            "words": [
                {"word": w, "start": s, "end": e, "tag": t, "score": round(p, 6)}
                for w, (s, e), t, p, cut in zip(words[i], offsets, tags, rows.word_scores[i], rows.word_truncated[i])
                if not cut
            ],
            "entities": [e.as_dict() for e in group_entities(text, tags, offsets, rows.word_scores[i])],
            # Words past max_length get no tag. They are counted, not listed, so a huge sentence gets a small answer.
            "truncated_words": int(sum(rows.word_truncated[i])),
            "truncated_start": next((s for (s, _), cut in zip(offsets, rows.word_truncated[i]) if cut), None),
        }
        if rows.embeddings is not None:
            answer["embedding"] = [round(float(x), 7) for x in rows.embeddings[i]]
        answers.append(answer)
    return answers
