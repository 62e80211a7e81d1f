"""Readers that turn every data source into one table: one row per sentence.

Columns (``COLUMNS``): ``text`` (str), ``words`` (list[str]), ``word_tags`` (list[str], or None for a
sentence-only data set) and ``sentence_label`` (str, or None for a token-only data set). The list
columns hold plain Python lists (object dtype) whatever pandas' string defaults are.

Malformed input raises ``DataError`` naming the file and 1-based line, so a bad row in a 67k-line
file can be found and fixed directly.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pandas as pd

from mtl.data.errors import DataError
from mtl.data.example import EXAMPLE_SENTENCE_LABELS, EXAMPLE_TOKEN_LABELS
from mtl.text.words import word_offsets

COLUMNS: tuple[str, ...] = ("text", "words", "word_tags", "sentence_label")
SST2_LABELS: tuple[str, ...] = ("negative", "positive")  # GLUE label 0, 1
CONLL_TAGS: tuple[str, ...] = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")
_SST2_HEADER = "sentence\tlabel"
_EXAMPLE_KEYS = ("text", "words", "word_tags", "sentence_label")


def table(
    texts: list[str],
    words: list[list[str]],
    word_tags: list[list[str]] | list[None],
    labels: list[str] | list[None],
) -> pd.DataFrame:
    """The uniform table, list columns forced to object dtype so pandas never converts them."""
    return pd.DataFrame(
        {
            "text": pd.Series(texts, dtype="str"),
            "words": pd.Series(words, dtype=object),
            "word_tags": pd.Series(word_tags, dtype=object),
            "sentence_label": pd.Series(labels, dtype=object),
        },
        columns=list(COLUMNS),
    )


def _read_lines(path: str | os.PathLike[str]) -> list[str]:
    """The file's lines without line ends; DataError if empty or not UTF-8."""
    data = Path(path).read_bytes()
    if not data:
        raise DataError(path, None, "file is empty")
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(path, data.count(b"\n", 0, exc.start) + 1, f"not valid UTF-8 ({exc.reason})") from None
    lines = content.split("\n")
    if lines[-1] == "":  # the final line end terminates the last line; it does not open a new one
        lines.pop()
    # Tolerate CRLF copies of the files: the carriage return is never part of the data.
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def read_sst2(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a GLUE SST-2 TSV file (header ``sentence<TAB>label``, label 0 or 1).

    Text is stripped (GLUE leaves a trailing space), ``words`` is the whitespace split of the already
    tokenised text, ``word_tags`` is None and ``sentence_label`` is "negative" (0) or "positive" (1).
    Raises DataError for an empty file, a missing or wrong header, a row without exactly two columns,
    a label other than 0/1, an empty sentence, or a file with no rows.
    """
    lines = _read_lines(path)
    if lines[0] != _SST2_HEADER:
        raise DataError(path, 1, f"expected the header 'sentence<TAB>label', got {lines[0][:60]!r}")
    texts: list[str] = []
    words: list[list[str]] = []
    labels: list[str] = []
    label_of = {str(i): name for i, name in enumerate(SST2_LABELS)}
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != 2:
            raise DataError(path, number, f"expected 2 tab-separated columns (sentence, label), got {len(fields)}")
        text = fields[0].strip()
        label = fields[1].strip()
        if label not in label_of:
            raise DataError(path, number, f"label must be 0 or 1, got {label!r}")
        if not text:
            raise DataError(path, number, "empty sentence")
        texts.append(text)
        words.append(text.split())
        labels.append(label_of[label])
    if not texts:
        raise DataError(path, None, "no sentences after the header")
    return table(texts, words, [None] * len(texts), labels)


def read_conll(path: str | os.PathLike[str], tags: Iterable[str] = CONLL_TAGS) -> pd.DataFrame:
    """Read a CoNLL-2003 file: ``token POS chunk NER`` per line, a blank line after each sentence.

    ``-DOCSTART-`` lines are skipped. ``text`` is the words joined by single spaces and
    ``sentence_label`` is None. Tags are taken as they are (the shared files are IOB2; an ``I-X``
    that continues nothing is accepted, as seqeval accepts it).
    Raises DataError for an empty file, a line without exactly 4 columns, an NER tag outside
    ``tags``, or a file without any sentence.
    """
    allowed = frozenset(tags)
    texts: list[str] = []
    all_words: list[list[str]] = []
    all_tags: list[list[str]] = []
    words: list[str] = []
    word_tags: list[str] = []

    def flush() -> None:
        if words:
            texts.append(" ".join(words))
            all_words.append(words.copy())
            all_tags.append(word_tags.copy())
            words.clear()
            word_tags.clear()

    for number, line in enumerate(_read_lines(path), start=1):
        fields = line.split()
        if not fields:
            flush()
            continue
        if fields[0] == "-DOCSTART-":
            flush()  # a document boundary always ends the sentence, even without the blank line
            continue
        if len(fields) != 4:
            raise DataError(path, number, f"expected 4 space-separated columns (token POS chunk NER), got {len(fields)}")
        tag = fields[3]
        if tag not in allowed:
            raise DataError(path, number, f"unknown NER tag {tag!r}; expected one of {', '.join(sorted(allowed))}")
        words.append(fields[0])
        word_tags.append(tag)
    flush()
    if not texts:
        raise DataError(path, None, "no sentences")
    return table(texts, all_words, all_tags, [None] * len(texts))


def json_records(path: str | os.PathLike[str]) -> Iterator[tuple[int, object]]:
    """Each JSON value in ``path`` with the 1-based line it starts on: the items of a JSON array when a ``.json``
    file starts with ``[`` (``mtl example-data`` writes one, as the user guide's ``example_data.json``), else one
    value per line (JSON Lines; blank lines skipped). DataError with the line for invalid JSON."""
    lines = _read_lines(path)
    content = "\n".join(lines)
    start = len(content) - len(content.lstrip())
    if Path(path).suffix.lower() != ".json" or not content[start:].startswith("["):
        for number, line in enumerate(lines, start=1):
            if line.strip():
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(path, number, f"invalid JSON: {exc.msg} (column {exc.colno})") from None
        return
    decoder = json.JSONDecoder()

    def skip(at: int) -> int:
        while at < len(content) and content[at].isspace():
            at += 1
        return at

    def fail(at: int, message: str) -> DataError:
        return DataError(path, content.count("\n", 0, at) + 1, message)

    at = skip(start + 1)
    if content[at : at + 1] != "]":  # not an empty array
        while True:
            if at >= len(content):
                raise fail(at, "the JSON array is not closed with ']'")
            try:
                value, end = decoder.raw_decode(content, at)
            except json.JSONDecodeError as exc:
                raise fail(exc.pos, f"invalid JSON: {exc.msg} (column {exc.colno})") from None
            yield content.count("\n", 0, at) + 1, value
            at = skip(end)
            if content[at : at + 1] == ",":
                at = skip(at + 1)
            elif content[at : at + 1] == "]":
                break
            else:
                raise fail(at, "the JSON array is not closed with ']'" if at >= len(content) else "expected ',' or ']' after an item of the JSON array")
    if skip(at + 1) < len(content):
        raise fail(skip(at + 1), "text after the end of the JSON array")


def read_example(
    path: str | os.PathLike[str], extra_columns: Sequence[str] = (), optional_columns: Sequence[str] = ()
) -> pd.DataFrame:
    """Read the example data set: one JSON object per sentence, as JSON Lines or a JSON array (``json_records``).

    Each object needs ``text``, ``words``, ``word_tags`` and ``sentence_label``; the table keeps only
    COLUMNS plus any keys named in ``extra_columns`` (e.g. ``("template", "split")``), which then
    must be present on every line; keys in ``optional_columns`` are kept too, None on lines without
    them, and ``line`` (1-based) is added then so callers can name a row's line. Blank lines are skipped. Raises DataError (with the line) for
    invalid JSON, a missing key, words and tags of different lengths, a tag outside
    EXAMPLE_TOKEN_LABELS, a label outside EXAMPLE_SENTENCE_LABELS, or words that cannot be found in
    the text in order (consumers recover character offsets that way); also for an empty file.
    """
    required = _EXAMPLE_KEYS + tuple(k for k in extra_columns if k not in _EXAMPLE_KEYS)
    token_labels = frozenset(EXAMPLE_TOKEN_LABELS)
    records: list[dict[str, object]] = []
    for number, obj in json_records(path):
        if not isinstance(obj, dict):
            raise DataError(path, number, f"expected a JSON object, got {type(obj).__name__}")
        missing = [key for key in required if key not in obj]
        if missing:
            raise DataError(path, number, f"missing key(s): {', '.join(missing)}")
        text, words, word_tags, label = (obj[key] for key in _EXAMPLE_KEYS)
        if not isinstance(text, str) or not text.strip():
            raise DataError(path, number, "'text' must be a non-empty string")
        if not isinstance(words, list) or not words or not all(isinstance(w, str) and w for w in words):
            raise DataError(path, number, "'words' must be a non-empty list of non-empty strings")
        if not isinstance(word_tags, list) or not all(isinstance(t, str) for t in word_tags):
            raise DataError(path, number, "'word_tags' must be a list of strings")
        if len(words) != len(word_tags):
            raise DataError(path, number, f"{len(words)} words but {len(word_tags)} word_tags")
        unknown = sorted({t for t in word_tags if t not in token_labels})
        if unknown:
            raise DataError(
                path, number, f"unknown word tag(s) {', '.join(unknown)}; expected one of {', '.join(EXAMPLE_TOKEN_LABELS)}"
            )
        if label not in EXAMPLE_SENTENCE_LABELS:
            raise DataError(
                path, number, f"unknown sentence_label {label!r}; expected one of {', '.join(EXAMPLE_SENTENCE_LABELS)}"
            )
        try:
            word_offsets(text, words)  # consumers recover character offsets this way
        except ValueError as err:
            raise DataError(path, number, str(err)) from None
        records.append({key: obj[key] for key in required} | {key: obj.get(key) for key in optional_columns} | {"_line": number})
    if not records:
        raise DataError(path, None, "no examples")
    df = table(
        [r["text"] for r in records],  # type: ignore[misc]
        [r["words"] for r in records],  # type: ignore[misc]
        [r["word_tags"] for r in records],  # type: ignore[misc]
        [r["sentence_label"] for r in records],  # type: ignore[misc]
    )
    for key in (*required[len(_EXAMPLE_KEYS) :], *optional_columns):
        df[key] = pd.Series([r[key] for r in records], dtype=object)
    if optional_columns:
        df["line"] = [r["_line"] for r in records]
    return df
