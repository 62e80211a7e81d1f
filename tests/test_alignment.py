import pytest

from mtl.config.options import check_alignment
from mtl.data.readers import read_conll
from mtl.text.alignment import IGNORE, align_labels, b_to_i_map, first_piece_index, truncated_words, words_from_pieces
from mtl.text.entities import group_entities
from mtl.text.words import split_words, word_offsets

TAGS = ["O", "B-TECH", "I-TECH", "B-WEATHER", "I-WEATHER"]
B2I = b_to_i_map(TAGS)


def test_b_to_i_map():
    assert B2I == {1: 2, 3: 4}


def test_first_strategy_labels_only_first_pieces():
    # [CLS] kubern ##etes runs [SEP]
    word_ids = [None, 0, 0, 1, None]
    assert align_labels(word_ids, [1, 0], "first", B2I) == [IGNORE, 1, IGNORE, 0, IGNORE]


def test_all_strategy_turns_b_into_i_on_continuation_pieces():
    word_ids = [None, 0, 0, 0, 1, 1, None]
    assert align_labels(word_ids, [1, 2], "all", B2I) == [IGNORE, 1, 2, 2, 2, 2, IGNORE]


def test_round_trip_with_real_tokenizer_both_strategies(tokenizer):
    words = ["Kubernetes", "and", "TensorFlow", "survived", "the", "thunderstorm", "."]
    tags = [1, 0, 1, 0, 0, 3, 0]
    enc = tokenizer(words, is_split_into_words=True)
    word_ids = enc.word_ids()
    assert len(word_ids) > len(words) + 2, "some words must split into several pieces for this test to mean anything"
    for strategy in ("first", "all"):
        pieces = align_labels(word_ids, tags, strategy, B2I)
        assert len(pieces) == len(word_ids)
        assert words_from_pieces(word_ids, pieces, len(words)) == tags
        labelled = [p for p in pieces if p != IGNORE]
        assert len(labelled) == (len(words) if strategy == "first" else len(word_ids) - 2)


def test_truncation_is_counted(tokenizer):
    words = ["word"] * 20
    enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=8)
    word_ids = enc.word_ids()
    assert truncated_words(word_ids, len(words)) == 14  # 8 pieces - [CLS] - [SEP] = 6 words kept
    assert first_piece_index(word_ids, len(words))[6:] == [None] * 14
    assert words_from_pieces(word_ids, list(range(8)), len(words), fill=-1)[5:7] == [6, -1]


# Every rule of the splitter (mtl.text.words.WORD_PATTERN), each as CoNLL-2003 tokenises it.
SPLIT_CASES = [
    ("abbreviation", "The U.S. economy", ["The", "U.S.", "economy"]),
    ("abbreviation U.N.", "U.N. envoy", ["U.N.", "envoy"]),
    ("abbreviation F.A.", "the F.A. Cup", ["the", "F.A.", "Cup"]),
    ("lower-case acronym", "at 9 a.m. today", ["at", "9", "a.m.", "today"]),
    ("acronym in a compound", "U.S.-led talks", ["U.S.-led", "talks"]),
    ("acronym ends the sentence", "He flew to the U.S.", ["He", "flew", "to", "the", "U.S."]),
    ("known abbreviation St.", "St. Louis", ["St.", "Louis"]),
    ("known abbreviation Corp.", "Acme Corp. said", ["Acme", "Corp.", "said"]),
    ("known abbreviation Inc.", "Apple Inc. rose", ["Apple", "Inc.", "rose"]),
    ("known abbreviation vs.", "Spain vs. Italy", ["Spain", "vs.", "Italy"]),
    ("upper-case abbreviation", "ST. LOUIS", ["ST.", "LOUIS"]),
    ("initial", "J. Smith", ["J.", "Smith"]),
    ("two initials", "M. J. Smith", ["M.", "J.", "Smith"]),
    ("possessive 's", "Smith's car", ["Smith", "'s", "car"]),
    ("possessive 'S", "THE U.N.'S CHIEF", ["THE", "U.N.", "'S", "CHIEF"]),
    ("clitic n't", "is n't, don't", ["is", "n't", ",", "do", "n't"]),
    ("clitics 're 'm 've 'll 'd", "we're I'm they've you'll he'd", ["we", "'re", "I", "'m", "they", "'ve", "you", "'ll", "he", "'d"]),
    ("apostrophe inside a name", "O'Neill and d'Italia", ["O'Neill", "and", "d'Italia"]),
    ("double dash", "one -- two", ["one", "--", "two"]),
    ("double dash without spaces", "one--two", ["one", "--", "two"]),
    ("ellipsis", "wait ... what...", ["wait", "...", "what", "..."]),
    ("thousands separator", "3,000 people", ["3,000", "people"]),
    ("fraction", "1/2 point", ["1/2", "point"]),
    ("decimal", "1.5 points", ["1.5", "points"]),
    ("decimal and thousands", "5,616.21 points", ["5,616.21", "points"]),
    ("leading-dot decimal", "batting .496", ["batting", ".496"]),
    ("date", "on 22/11/96", ["on", "22/11/96"]),
    ("time", "at 3:30", ["at", "3:30"]),
    ("negative number", "fell -3 points", ["fell", "-3", "points"]),
    ("positive signed decimal", "rose +2.5 percent", ["rose", "+2.5", "percent"]),
    ("score", "won 6-3", ["won", "6-3"]),
    ("number with letters", "1,250M shares", ["1,250M", "shares"]),
    ("tied rank", "10= Smith", ["10=", "Smith"]),
    ("currency", "C$ 5 and US$ 6", ["C$", "5", "and", "US$", "6"]),
    ("numbered item", "1. Jan Ullrich", ["1.", "Jan", "Ullrich"]),
    ("number ends the sentence", "He won 3.", ["He", "won", "3", "."]),
    ("sentence-final dot after a word", "The economy grew.", ["The", "economy", "grew", "."]),
    ("dot between sentences", "It rained. Then", ["It", "rained", ".", "Then"]),
    ("comma and colon", "chip, e-mail: launch!", ["chip", ",", "e-mail", ":", "launch", "!"]),
    ("hyphenated word", "well-known e-mail", ["well-known", "e-mail"]),
    ("ampersand", "S&P 500", ["S&P", "500"]),
    ("inner dots kept", "see www.reuters.com now", ["see", "www.reuters.com", "now"]),
    ("trailing hyphen", "pre- and post-war", ["pre-", "and", "post-war"]),
    ("brackets and quotes", '( Germany ) "yes"', ["(", "Germany", ")", '"', "yes", '"']),
    ("unicode letters", "Zürich's café", ["Zürich", "'s", "café"]),
    ("whitespace only", "  \t ", []),
]


