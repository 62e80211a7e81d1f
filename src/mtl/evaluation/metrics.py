"""Task metrics: accuracy, macro-F1 and confusion matrix for sentences; entity-level F1 for words (seqeval)."""

from __future__ import annotations

from collections.abc import Sequence

from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score as sk_f1


def sentence_metrics(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> dict:
    """Accuracy, macro-F1 over ``labels`` and the confusion matrix (rows: true, columns: predicted)."""
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(sk_f1(y_true, y_pred, labels=list(labels), average="macro", zero_division=0)),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=list(labels)).tolist(),
        "labels": list(labels),
        "support": len(y_true),
    }


def token_metrics(true_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]]) -> dict:
    """Entity-level micro precision, recall and F1, and per-type scores, over word-level IOB2 tags.

    Scores words (one tag per word, from its first piece), never pieces: piece-level scoring counts an
    entity once per piece and inflates the numbers.
    """
    true_tags, pred_tags = [list(t) for t in true_tags], [list(p) for p in pred_tags]
    report = classification_report(true_tags, pred_tags, output_dict=True, zero_division=0)
    per_type = {
        kind: {"precision": float(v["precision"]), "recall": float(v["recall"]), "f1": float(v["f1-score"]), "support": int(v["support"])}
        for kind, v in report.items()
        if "avg" not in kind
    }
    return {
        "f1": float(f1_score(true_tags, pred_tags, zero_division=0)),
        "precision": float(precision_score(true_tags, pred_tags, zero_division=0)),
        "recall": float(recall_score(true_tags, pred_tags, zero_division=0)),
        "per_type": per_type,
        "support": sum(v["support"] for v in per_type.values()),
    }


def span_metrics(
    true_spans: Sequence[Sequence[tuple[int, int, str]]], pred_spans: Sequence[Sequence[tuple[int, int, str]]]
) -> dict:
    """Micro precision, recall and F1 of entities given as ``(start, end, type)`` per sentence.

    conlleval semantics on character spans: an entity counts only with exactly its span and type.
    """
    true_sets = [set(t) for t in true_spans]
    pred_sets = [set(p) for p in pred_spans]
    hits = sum(len(t & p) for t, p in zip(true_sets, pred_sets))
    n_true, n_pred = sum(map(len, true_sets)), sum(map(len, pred_sets))
    precision = hits / n_pred if n_pred else 0.0
    recall = hits / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"f1": f1, "precision": precision, "recall": recall, "support": n_true, "predicted": n_pred}
