"""Readers that turn every data source into one table: one row per sentence.

Columns (``COLUMNS``): ``text`` (str), ``words`` (list[str]), ``word_tags`` (list[str], or None for a
sentence-only data set) and ``sentence_label`` (str, or None for a token-only data set). The list
columns hold plain Python lists (object dtype) whatever pandas' string defaults are.

Malformed input raises ``DataError`` naming the file and 1-based line, so a bad row in a 67k-line
file can be found and fixed directly.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import pandas as pd

from mtl.data.errors import DataError
from mtl.data.example import EXAMPLE_SENTENCE_LABELS, EXAMPLE_TOKEN_LABELS
from mtl.data.labels import iob2_problem
from mtl.text.words import split_words, word_offsets

COLUMNS: tuple[str, ...] = ("text", "words", "word_tags", "sentence_label")
SST2_LABELS: tuple[str, ...] = ("negative", "positive")  # GLUE label 0, 1
CONLL_TAGS: tuple[str, ...] = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")
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


def read_delimited(
    path: str | os.PathLike[str],
    sep: str = ",",
    text_column: str = "text",
    label_column: str = "label",
    label_names: Sequence[str] | None = None,
    split: Callable[[str], list[str]] | None = None,
) -> pd.DataFrame:
    """Read sentences and their labels from a CSV (``sep=","``, quoted as the csv module quotes) or TSV file
    (``sep="\\t"``, no quoting) with a header row; other columns are ignored. The sentence-task format.

    Text is stripped; ``words`` is ``split(text)`` (default: ``mtl.text.words.split_words``, as served text is
    split; SST-2 passes ``str.split``, its text being tokenised already); ``word_tags`` is None. With
    ``label_names``, labels are written as their index (SST-2: 0 negative, 1 positive), else as they are.
    A ``line`` column holds each row's 1-based line. Raises DataError naming the line for an empty file, a header
    without the two columns, a row with another number of columns, an unknown or empty label, an empty sentence,
    or a file with no rows.
    """
    lines = _read_lines(path)
    split = split or (lambda text: split_words(text)[0])
    reader = csv.reader(io.StringIO("\n".join(lines) + "\n"), delimiter=sep, quoting=csv.QUOTE_NONE if sep == "\t" else csv.QUOTE_MINIMAL)
    kind = "tab-separated" if sep == "\t" else f"{sep!r}-separated"
    header = next(reader)
    if text_column not in header or label_column not in header:
        raise DataError(path, 1, f"expected a header naming the columns {text_column!r} and {label_column!r}, got {lines[0][:60]!r}")
    text_at, label_at = header.index(text_column), header.index(label_column)
    label_of = None if label_names is None else {str(i): name for i, name in enumerate(label_names)}
    texts: list[str] = []
    words: list[list[str]] = []
    labels: list[str] = []
    numbers: list[int] = []
    for fields in reader:
        number = reader.line_num
        if len(fields) != len(header):
            raise DataError(path, number, f"expected {len(header)} {kind} columns ({', '.join(header)}), got {len(fields)}")
        text, label = fields[text_at].strip(), fields[label_at].strip()
        if label_of is not None:
            if label not in label_of:
                raise DataError(path, number, f"label must be {' or '.join(label_of) if len(label_of) == 2 else 'one of ' + ', '.join(label_of)}, got {label!r}")
            label = label_of[label]
        elif not label:
            raise DataError(path, number, f"empty label in column {label_column!r}")
        if not text:
            raise DataError(path, number, "empty sentence")
        texts.append(text)
        words.append(split(text))
        labels.append(label)
        numbers.append(number)
    if not texts:
        raise DataError(path, None, "no sentences after the header: add rows of text and label")
    return with_lines(table(texts, words, [None] * len(texts), labels), numbers)


def read_sst2(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a GLUE SST-2 TSV file (header ``sentence<TAB>label``, label 0 or 1) with ``read_delimited``, the reader
    of any user's TSV: ``sentence_label`` is "negative" (0) or "positive" (1), ``words`` the whitespace split of
    the already tokenised text."""
    return read_delimited(path, "\t", "sentence", "label", SST2_LABELS, split=str.split).drop(columns=["line"])


