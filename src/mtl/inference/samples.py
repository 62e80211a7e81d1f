"""The sentences every surface shows a trained model on: the served model's input example (MLflow predicts it before a
version is registered, and shows it as a ready request body), the README's `curl`, and the sample answer the evaluate
stage records (``metrics/<source>/sample.json``), from which the README's sample answer is generated, so the documented
answer is always the one the pipeline's model gives."""

from __future__ import annotations

SAMPLE_SENTENCES: tuple[str, ...] = ("Apple unveiled a new iPhone in California", "The weather in Paris is terrible today")
