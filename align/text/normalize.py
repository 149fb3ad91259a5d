"""Text normalisation for English forced alignment: written text -> spoken words.

The aligner needs the words a speaker *says*. :func:`normalize` turns a
transcript into :class:`Token` objects, one per written token, each holding the
original text, its character span in the input and the spoken words it expands
to; :func:`normalize_text` returns just the flat list of spoken words.

What is done, in order, on each written token:

- Unicode quotes and dashes are unified (``’`` -> ``'``, ``—`` -> a break).
- Case is folded to the dictionary's case (lower case for CMUdict).
- Numbers are spelled out (US English, no "and"):

  ========================  ===============================================
  written                   spoken
  ========================  ===============================================
  ``42``, ``1,000``         forty two; one thousand
  ``21st``, ``3rd``         twenty first; third
  ``1961``, ``2005``        nineteen sixty one; two thousand five (years:
                            bare four-digit numbers 1100-2099 except
                            2000-2009 read "two thousand ...")
  ``1990s``                 nineteen nineties
  ``3.14``                  three point one four
  ``$5``, ``$5.50``         five dollars; five dollars and fifty cents
                            (``£`` pounds/pence, ``€`` euros/cents, and a
                            following "million" etc. moves before the unit)
  ``12%``                   twelve percent
  ``10:30``, ``7:05``       ten thirty; seven oh five (``10:00`` ten o'clock)
  ``-3``                    minus three
  ========================  ===============================================

- Abbreviations: ``Mr. Mrs. Ms. Dr. St. Jr. Sr. Prof. Mt. Gen. Gov. Capt.
  Lt. Col. Sgt. Rev. Hon. vs. etc. e.g. i.e. Inc. Ltd. Co. No.`` (``St.``
  is "saint" before a capitalised word, else "street"; ``No.`` is "number"
  only before a digit). Other dotted initialisms (``U.S.A.``) are kept when the
  lexicon has them, else spelled letter by letter.
- Symbols: ``&`` and, ``%`` percent, ``+`` plus, ``@`` at, ``=`` equals.
- Punctuation is dropped. Word-internal apostrophes are kept (``don't``,
  ``o'brien``); leading and trailing ones are dropped unless the lexicon has the
  word with them (``'em``). Hyphenated words are kept whole when the lexicon
  has them (``well-known``), otherwise split at the hyphens
  (``twenty-one`` -> twenty one).

Without a lexicon (``lexicon=None``) the output is lower case, hyphenated words
are split and edge apostrophes are dropped.
"""

import re
import unicodedata
from dataclasses import dataclass

__all__ = [
    "Token",
    "normalize",
    "normalize_text",
    "number_to_words",
    "ordinal_to_words",
    "year_to_words",
]

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = [
    (10**12, "trillion"),
    (10**9, "billion"),
    (10**6, "million"),
    (10**3, "thousand"),
]
_ORDINAL_IRREGULAR = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
_SCALE_WORDS = {"hundred", "thousand", "million", "billion", "trillion"}

_ABBREVIATIONS = {
    "mr": ["mister"],
    "mrs": ["missus"],
    "ms": ["ms"],
    "dr": ["doctor"],
    "jr": ["junior"],
    "sr": ["senior"],
    "prof": ["professor"],
    "mt": ["mount"],
    "gen": ["general"],
    "gov": ["governor"],
    "capt": ["captain"],
    "lt": ["lieutenant"],
    "col": ["colonel"],
    "sgt": ["sergeant"],
    "rev": ["reverend"],
    "hon": ["honorable"],
    "vs": ["versus"],
    "etc": ["et", "cetera"],
    "inc": ["incorporated"],
    "ltd": ["limited"],
    "co": ["company"],
    "jan": ["january"],
    "feb": ["february"],
    "aug": ["august"],
    "sept": ["september"],
    "oct": ["october"],
    "nov": ["november"],
    "dec": ["december"],
    "approx": ["approximately"],
    "dept": ["department"],
    "ave": ["avenue"],
    "blvd": ["boulevard"],
}
# These expand without a period too ("Mr Smith" in British style).
_NO_PERIOD_NEEDED = {"mr", "mrs", "dr", "vs", "etc"}
_DOTTED = {
    "e.g.": ["for", "example"],
    "i.e.": ["that", "is"],
    "a.m.": ["a", "m"],
    "p.m.": ["p", "m"],
}
_SYMBOLS = {"&": ["and"], "%": ["percent"], "+": ["plus"], "@": ["at"], "=": ["equals"]}
_CURRENCY = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"),
}

_QUOTE_MAP = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "‐": "-", "‑": "-"})