def read_conll(path: str | os.PathLike[str], tags: Iterable[str] | None = None) -> pd.DataFrame:
    """Read CoNLL-style columns: a word and its IOB2 tag per line (the word first, the tag last, any columns
    between, such as CoNLL-2003's POS and chunk), a blank line after each sentence. The token-task format.

    ``-DOCSTART-`` lines are skipped. ``text`` is the words joined by single spaces and ``sentence_label`` is
    None; a ``line`` column holds each sentence's first line. Raises DataError naming the line for an empty file,
    a line with fewer than 2 columns, a tag outside ``tags`` (when given), tags that are not IOB2
    (``mtl.data.labels.iob2_problem``), or a file without any sentence.
    """
    allowed = None if tags is None else frozenset(tags)
    texts: list[str] = []
    all_words: list[list[str]] = []
    all_tags: list[list[str]] = []
    starts: list[int] = []
    words: list[str] = []
    word_tags: list[str] = []
    numbers: list[int] = []

    def flush() -> None:
        if words:
            problem = iob2_problem(word_tags)
            if problem is not None:
                raise DataError(path, numbers[problem[0]], problem[1])
            texts.append(" ".join(words))
            all_words.append(words.copy())
            all_tags.append(word_tags.copy())
            starts.append(numbers[0])
            words.clear()
            word_tags.clear()
            numbers.clear()

    for number, line in enumerate(_read_lines(path), start=1):
        fields = line.split()
        if not fields:
            flush()
            continue
        if fields[0] == "-DOCSTART-":
            flush()  # a document boundary always ends the sentence, even without the blank line
            continue
        if len(fields) < 2:
            raise DataError(path, number, f"expected at least 2 space-separated columns (word ... tag), got {len(fields)}")
        tag = fields[-1]
        if allowed is not None and tag not in allowed:
            raise DataError(path, number, f"unknown NER tag {tag!r}; expected one of {', '.join(sorted(allowed))}")
        words.append(fields[0])
        word_tags.append(tag)
        numbers.append(number)
    flush()
    if not texts:
        raise DataError(path, None, "no sentences: write one word and its tag per line, a blank line after each sentence")
    return with_lines(table(texts, all_words, all_tags, [None] * len(texts)), starts)


def with_lines(df: pd.DataFrame, lines: Sequence[int]) -> pd.DataFrame:
    """``df`` with a ``line`` column: where each row starts in its file, so a later check can name file:line."""
    df["line"] = list(lines)
    return df


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


