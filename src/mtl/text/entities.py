"""Word tags back to entities: IOB2 tags over words, grouped into typed spans with character offsets and scores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Entity:
    """A span of words tagged with one entity type."""

    type: str
    text: str
    start: int  # character offset in the sentence
    end: int
    score: float  # mean of the words' tag probabilities
    first_word: int
    last_word: int

    def as_dict(self) -> dict:
        """Plain dict for JSON."""
        return {"type": self.type, "text": self.text, "start": self.start, "end": self.end, "score": round(self.score, 6)}


def group_entities(
    text: str, tags: Sequence[str], offsets: Sequence[tuple[int, int]], scores: Sequence[float] | None = None
) -> list[Entity]:
    """Group IOB2 word tags into entities.

    An ``I-X`` that does not continue an ``X`` entity starts a new one, as conlleval and seqeval read it,
    so a model's stray ``I-`` still shows up as an entity instead of vanishing.
    """
    scores = scores if scores is not None else [1.0] * len(tags)
    entities: list[Entity] = []
    current: tuple[str, int] | None = None  # (type, first word)

    def close(last: int) -> None:
        kind, first = current  # type: ignore[misc]
        start, end = offsets[first][0], offsets[last][1]
        span = scores[first : last + 1]
        entities.append(Entity(kind, text[start:end], start, end, float(sum(span) / len(span)), first, last))

    for i, tag in enumerate(tags):
        prefix, _, kind = tag.partition("-")
        continues = current is not None and prefix == "I" and kind == current[0]
        if current is not None and not continues:
            close(i - 1)
            current = None
        if prefix in ("B", "I") and not continues:
            current = (kind, i)
    if current is not None:
        close(len(tags) - 1)
    return entities


def keep_confident(
    text: str, tags: Sequence[str], offsets: Sequence[tuple[int, int]], scores: Sequence[float], threshold: float = 0.0
) -> tuple[list[str], list[Entity]]:
    """The entities whose score reaches ``threshold``, each kept or dropped whole, and the tags with the dropped
    entities' words set to ``O``.

    A threshold applies to entities, not to words: setting one word of "New York Stock Exchange" to ``O``
    because its ``B-`` scored low would leave "York Stock Exchange" and an ``I-`` that continues nothing.
    Every surface (the served model's ``threshold`` param, ``mtl predict --threshold``, the app's slider)
    calls this one function, so they show the same entities for the same threshold.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
    entities = group_entities(text, tags, offsets, scores)
    kept_tags = list(tags)
    kept = []
    for entity in entities:
        if entity.score >= threshold:
            kept.append(entity)
        else:
            kept_tags[entity.first_word : entity.last_word + 1] = ["O"] * (entity.last_word - entity.first_word + 1)
    return kept_tags, kept
