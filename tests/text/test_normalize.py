import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from align.exceptions import ParameterError
from align.text.normalize import (
    normalize,
    normalize_text,
    number_to_words,
    ordinal_to_words,
    year_to_words,
)


def words(text, **kw):
    return " ".join(normalize_text(text, **kw))


@pytest.mark.parametrize(
    "n, spoken",
    [
        (0, "zero"), (7, "seven"), (13, "thirteen"), (20, "twenty"), (42, "forty two"),
        (100, "one hundred"), (101, "one hundred one"), (999, "nine hundred ninety nine"),
        (1000, "one thousand"), (1001, "one thousand one"),
        (123456, "one hundred twenty three thousand four hundred fifty six"),
        (2_000_000, "two million"), (1_000_000_001, "one billion one"),
        (-5, "minus five"), (10**15, "one zero zero zero zero zero zero zero zero zero zero zero zero zero zero zero"),
    ],
)
def test_cardinals(n, spoken):
    assert " ".join(number_to_words(n)) == spoken


@pytest.mark.parametrize(
    "n, spoken",
    [(1, "first"), (2, "second"), (3, "third"), (4, "fourth"), (5, "fifth"), (8, "eighth"),
     (9, "ninth"), (12, "twelfth"), (20, "twentieth"), (21, "twenty first"),
     (100, "one hundredth"), (1003, "one thousand third")],
)
def test_ordinals(n, spoken):
    assert " ".join(ordinal_to_words(n)) == spoken


@pytest.mark.parametrize(
    "n, spoken",
    [(1961, "nineteen sixty one"), (1905, "nineteen oh five"), (1900, "nineteen hundred"),
     (2000, "two thousand"), (2005, "two thousand five"), (2019, "twenty nineteen"),
     (1066, "one thousand sixty six"), (1100, "eleven hundred")],
)
def test_years(n, spoken):
    assert " ".join(year_to_words(n)) == spoken


@pytest.mark.parametrize(
    "text, spoken",
    [
        ("In 1961, he said", "in nineteen sixty one he said"),
        ("the 1st and 21st and 3rd", "the first and twenty first and third"),
        ("1,000,000 people", "one million people"),
        ("pi is 3.14", "pi is three point one four"),
        ("$5", "five dollars"),
        ("$1", "one dollar"),
        ("$5.50", "five dollars and fifty cents"),
        ("$0.99", "ninety nine cents"),
        ("$1.5 million", "one point five million dollars"),
        ("£3", "three pounds"),
        ("€2.01", "two euros and one cent"),
        ("12% of 50.5%", "twelve percent of fifty point five percent"),
        ("the 1990s", "the nineteen nineties"),
        ("at 10:30 or 7:05 or 10:00", "at ten thirty or seven oh five or ten o'clock"),
        ("-4 degrees", "minus four degrees"),
        ("agent 007", "agent zero zero seven"),
        ("pages 3-5", "pages three five"),
        ("Mr. and Mrs. Smith met Dr. Jones", "mister and missus smith met doctor jones"),
        ("Mr Smith", "mister smith"),
        ("St. Louis is on Main St.", "saint louis is on main street"),
        ("No. 5, no.", "number five no"),
        ("cats, dogs, etc.", "cats dogs et cetera"),
        ("Jan. 21st", "january twenty first"),
        ("Tom & Jerry", "tom and jerry"),
        ("e.g. this, i.e. that", "for example this that is that"),
        ("the U.S.A.", "the u s a"),
        ("twenty-one well-known", "twenty one well known"),
        ("Don't stop!", "don't stop"),
        ("O'Brien's dog", "o'brien's dog"),
        ("James' dog", "james dog"),
        ("“quoted” — ‘single’ …", "quoted single"),
        ("It’s", "it's"),
        ("HELLO, World!!", "hello world"),
        ("café naïve", "café naïve"),
        ("a+b=c @home", "a plus b equals c at home"),
        ("", ""),
        ("?!.,;", ""),
    ],
)
def test_normalize_text(text, spoken):
    assert words(text) == spoken


def test_lexicon_keeps_hyphenated_and_apostrophes():
    lexicon = {"well-known", "'em", "u.s."}
    assert words("well-known twenty-one", lexicon=lexicon) == "well-known twenty one"
    assert words("get 'em", lexicon=lexicon) == "get 'em"
    assert words("get 'em") == "get em"
    assert words("the U.S.", lexicon=lexicon) == "the u.s."


def test_spans_map_back_to_original():
    text = "Dr. Who paid $5.50 on Jan. 21st, 1961 — didn't he?"
    tokens = normalize(text)
    assert [(t.text, t.words) for t in tokens] == [
        ("Dr.", ("doctor",)), ("Who", ("who",)), ("paid", ("paid",)),
        ("$5.50", ("five", "dollars", "and", "fifty", "cents")), ("on", ("on",)),
        ("Jan.", ("january",)), ("21st", ("twenty", "first")),
        ("1961", ("nineteen", "sixty", "one")), ("didn't", ("didn't",)), ("he", ("he",)),
    ]
    for t in tokens:
        assert text[t.start:t.end] == t.text


def test_sentence_period_not_in_span():
    (tok,) = normalize("end.")
    assert (tok.text, tok.start, tok.end) == ("end", 0, 3)


def test_currency_with_scale_span():
    text = "a $2 billion deal"
    tok = normalize(text)[1]
    assert tok.text == "$2 billion" and tok.words == ("two", "billion", "dollars")
    assert text[tok.start:tok.end] == tok.text


def test_not_a_string():
    with pytest.raises(ParameterError, match=r"text must be a str, got int"):
        normalize(5)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab1.$%&'-,:;  €9xY’—")), max_size=25))
def test_spans_always_valid(text):
    for t in normalize(text):
        assert text[t.start:t.end] == t.text
        assert t.words and all(w and " " not in w for w in t.words)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=10**15 - 1))
def test_number_words_are_known_words(n):
    vocab = set(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy "
        "eighty ninety hundred thousand million billion trillion".split()
    )
    spoken = number_to_words(n)
    assert set(spoken) <= vocab
    assert len(spoken) <= 30


_UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen".split())}
_UNITS.update({w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)})
_SCALE = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}


def _parse(spoken):
    """An independent words -> number reader, to check number_to_words both ways."""
    total = current = 0
    for w in spoken:
        if w in _UNITS:
            current += _UNITS[w]
        elif w == "hundred":
            current *= 100
        else:
            total += current * _SCALE[w]
            current = 0
    return total + current


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**15 - 1))
def test_number_words_read_back(n):
    assert _parse(number_to_words(n)) == n


def test_token_spoken():
    (tok,) = normalize("$5")
    assert tok.spoken == "five dollars"
