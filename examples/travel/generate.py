"""A small worked-example data set of travel requests: intents plus CITY and AIRLINE entities.

Writes, next to this script (or into ``main``'s ``out_dir``):

- ``train.jsonl``, ``validation.jsonl``, ``test.jsonl``: one sentence per line with the keys ``text``,
  ``words`` (``split_words(text)``), ``word_tags`` (IOB2 over CITY and AIRLINE) and ``sentence_label``
  (``book``, ``cancel`` or ``ask``: a question about baggage, check-in, delays, prices, ...);
- ``requests_train.csv`` and ``requests_test.csv``: the same train and test sentences as a sentence-only
  CSV with the columns ``text,label``.

Every template and vocabulary below was written for this project (no third-party data set; most airlines
are invented). Templates are split, not sentences: validation and test sentences come from frames never
seen in training. Regenerate byte-identically (fixed seed) with the project's Python, which has ``mtl``
installed: ``.venv/bin/python examples/travel/generate.py``.
"""

from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path

from mtl.text.words import split_words  # the words a user's typed sentence would be split into

HERE = Path(__file__).resolve().parent
SEED = 2024
LABELS: tuple[str, ...] = ("book", "cancel", "ask")
SPLITS: tuple[str, ...] = ("train", "validation", "test")
ROWS_PER_LABEL = {"train": 100, "validation": 20, "test": 20}
ENTITY_TYPE = {"city": "CITY", "airline": "AIRLINE"}

# No template word and no neutral filler word is a word of a city or an airline (checked by
# check_vocabulary), so a word's tag never contradicts itself across the data set.
VOCAB: dict[str, tuple[str, ...]] = {
    "city": (
        "London", "Paris", "Tokyo", "Lisbon", "Nairobi", "Toronto", "Sydney", "Dubai", "Oslo", "Madrid", "Seoul",
        "Lima", "Cairo", "Athens", "Dublin", "Singapore", "Auckland", "Reykjavik", "Marrakesh", "New York",
        "Rio de Janeiro", "Los Angeles", "Buenos Aires", "Cape Town", "Hong Kong", "San Francisco", "Kuala Lumpur",
        "Mexico City",
    ),
    "airline": (
        "Skylark", "Northwind Airlines", "Blue Heron Airways", "Coral Coast Air", "Polaris Jet", "Meridian Airlines",
        "Aurora Airways", "Zephyr Air", "Kestrel Express", "Silver Fern Aviation", "British Airways", "Air New Zealand",
    ),
    "day": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "part": ("morning", "afternoon", "evening", "night"),
    "month": (
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
        "November", "December",
    ),
    "count": ("two", "three", "four", "five", "six", "seven", "eight", "nine"),
    "cabin": ("economy", "premium economy", "business class", "first class"),
    "bag": ("backpack", "suitcase", "guitar", "stroller", "laptop bag", "ski bag", "wheelchair", "surfboard"),
}

# Per label and split: training templates, then held-out ones for validation and for test, chosen so
# each held-out split still mixes sentences with no, one, two and three entities. A trailing digit
# ({city2}) draws a second, different value of the same vocabulary.
TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "book": {
        "train": (
            "Book me a flight from {city} to {city2} on {day}.",
            "I'd like to fly {airline} to {city} next {month}.",
            "Please reserve {count} seats on the {airline} flight to {city}.",
            "I want a return trip to {city} in {month}, ideally with {airline}.",
            "Reserve a one-way ticket on {airline} from {city} to {city2}, please.",
            "We need {count} tickets for a family holiday in {city}.",
            "Get me on the earliest flight out on {day} {part}.",
            "Could you book {airline} to {city} and back on {day}?",
        ),
        "validation": ("Find me the cheapest fare from {city} to {city2}.", "Book {count} seats in {cabin} for my trip in {month}."),
        "test": (
            "Can you get me a ticket to {city} for {day} {part}?",
            "I need to be in {city} by {day}, so please book something with {airline} or {airline2}.",
        ),
    },
    "cancel": {
        "train": (
            "Cancel my flight to {city} on {day}.",
            "Cancel all {count} tickets on the {airline} flight to {city}.",
            "I no longer need the return leg from {city}, please drop it.",
            "Our plans changed, so cancel the booking for {day} {part}.",
            "Drop my {airline} flight from {city} to {city2} on {day}.",
            "Please undo my booking to {city}; I'm not travelling anymore.",
            "Please cancel my {airline} ticket for {day} and refund the fare.",
            "I want to cancel my {cabin} seat on the flight to {city}.",
        ),
        "validation": ("I have to call off my {airline} trip from {city} to {city2}.", "Please cancel the {airline} booking I made in {month}."),
        "test": ("Withdraw my {month} reservation with {airline}, I'll go by train instead.", "Scrap the reservation for {count} passengers in {month}."),
    },
    "ask": {
        "train": (
            "How many bags can I check on {airline} in {cabin}?",
            "What does a {cabin} ticket to {city} cost in {month}?",
            "When does check-in open for the {airline} flight to {city}?",
            "How early should I arrive at the airport on {day} {part}?",
            "Why are flights between {city} and {city2} so expensive in {month}?",
            "Is there Wi-Fi on board {airline} flights to {city}?",
            'What does "standby" mean on my {airline} ticket to {city}?',
            "How long is the layover in {city} on the way to {city2} with {airline}?",
        ),
        "validation": ("Is my flight from {city} delayed?", "What is the weight limit for a {bag} in {cabin}?"),
        "test": ("Does {airline} charge extra for a {bag} on flights to {city}?", "Can I bring a {bag} and a {bag2} as hand luggage?"),
    },
}