# One alternation; the order matters (currency before numbers before words).
_TOKEN_RE = re.compile(
    r"""
    (?P<currency>[$£€]\d(?:[\d,]*\d)?(?:\.\d+)?)
    | (?P<time>\b\d{1,2}:\d{2}\b)
    | (?P<number>(?:(?<![^\s(])[-−])?\d(?:[\d,]*\d)?(?:\.\d+)?(?:%|st\b|nd\b|rd\b|th\b|s\b|'s\b)?)
    | (?P<dotted>(?:[^\W\d_]\.){2,})
    | (?P<word>'?[^\W\d_]+(?:['\-][^\W\d_]+)*'?\.?)
    | (?P<symbol>[&%+@=])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    """One written token and the spoken words it expands to.

    Attributes
    ----------
    text : str
        The token as written (``"$5"``, ``"Dr."``, ``"twenty-one"``).
    start, end : int
        Its character span in the input: ``input[start:end] == text``.
    words : tuple of str
        The spoken words, in the dictionary's case (``("five", "dollars")``).
    """

    text: str
    start: int
    end: int
    words: tuple

    @property
    def spoken(self):
        """The spoken words joined by spaces (``"five dollars"``)."""
        return " ".join(self.words)


def _under_thousand(n):
    words = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words += [_ONES[hundreds], "hundred"]
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        words.append(_TENS[tens])
        if ones:
            words.append(_ONES[ones])
    elif rest:
        words.append(_ONES[rest])
    return words


def number_to_words(n):
    """Spell a whole number in US English words.

    Parameters
    ----------
    n : int
        Any integer; magnitudes of 10**15 and above are read digit by digit.

    Returns
    -------
    list of str
        e.g. ``number_to_words(1961) == ["one", "thousand", "nine", "hundred",
        "sixty", "one"]``.
    """
    n = int(n)
    if n < 0:
        return ["minus"] + number_to_words(-n)
    if n == 0:
        return ["zero"]
    if n >= 10**15:
        return [_ONES[int(d)] for d in str(n)]
    words = []
    for value, name in _SCALES:
        if n >= value:
            count, n = divmod(n, value)
            words += _under_thousand(count) + [name]
    return words + _under_thousand(n)


def _ordinalize(words):
    last = words[-1]
    if last in _ORDINAL_IRREGULAR:
        last = _ORDINAL_IRREGULAR[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last = last + "th"
    return words[:-1] + [last]


def ordinal_to_words(n):
    """Spell an ordinal: ``21 -> ["twenty", "first"]``, ``100 -> ["one", "hundredth"]``."""
    return _ordinalize(number_to_words(n))


def year_to_words(n):
    """Read a year the way people say it.

    ``1961`` nineteen sixty one, ``1905`` nineteen oh five, ``1900`` nineteen
    hundred, ``2000`` two thousand, ``2005`` two thousand five, ``2019`` twenty
    nineteen. Years outside 1100-2099 (and multiples of 1000) are read as cardinals.
    """
    n = int(n)
    if not 1100 <= n <= 2099 or 2000 <= n <= 2009 or n % 1000 == 0:
        return number_to_words(n)
    head, tail = divmod(n, 100)
    words = number_to_words(head)
    if tail == 0:
        return words + ["hundred"]
    if tail < 10:
        return words + ["oh", _ONES[tail]]
    return words + number_to_words(tail)


def _pluralize(words):
    last = words[-1]
    if last.endswith("y"):
        last = last[:-1] + "ies"
    elif last.endswith(("x", "s")):
        last = last + "es"
    else:
        last = last + "s"
    return words[:-1] + [last]


def _digits(s):
    return [_ONES[int(d)] for d in s]


def _plain_number(s):
    """'1,234.5' -> words; a four-digit integer without commas reads as a year."""
    negative = s[0] in "-−"
    s = s.lstrip("-−")
    whole, _, frac = s.partition(".")
    whole_digits = whole.replace(",", "")
    if not whole_digits:
        whole_digits = "0"
    if not negative and not frac and "," not in whole and len(whole_digits) == 4:
        words = year_to_words(int(whole_digits))
    elif len(whole_digits) > 1 and whole_digits.startswith("0") and "," not in whole:
        words = _digits(whole_digits)  # "007", zip codes: digit by digit
    else:
        words = number_to_words(int(whole_digits))
    if frac:
        words = words + ["point"] + _digits(frac)
    return (["minus"] if negative else []) + words


def _number_token(s):
    if s.endswith("%"):
        return _plain_number(s[:-1]) + ["percent"]
    low = s.lower()
    if low.endswith(("st", "nd", "rd", "th")):
        return ordinal_to_words(int(s[:-2].replace(",", "")))
    if low.endswith("'s"):
        return _pluralize(_plain_number(s[:-2]))
    if low.endswith("s"):
        return _pluralize(_plain_number(s[:-1]))
    return _plain_number(s)


def _currency_token(s, scale=None):
    one, many, sub_one, sub_many = _CURRENCY[s[0]]
    amount = s[1:]
    whole, _, frac = amount.partition(".")
    whole_n = int(whole.replace(",", "") or 0)
    if scale is not None:
        # "$1.5 million" -> one point five million dollars
        return _plain_number(amount) + [scale, many]
    words = []
    cents = None
    if frac:
        if len(frac) == 2:
            cents = int(frac)
        else:
            return _plain_number(amount) + [many]
    if whole_n or not cents:
        words = number_to_words(whole_n) + [one if whole_n == 1 else many]
    if cents:
        if words:
            words.append("and")
        words += number_to_words(cents) + [sub_one if cents == 1 else sub_many]
    return words


def _time_token(s):
    h, m = s.split(":")
    h, m = int(h), int(m)
    if m >= 60 or h > 24:
        return number_to_words(h) + number_to_words(m)
    if m == 0:
        return number_to_words(h) + ["o'clock"]
    if m < 10:
        return number_to_words(h) + ["oh", _ONES[m]]
    return number_to_words(h) + number_to_words(m)


def _has(lexicon, word):
    return lexicon is not None and word in lexicon


def _word_token(raw, following, lexicon):
    """Spoken words for a letters token, and whether its final period belongs to it."""
    has_period = raw.endswith(".")
    core = raw[:-1] if has_period else raw
    low = core.lower()
    if has_period or low in _NO_PERIOD_NEEDED:
        if low in _ABBREVIATIONS and (has_period or low in _NO_PERIOD_NEEDED):
            return list(_ABBREVIATIONS[low]), has_period
        if low == "st" and has_period:
            nxt = following.lstrip()
            return ["saint" if nxt[:1].isupper() else "street"], True
        if low == "no" and has_period and re.match(r"\s*\d", following):
            return ["number"], True
    # not an abbreviation: a final period is sentence punctuation
    if _has(lexicon, low):
        return [low], False
    stripped = low.strip("'")
    if "-" in stripped and not _has(lexicon, stripped):
        return [p.strip("'") for p in stripped.split("-") if p.strip("'")], False
    return ([stripped] if stripped else []), False


def normalize(text, *, lexicon=None):
    """Split ``text`` into written tokens and their spoken words.

    Parameters
    ----------
    text : str
        The transcript.
    lexicon : Lexicon or None
        Used to decide whether to keep hyphenated words, edge apostrophes and
        dotted initialisms whole (see the module docstring). Anything with
        ``__contains__`` works.

    Returns
    -------
    list of Token
        In text order; punctuation-only tokens are dropped. ``text[t.start:t.end]
        == t.text`` for every token.

    Examples
    --------
    >>> [(t.text, t.words) for t in normalize("Dr. Who paid $5.")]
    [('Dr.', ('doctor',)), ('Who', ('who',)), ('paid', ('paid',)), ('$5', ('five', 'dollars'))]
    """
    if not isinstance(text, str):
        from ..exceptions import ParameterError

        raise ParameterError(f"text must be a str, got {type(text).__name__}")
    # Same length as the input (one character for one), so spans stay valid.
    work = unicodedata.normalize("NFC", text)
    if len(work) != len(text):
        work = text
    work = work.translate(_QUOTE_MAP)
    tokens = []
    matches = list(_TOKEN_RE.finditer(work))
    skip = False
    for i, m in enumerate(matches):
        if skip:
            skip = False
            continue
        kind = m.lastgroup
        s, start, end = m.group(), m.start(), m.end()
        following = work[end:]
        if kind == "currency":
            nxt = matches[i + 1] if i + 1 < len(matches) else None
            scale = None
            if (
                nxt is not None
                and nxt.lastgroup == "word"
                and nxt.group().rstrip(".").lower() in _SCALE_WORDS - {"hundred"}
                and not work[end:nxt.start()].strip()
            ):
                scale = nxt.group().rstrip(".").lower()
                end = nxt.start() + len(scale)
                skip = True
            words = _currency_token(s, scale)
        elif kind == "time":
            words = _time_token(s)
        elif kind == "number":
            words = _number_token(s)
        elif kind == "dotted":
            low = s.lower()
            if low in _DOTTED:
                words = list(_DOTTED[low])
            elif _has(lexicon, low):
                words = [low]
            else:
                words = [c for c in low if c != "."]
        elif kind == "symbol":
            words = list(_SYMBOLS[s])
        else:
            words, keep_period = _word_token(s, following, lexicon)
            shown = s if keep_period or not s.endswith(".") else s[:-1]
            lead = len(shown) - len(shown.lstrip("'"))
            trail = len(shown) - len(shown.rstrip("'"))
            if (lead or trail) and not _has(lexicon, shown.lower()):
                # quotes and possessive apostrophes at the edges are punctuation
                shown = shown[lead : len(shown) - trail]
                start += lead
            end = start + len(shown)
        if lexicon is not None and getattr(lexicon, "case", "lower") == "upper":
            words = [w.upper() for w in words]
        if words:
            tokens.append(Token(text[start:end], start, end, tuple(words)))
    return tokens


def normalize_text(text, *, lexicon=None):
    """The spoken words of ``text``, flattened (see :func:`normalize`).

    Examples
    --------
    >>> normalize_text("In 1961, the 21st of Jan. cost $5 & 12%!")
    ['in', 'nineteen', 'sixty', 'one', 'the', 'twenty', 'first', 'of', 'january', 'cost', 'five', 'dollars', 'and', 'twelve', 'percent']
    """
    return [w for t in normalize(text, lexicon=lexicon) for w in t.words]
