"""A deterministic, template-based example data set for both tasks at once.

Every sentence carries a sentence label (its template's theme: Technology, Weather or Other) and IOB2
word tags for TECH and WEATHER mentions. Fillers (products, weather phenomena, names, cities, ...) are
drawn from vocabularies shared by all splits, while the *templates* are split: validation and test
sentences come from sentence frames never seen in training, so scores measure generalisation to new
phrasing rather than memorised frames.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mtl.text.words import split_words  # one tokenisation for training data and predict

EXAMPLE_SENTENCE_LABELS: tuple[str, ...] = ("Technology", "Weather", "Other")
EXAMPLE_TOKEN_LABELS: tuple[str, ...] = ("O", "B-TECH", "I-TECH", "B-WEATHER", "I-WEATHER")
EXAMPLE_SPLITS: tuple[str, ...] = ("train", "validation", "test")
# The same word pattern as mtl.text.alignment uses for free text, so a sentence written here and the same
# sentence typed by a user are split into identical words.

_OUTPUT_COLUMNS = ("text", "words", "word_tags", "sentence_label", "template", "split")
_TEMPLATE_PREFIX = {"Technology": "tech", "Weather": "weather", "Other": "other"}
_HELD_OUT_FRACTION = 0.15  # of each class's templates, for validation and again for test

# Vocabularies. Entity vocabularies are split by grammar, not meaning, so every template reads
# naturally: "the {gadget}" / "a new {gadget}", bare "{software}", "the {system}", bare "{weather}",
# "the {storm}". No literal template word and no neutral filler reuses a word of an entity vocabulary
# (tests check this), so a word's tag never contradicts itself across the data set.
_VOCAB: dict[str, tuple[str, ...]] = {
    "gadget": (
        "iPhone", "iPad", "GPU", "smartwatch", "laptop", "Raspberry Pi", "Pixel phone", "graphics card",
        "solid-state drive", "VR headset", "Galaxy tablet", "MacBook Pro", "drone", "smart speaker",
        "gaming console", "Kindle", "mechanical keyboard", "4K monitor", "fitness tracker",
        "wireless earbuds", "Chromebook", "ThinkPad", "Nintendo Switch", "PlayStation 5", "Apple Watch",
        "robot vacuum", "3D printer", "smart thermostat", "webcam", "USB-C charger", "Wi-Fi router",
        "microchip", "Surface Pro", "e-reader", "tablet computer", "noise-cancelling headphones",
        "Android phone", "desktop computer", "OLED television", "electric toothbrush",
    ),
    "software": (
        "Kubernetes", "machine learning", "Python", "Rust", "JavaScript", "TypeScript",
        "cloud computing", "blockchain", "Docker", "Linux", "artificial intelligence", "deep learning",
        "TensorFlow", "PyTorch", "React", "quantum computing", "Android", "iOS", "Windows 11", "macOS",
        "computer vision", "edge computing", "open-source software", "generative AI",
        "augmented reality", "virtual reality", "Java", "PostgreSQL", "GitHub Actions", "Node.js",
        "WebAssembly", "Terraform", "Bluetooth", "natural language processing", "robotics", "5G",
        "big data analytics", "Kotlin", "Swift", "microservices",
    ),
    "system": (
        "5G network", "data center", "cloud platform", "Kubernetes cluster", "fiber-optic network",
        "payment app", "search engine", "operating system", "neural network", "chatbot",
        "database server", "mobile app", "web browser", "GPU cluster", "language model",
        "encryption protocol", "supercomputer", "recommendation algorithm", "streaming platform",
        "mobile banking system", "spam filter", "voice assistant", "smart grid", "cloud storage system",
        "ticketing website",
    ),
    "weather": (
        "heavy rain", "thunderstorms", "snow", "fog", "sunshine", "strong winds", "freezing rain",
        "sleet", "frost", "hail", "drizzle", "light showers", "dense fog", "gale-force winds",
        "scattered showers", "heavy snowfall", "black ice", "flash floods", "high humidity",
        "scorching heat", "clear skies", "overcast skies", "rain showers", "torrential rain",
        "snow flurries", "thick fog", "severe thunderstorms", "damaging winds", "record heat",
        "warm sunshine", "icy rain", "steady rain", "gusty winds", "blowing snow", "humid air",
    ),
    "storm": (
        "hurricane", "thunderstorm", "heat wave", "blizzard", "tornado", "hailstorm", "tropical storm",
        "cold snap", "snowstorm", "ice storm", "dust storm", "cyclone", "typhoon", "monsoon", "drought",
        "cold front", "sandstorm", "winter storm", "heavy downpour", "polar vortex", "flood",
        "windstorm",
    ),
    "name": (
        "Maria", "James", "Aisha", "Chen", "Olivia", "Mateo", "Priya", "Lucas", "Fatima", "Noah",
        "Sofia", "Kenji", "Amara", "Daniel", "Elena", "Omar", "Hannah", "Luis", "Grace", "Ivan",
        "Zara", "Thomas", "Mei", "Samuel", "Leila", "Jonas", "Nadia", "Peter", "Anika", "Carlos",
        "Ruth", "Tariq", "Emma", "Kwame", "Julia", "Ravi", "Chloe", "Marco", "Yuki", "Ben",
    ),
    "city": (
        "London", "Paris", "Tokyo", "Nairobi", "Toronto", "Berlin", "Madrid", "Chicago", "Mumbai",
        "Sydney", "Cairo", "Lima", "Oslo", "Seoul", "Dublin", "Lisbon", "Boston", "Denver", "Istanbul",
        "Vienna", "Lagos", "Manila", "Prague", "Austin", "Helsinki", "Montreal", "Santiago", "Athens",
        "Hamburg", "Seattle", "Kyoto", "Warsaw", "New York", "Cape Town", "Buenos Aires",
        "Rio de Janeiro", "Edinburgh", "Bangkok", "Melbourne", "Vancouver",
    ),
    "day": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "month": (
        "January", "February", "March", "April", "May", "June", "July", "August", "September",
        "October", "November", "December",
    ),
    "food": (
        "lasagna", "sushi", "tacos", "pancakes", "vegetable curry", "cherry pie", "ramen", "paella",
        "falafel", "dumplings", "mushroom risotto", "lentil soup", "banana bread", "fish and chips",
        "pad thai", "chocolate cake", "grilled cheese", "spinach salad", "beef stew", "apricot tart",
        "noodle soup", "tomato pasta", "blueberry muffins", "roast chicken", "bean burritos",
    ),
    "drink": (
        "coffee", "green tea", "orange juice", "lemonade", "hot chocolate", "mint tea", "sparkling water",
        "mango smoothie", "iced coffee", "pear cider",
    ),
    "sport": (
        "football", "basketball", "tennis", "cricket", "volleyball", "rugby", "baseball", "hockey",
        "table tennis", "badminton", "handball", "water polo", "softball", "golf", "netball",
    ),
    "place": (
        "library", "museum", "park", "zoo", "art gallery", "train station", "community garden",
        "old harbour", "city hall", "farmers market", "botanical garden", "concert hall", "town square",
        "bookshop", "swimming pool", "bakery", "cathedral", "theatre",
    ),
    "number": (
        "two", "three", "four", "five", "six", "seven", "eight", "ten", "twelve", "fifteen", "twenty",
        "thirty", "forty", "fifty",
    ),
}
_ENTITY_TYPE = {"gadget": "TECH", "software": "TECH", "system": "TECH", "weather": "WEATHER", "storm": "WEATHER"}

# Templates per class. A trailing digit in a slot ({name2}) draws a second, different value of the
# same vocabulary. Templates flagged True mention the *other* class's entities too (a Technology
# sentence about hardware surviving a storm); they always go to training, so the held-out splits only
# contain sentences whose theme is unambiguous.
_TEMPLATES: dict[str, tuple[tuple[str, bool], ...]] = {
    "Technology": (
        ("{name} upgraded the {gadget} to the latest version on {day}.", False),
        ("Our team moved every project to {software} last {month}.", False),
        ("A startup in {city} built its whole product around a new {gadget}.", False),
        ("{name} spent the weekend studying {software} from online tutorials.", False),
        ("The company announced that the {system} will launch in {city} next {month}.", False),
        ("Engineers in {city} found a serious flaw in the {system}.", False),
        ("Is the {gadget} compatible with {software}?", False),
        ("{name} wrote a blog post comparing {software} and {software2}.", False),
        ("The conference in {city} focused on {software} and {software2}.", False),
        ("After the repair on {day}, the {gadget} runs much faster.", False),
        ("{name} returned the {gadget} because it kept crashing.", False),
        ("Developers at the hackathon built a prototype with {software} in just {number} hours.", False),
        ("The price of the {gadget} dropped by {number} percent this week.", False),
        ("Our office in {city} is giving every employee a new {gadget}.", False),
        ("The {gadget} sold out within {number} minutes of going on sale in {city}.", False),
        ("{name} is fixing a stubborn bug in a project written in {software}.", False),
        ("Researchers in {city} used {software} to detect fraud in insurance claims.", False),
        ("The outage took the {system} offline for {number} hours on {day}.", False),
        ("{name} asked {name2} how to install {software} on the {gadget}.", False),
        ("Reviewers praised the {gadget}, but {name} found it far too expensive.", False),
        ("Schools in {city} will teach {software} to every student next year.", False),
        ("Hackers exploited a flaw in the {system} to steal customer records in {city}.", False),
        ("The {system} now serves twice as many people as it did in {month}.", False),
        ("{name} set up the {gadget} and connected it to the {system}.", False),
        ("Venture capital firms in {city} are pouring money into {software} startups.", False),
        ("{name} shared a leaked video of the next {gadget} with a thinner design.", False),
        ("The {gadget} kept working even during the {storm} in {city}.", True),
        ("Engineers tested whether the {gadget} could survive {weather} and mud.", True),
    ),
    "Weather": (
        ("Forecasters expect {weather} in {city} on {day}.", False),
        ("The {storm} forced schools in {city} to close early.", False),
        ("{name} cancelled the picnic because of the {storm}.", False),
        ("Residents of {city} woke up to {weather} this morning.", False),
        ("The national forecasting office issued a warning about {weather} for {day}.", False),
        ("{weather} will reach the northern coast on {day}.", False),
        ("Flights from {city} were delayed by the {storm}.", False),
        ("Farmers near {city} are worried about the {storm}.", False),
        ("Neighbours in {city} were told to expect {weather} overnight.", False),
        ("After a week of {weather}, {city} finally saw some {weather2}.", False),
        ("The {storm} left thousands of homes near {city} in the dark.", False),
        ("Officials say the {storm} will reach the coast by {day}.", False),
        ("Drivers should expect {weather} on the highway to {city} tonight.", False),
        ("{name} took photos of the {storm} from the balcony.", False),
        ("{day} brings {weather} in the morning and {weather2} in the afternoon.", False),
        ("The marathon in {city} was postponed because of {weather}.", False),
        ("Local news reported {weather} and slippery roads across {city}.", False),
        ("The {storm} is expected to weaken as it moves inland from {city}.", False),
        ("Hikers near {city} were warned to avoid the mountains during the {storm}.", False),
        ("{city} recorded its worst {storm} in {number} years.", False),
        ("Bring an umbrella, because the forecast for {city} shows {weather} this afternoon.", False),
        ("The ski resort near {city} welcomed {weather} after a long wait.", False),
        ("The {weather} lasted until late {day} evening.", False),
        ("Our garden did not survive the {storm} last {month}.", False),
        ("Pilots reported {weather} above {city} during the approach.", False),
        ("{name} stayed indoors all {day} while the {storm} passed over {city}.", False),
        ("The {system} sent alerts to every resident of {city} before the {storm} arrived.", True),
        ("{name} checked the {gadget} every hour as the {storm} approached {city}.", True),
    ),
    "Other": (
        ("{name} cooked {food} for {name2} on {day} evening.", False),
        ("The {sport} match in {city} ended in a draw.", False),
        ("{name} visited the {place} in {city} with {name2}.", False),
        ("My favourite dish is {food} with a glass of {drink}.", False),
        ("{name} scored twice in the {sport} final on {day}.", False),
        ("The {place} in {city} reopens next {month} after renovations.", False),
        ("{name} and {name2} are getting married in {city} this {month}.", False),
        ("Tickets for the {sport} tournament in {city} sold out in {number} minutes.", False),
        ("{name} is reading a novel about a family from {city}.", False),
        ("The restaurant near the {place} serves the best {food} in town.", False),
        ("{name} has been practising {sport} every {day} since {month}.", False),
        ("We ordered {food} and {drink} while waiting for {name}.", False),
        ("{name} loved the new exhibition about the history of {city}.", False),
        ("{name} volunteered at the {place} for {number} weeks.", False),
        ("The coach praised {name} after the {sport} game in {city}.", False),
        ("Her grandmother's recipe for {food} won first prize at the fair in {city}.", False),
        ("{name} moved from {city} to {city2} to study law.", False),
        ("The orchestra will perform in {city} on {day} night.", False),
        ("{name} lost the car keys somewhere near the {place}.", False),
        ("Fans celebrated in the streets of {city} after the {sport} victory.", False),
        ("{name} prefers {drink} to {drink2} at breakfast.", False),
        ("The bakery on Main Street ran out of {food} before noon on {day}.", False),
        ("{name} spent {number} hours painting the fence on {day}.", False),
        ("The council of {city} approved a new budget for public parks in {month}.", False),
        ("{name} told {name2} a funny story about their first {sport} lesson.", False),
        ("A new bookstore opened next to the {place} in {city}.", False),
        ("{name} read a novel on the {gadget} during the long train ride to {city}.", True),
        ("{name} wore a scarf and gloves to the {sport} game despite the {weather}.", True),
    ),
}

_SLOT = re.compile(r"\{([a-z]+)(\d*)\}")


@dataclass(frozen=True)
class _Template:
    template_id: str
    label: str
    pattern: str
    mixed: bool

    def slots(self) -> list[tuple[str, str]]:
        """(placeholder, vocabulary) for each slot, in order of appearance."""
        return [(m.group(0), m.group(1)) for m in _SLOT.finditer(self.pattern)]

    def capacity(self) -> int:
        """How many distinct sentences this template can produce (values of one vocabulary differ)."""
        per_kind: dict[str, int] = {}
        for _, kind in self.slots():
            per_kind[kind] = per_kind.get(kind, 0) + 1
        return math.prod(math.perm(len(_VOCAB[kind]), k) for kind, k in per_kind.items())


def _templates() -> dict[str, list[_Template]]:
    return {
        label: [
            _Template(f"{_TEMPLATE_PREFIX[label]}-{i:02d}", label, pattern, mixed)
            for i, (pattern, mixed) in enumerate(_TEMPLATES[label], start=1)
        ]
        for label in EXAMPLE_SENTENCE_LABELS
    }


def _render(template: _Template, rng: random.Random) -> tuple[str, list[str], list[str]]:
    """Fill one template: the sentence, its words and their IOB2 tags."""
    pieces: list[str] = []
    spans: list[tuple[int, int, str]] = []  # character spans of entity fillers
    used: dict[str, set[str]] = {}
    cursor = 0
    length = 0
    for match in _SLOT.finditer(template.pattern):
        literal = template.pattern[cursor : match.start()]
        pieces.append(literal)
        length += len(literal)
        kind = match.group(1)
        taken = used.setdefault(kind, set())
        value = rng.choice([v for v in _VOCAB[kind] if v not in taken])
        taken.add(value)
        if kind in _ENTITY_TYPE:
            spans.append((length, length + len(value), _ENTITY_TYPE[kind]))
        pieces.append(value)
        length += len(value)
        cursor = match.end()
    pieces.append(template.pattern[cursor:])
    text = "".join(pieces)
    # Capitalising in place keeps every character offset, so the spans stay valid.
    text = text[0].upper() + text[1:]

    words: list[str] = []
    tags: list[str] = []
    for word, (word_start, word_end) in zip(*split_words(text)):
        tag = "O"
        for start, end, etype in spans:
            if start <= word_start < end:
                if word_end > end:
                    raise RuntimeError(f"{template.template_id}: word {word!r} runs past an entity")
                tag = ("B-" if word_start == start else "I-") + etype
                break
            if word_start < start < word_end:
                raise RuntimeError(f"{template.template_id}: word {word!r} starts before an entity")
        words.append(word)
        tags.append(tag)
    return text, words, tags


def _assign_splits(templates: list[_Template], rng: random.Random) -> dict[str, list[_Template]]:
    """Per class: ~15% of templates to validation, ~15% to test, the rest (and all mixed ones) to train."""
    held = max(1, round(_HELD_OUT_FRACTION * len(templates)))
    candidates = [t for t in templates if not t.mixed]
    rng.shuffle(candidates)
    validation, test, rest = candidates[:held], candidates[held : 2 * held], candidates[2 * held :]
    train = [t for t in templates if t in rest or t.mixed]
    return {"train": train, "validation": validation, "test": test}


def generate_examples(n: int = 900, seed: int = 0) -> pd.DataFrame:
    """Generate ``n`` labelled example sentences, reproducibly from ``seed``.

    Columns: ``text``, ``words``, ``word_tags`` (IOB2 over EXAMPLE_TOKEN_LABELS), ``sentence_label``
    (one of EXAMPLE_SENTENCE_LABELS), ``template`` (e.g. ``"tech-07"``) and ``split``
    (train/validation/test, assigned by template). Classes are balanced to within one sentence, texts
    are unique and rows are shuffled.

    Raises ValueError if ``n`` is negative or larger than the templates can fill without repeats.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = random.Random(seed)
    per_class = [n // len(EXAMPLE_SENTENCE_LABELS)] * len(EXAMPLE_SENTENCE_LABELS)
    for i in range(n % len(EXAMPLE_SENTENCE_LABELS)):
        per_class[i] += 1

    rows: list[dict[str, object]] = []
    seen: set[str] = set()
    for label, class_count in zip(EXAMPLE_SENTENCE_LABELS, per_class):
        splits = _assign_splits(_templates()[label], rng)
        split_of = {t.template_id: s for s, ts in splits.items() for t in ts}
        # One template from each split leads the round-robin, so even a handful of sentences per
        # class covers train, validation and test.
        rest = [t for ts in splits.values() for t in ts[1:]]
        rng.shuffle(rest)
        order = [ts[0] for ts in splits.values()] + rest
        for position, template in enumerate(order):
            count = class_count // len(order) + (1 if position < class_count % len(order) else 0)
            if count > template.capacity():
                raise ValueError(
                    f"n={n} is too large: template {template.template_id} can only make "
                    f"{template.capacity()} distinct sentences, {count} needed"
                )
            made, attempts = 0, 0
            while made < count:
                attempts += 1
                if attempts > 50 * count + 1000:
                    raise ValueError(f"n={n} is too large: template {template.template_id} keeps repeating sentences")
                text, words, tags = _render(template, rng)
                if text in seen:
                    continue
                seen.add(text)
                rows.append(
                    {
                        "text": text,
                        "words": words,
                        "word_tags": tags,
                        "sentence_label": label,
                        "template": template.template_id,
                        "split": split_of[template.template_id],
                    }
                )
                made += 1
    rng.shuffle(rows)
    return pd.DataFrame(rows, columns=list(_OUTPUT_COLUMNS))


def write_examples(path: str | os.PathLike[str], n: int = 900, seed: int = 0) -> pd.DataFrame:
    """Generate examples (see ``generate_examples``) and write them to ``path``: JSON Lines, or a JSON array
    when ``path`` ends in ``.json`` (the user guide's ``example_data.json``); ``read_example`` reads both.

    One object per line with keys text, words, word_tags, sentence_label, template, split. Parent
    directories are created; the file is written to a temporary name in the same directory and
    renamed into place, so readers (and DVC) never see a half-written file. Returns the table.
    """
    df = generate_examples(n=n, seed=seed)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        lines = [
            json.dumps({key: _plain(record[key]) for key in _OUTPUT_COLUMNS}, ensure_ascii=False) for record in df.to_dict(orient="records")
        ]
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            # a .json file is one JSON document (an array), still one sentence per line so errors can name a line
            handle.write("[\n" + ",\n".join(lines) + "\n]\n" if target.suffix.lower() == ".json" else "".join(f"{line}\n" for line in lines))
        os.replace(tmp_name, target)
    except BaseException:
        # Never leave a stray temporary file behind, whatever interrupted the write.
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return df


def _plain(value: object) -> object:
    """JSON-serialisable copy of a cell (lists may come back from pandas as other sequences)."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [str(v) for v in value]
    return str(value)