_SLOT = re.compile(r"\{([a-z]+)\d*\}")
Row = dict[str, object]


def check_vocabulary() -> None:
    """Raise ValueError if a template word or a neutral filler word is also a word of an entity name."""
    entity = {w.lower() for kind in ENTITY_TYPE for name in VOCAB[kind] for w in split_words(name)[0]}
    plain = [_SLOT.sub(" ", t) for by_split in TEMPLATES.values() for ts in by_split.values() for t in ts]
    plain += [v for kind, values in VOCAB.items() if kind not in ENTITY_TYPE for v in values]
    clashes = entity & {w.lower() for text in plain for w in split_words(text)[0]}
    if clashes:
        raise ValueError(f"entity words used as plain words: {sorted(clashes)}")


def render(template: str, rng: random.Random) -> tuple[str, list[str], list[str]]:
    """Fill one template's slots: the sentence, its words and their IOB2 tags."""
    text, cursor = "", 0
    spans: list[tuple[int, int, str]] = []  # character spans of the entity values
    used: dict[str, set[str]] = {}
    for match in _SLOT.finditer(template):
        text += template[cursor : match.start()]
        kind = match.group(1)
        taken = used.setdefault(kind, set())
        value = rng.choice([v for v in VOCAB[kind] if v not in taken])
        taken.add(value)
        if kind in ENTITY_TYPE:
            spans.append((len(text), len(text) + len(value), ENTITY_TYPE[kind]))
        text += value
        cursor = match.end()
    text += template[cursor:]
    words, offsets = split_words(text)
    tags: list[str] = []
    for word, (start, end) in zip(words, offsets):
        tag = "O"
        for span_start, span_end, etype in spans:
            if start < span_end and span_start < end:
                # A word half in an entity would make the tags lie about where the name is.
                if start < span_start or end > span_end:
                    raise ValueError(f"{word!r} straddles an entity in {text!r}")
                tag = ("B-" if start == span_start else "I-") + etype
        tags.append(tag)
    return text, words, tags


def templates() -> dict[str, list[tuple[str, str, str]]]:
    """(template id, label, template) per split; ids number each label's templates, e.g. ``"ask-07"``."""
    out: dict[str, list[tuple[str, str, str]]] = {split: [] for split in SPLITS}
    for label, by_split in TEMPLATES.items():
        numbered = [(split, t) for split in SPLITS for t in by_split[split]]
        for i, (split, template) in enumerate(numbered, start=1):
            out[split].append((f"{label}-{i:02d}", label, template))
    return out


def build_splits(seed: int = SEED) -> dict[str, list[Row]]:
    """Every split's rows, with a ``template`` id that the written files leave out. Texts are unique."""
    check_vocabulary()
    rng = random.Random(seed)
    seen: set[str] = set()
    out: dict[str, list[Row]] = {}
    for split, split_templates in templates().items():
        rows: list[Row] = []
        for label in LABELS:
            mine = [(tid, t) for tid, lab, t in split_templates if lab == label]
            for i, (tid, template) in enumerate(mine):
                # Spread the label's rows over its templates, the first few taking one more.
                count = ROWS_PER_LABEL[split] // len(mine) + (i < ROWS_PER_LABEL[split] % len(mine))
                made = 0
                for _ in range(100 * count):  # rejection sampling; a template too small to fill fails below
                    text, words, tags = render(template, rng)
                    if text not in seen:
                        seen.add(text)
                        rows.append({"text": text, "words": words, "word_tags": tags, "sentence_label": label, "template": tid})
                        made += 1
                        if made == count:
                            break
                if made < count:
                    raise ValueError(f"template {tid} made {made} distinct sentences, {count} needed")
        rng.shuffle(rows)
        out[split] = rows
    return out


def main(out_dir: Path = HERE) -> None:
    """Write the three JSON Lines splits and the two sentence-only CSVs into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    splits = build_splits()
    for split, rows in splits.items():
        with open(out_dir / f"{split}.jsonl", "w", encoding="utf-8", newline="\n") as handle:
            for row in rows:
                record = {key: row[key] for key in ("text", "words", "word_tags", "sentence_label")}
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    for split in ("train", "test"):
        with open(out_dir / f"requests_{split}.csv", "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["text", "label"])
            writer.writerows([row["text"], row["sentence_label"]] for row in splits[split])


if __name__ == "__main__":
    main()