@pytest.mark.parametrize(("case", "text", "expected"), SPLIT_CASES, ids=[c[0] for c in SPLIT_CASES])
def test_split_words_cases(case: str, text: str, expected: list[str]) -> None:
    words, offsets = split_words(text)
    assert words == expected, case
    assert [text[s:e] for s, e in offsets] == words  # offsets are exact
    assert word_offsets(text, words) == offsets
    # every character is in a word or is whitespace
    covered = {i for s, e in offsets for i in range(s, e)}
    assert all(text[i].isspace() for i in range(len(text)) if i not in covered)


def test_split_words_and_offsets():
    text = "Apple's new M3 chip, e-mail: U.S. launch!"
    words, offsets = split_words(text)
    assert words == ["Apple", "'s", "new", "M3", "chip", ",", "e-mail", ":", "U.S.", "launch", "!"]
    assert [text[s:e] for s, e in offsets] == words
    assert word_offsets(text, words) == offsets


@pytest.mark.slow
def test_split_words_gives_back_conll_validation_words(raw_dir) -> None:
    """Joining CoNLL-2003 validation's words with single spaces and splitting again gives them back."""
    table = read_conll(raw_dir / "conll2003" / "validation.txt")
    same = sum(split_words(" ".join(words))[0] == list(words) for words in table["words"])
    agreement = same / len(table)
    print(f"split agreement on CoNLL-2003 validation: {same}/{len(table)} = {agreement:.4%}")
    assert agreement >= 0.995


def test_word_offsets_missing_word():
    with pytest.raises(ValueError, match="not found"):
        word_offsets("a b", ["a", "c"])


def test_group_entities_with_offsets_and_scores():
    text = "Rain hit the new iPhone 15 Pro launch"
    words, offsets = split_words(text)
    tags = ["B-WEATHER", "O", "O", "O", "B-TECH", "I-TECH", "I-TECH", "O"]
    scores = [0.9, 1, 1, 1, 0.8, 0.6, 0.7, 1]
    ents = group_entities(text, tags, offsets, scores)
    assert [(e.type, e.text, e.start, e.end) for e in ents] == [("WEATHER", "Rain", 0, 4), ("TECH", "iPhone 15 Pro", 17, 30)]
    assert ents[1].score == pytest.approx(0.7)


def test_stray_i_starts_an_entity_and_type_change_splits():
    text = "a b c d"
    _, offsets = split_words(text)
    ents = group_entities(text, ["I-TECH", "I-WEATHER", "B-TECH", "B-TECH"], offsets)
    assert [(e.type, e.text) for e in ents] == [("TECH", "a"), ("WEATHER", "b"), ("TECH", "c"), ("TECH", "d")]


def test_unknown_strategy():
    with pytest.raises(ValueError, match="first, all"):
        check_alignment("last")