def read_jsonl(path: str | os.PathLike[str], extra_columns: Sequence[str] = (), optional_columns: Sequence[str] = ()) -> pd.DataFrame:
    """Read one JSON object per sentence, as JSON Lines or a JSON array (``json_records``): either task or both.

    Each object needs ``text`` and at least one of ``sentence_label`` (any non-empty string) and ``word_tags``
    (IOB2 over any entity types, one per word); ``words`` is optional (default: ``mtl.text.words.split_words``
    of the text, as served text is split) and must be found in the text in order (consumers recover character
    offsets that way). Keys in ``extra_columns`` must be on every line; keys in ``optional_columns`` are kept,
    None where absent. A ``line`` column holds each row's line. Blank lines are skipped. Raises DataError with the
    line for invalid JSON, a missing key, words and tags of different lengths, tags that are not IOB2, an empty
    label, and for a file with no sentences.
    """
    records: list[dict[str, object]] = []
    for number, obj in json_records(path):
        if not isinstance(obj, dict):
            raise DataError(path, number, f"expected a JSON object, got {type(obj).__name__}")
        missing = [key for key in ("text", *extra_columns) if key not in obj]
        if missing:
            raise DataError(path, number, f"missing key(s): {', '.join(missing)}")
        if "sentence_label" not in obj and "word_tags" not in obj:
            raise DataError(path, number, "no label: give 'sentence_label', 'word_tags' or both")
        text = obj["text"]
        if not isinstance(text, str) or not text.strip():
            raise DataError(path, number, "'text' must be a non-empty string")
        words = obj.get("words")
        if words is None:
            words = split_words(text)[0]
        elif not isinstance(words, list) or not words or not all(isinstance(w, str) and w for w in words):
            raise DataError(path, number, "'words' must be a non-empty list of non-empty strings")
        word_tags = obj.get("word_tags")
        if word_tags is not None:
            if not isinstance(word_tags, list) or not all(isinstance(t, str) for t in word_tags):
                raise DataError(path, number, "'word_tags' must be a list of strings")
            if len(words) != len(word_tags):
                raise DataError(path, number, f"{len(words)} words but {len(word_tags)} word_tags")
            problem = iob2_problem(word_tags)
            if problem is not None:
                raise DataError(path, number, f"word {problem[0] + 1} ({words[problem[0]]!r}): {problem[1]}")
        label = obj.get("sentence_label")
        if label is not None and (not isinstance(label, str) or not label.strip()):
            raise DataError(path, number, "'sentence_label' must be a non-empty string")
        try:
            word_offsets(text, words)  # consumers recover character offsets this way
        except ValueError as err:
            raise DataError(path, number, str(err)) from None
        record = {"text": text, "words": words, "word_tags": word_tags, "sentence_label": label, "line": number}
        # a required key that is a table column (read_example requires words and tags) is already in ``record``
        extras = {key: obj[key] for key in extra_columns if key not in COLUMNS} | {key: obj.get(key) for key in optional_columns}
        records.append(record | extras)
    if not records:
        raise DataError(path, None, "no sentences: write one JSON object per line with 'text' and its labels")
    df = table(*([r[key] for r in records] for key in COLUMNS))  # type: ignore[arg-type]
    for key in (k for k in (*extra_columns, *optional_columns) if k not in COLUMNS):
        df[key] = pd.Series([r[key] for r in records], dtype=object)
    return with_lines(df, [r["line"] for r in records])  # type: ignore[misc]


def read_example(
    path: str | os.PathLike[str], extra_columns: Sequence[str] = (), optional_columns: Sequence[str] = ()
) -> pd.DataFrame:
    """Read the example data set (``read_jsonl``, every row with ``words``, ``word_tags`` and ``sentence_label``
    from the example's label sets: ``mtl example-data``'s output). A ``line`` column is added only with
    ``optional_columns``. Raises DataError (with the line) for what ``read_jsonl`` refuses, a missing key,
    a tag outside EXAMPLE_TOKEN_LABELS or a label outside EXAMPLE_SENTENCE_LABELS.
    """
    df = read_jsonl(path, extra_columns=(*_EXAMPLE_KEYS[1:], *extra_columns), optional_columns=optional_columns)
    tags, labels = frozenset(EXAMPLE_TOKEN_LABELS), frozenset(EXAMPLE_SENTENCE_LABELS)
    for number, row_tags, label in zip(df["line"], df["word_tags"], df["sentence_label"]):
        if row_tags is None:
            raise DataError(path, int(number), "'word_tags' must be a list of strings")
        unknown = sorted({t for t in row_tags if t not in tags})
        if unknown:
            raise DataError(path, int(number), f"unknown word tag(s) {', '.join(unknown)}; expected one of {', '.join(EXAMPLE_TOKEN_LABELS)}")
        if label not in labels:
            raise DataError(path, int(number), f"unknown sentence_label {label!r}; expected one of {', '.join(EXAMPLE_SENTENCE_LABELS)}")
    return df if optional_columns else df.drop(columns=["line"])
