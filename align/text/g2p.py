"""Pronunciations for words that are not in the dictionary.

Two methods, tried in this order by :class:`align.text.lexicon.Lexicon`:

1. **espeak-ng** (:func:`espeak_arpabet`): the ``libespeak-ng`` shared library
   and its data shipped by the ``espeakng_loader`` package, called through
   ctypes (``espeak_Initialize``, ``espeak_SetVoiceByName``,
   ``espeak_TextToPhonemes``). espeak's ASCII phoneme mnemonics for ``en-us``
   are mapped to the acoustic model's 39 ARPAbet phones with
   :data:`ESPEAK_TO_ARPABET` (below).
2. **Letter-to-sound rules** (:func:`letter_to_sound`): a small, greedy
   grapheme table. Crude, but it never fails: any word with at least one letter
   gets at least one phone. A word with no vowel letters (``"bcdfg"``) is read
   letter by letter, as acronyms are.

The espeak mapping table (espeak ``en-us`` mnemonic -> ARPAbet). Stress marks
(``'`` ``,``), syllable and length marks (``%`` ``=`` ``;`` ``:`` ``|``) are
dropped first; every mnemonic espeak-ng emits for the 134k words of CMUdict is
covered (a test checks this on a word list).

=========  ========  ================================================
espeak     ARPAbet   as in / note
=========  ========  ================================================
a          AE        trap
a#         AH        reduced a ("about")
aa         AE        bath (US)
A:         AA        father, spa
A@         AA R      start
A~         AA        nasal vowel of French loans
0          AA        lot (US)
O O: O2    AO        thought, cloth
O@ o@      AO R      north, force
O~         AO        nasal vowel of French loans
o oU       OW        goat
OI         OY        choice
@ @- @2    AH        schwa
@5 V       AH        schwa; strut
@L         AH L      syllabic l ("little")
3 3:       ER        letter, nurse
E e        EH        dress
e@         EH R      square
eI         EY        face
I I# I2    IH        kit and its reduced forms
i i:       IY        happy, fleece
i@         IY AH     "-ia" ("abasia")
i@3        IH R      near
U          UH        foot
U@         UH R      cure
u u:       UW        goose
aI         AY        price
aI@        AY AH     "-ion" ("science")
aI3        AY ER     fire
aU         AW        mouth
aU@        AW ER     hour
b d f g    B D F G
k l m n    K L M N
p r s t    P R S T
v w z      V W Z
h          HH
j          Y
D          DH        this
T          TH        thin
S          SH        ship
Z          ZH        vision
N          NG        sing
tS         CH        church
dZ         JH        judge
t# t2 d#   T T D     flap and variants
l# l/      L         dark/final l
n- m- r-   N M R     syllabic consonants
?          T         glottal stop ("button")
x C        K HH      loch, ich
W          W         which
=========  ========  ================================================
"""

import ctypes
import functools
import re
import threading
import unicodedata

from ..exceptions import BackendUnavailableError, ParameterError

__all__ = [
    "ARPABET",
    "ESPEAK_TO_ARPABET",
    "espeak_available",
    "espeak_phonemes",
    "espeak_to_arpabet",
    "espeak_arpabet",
    "letter_to_sound",
]

#: The 39 phones of the CMUdict / PocketSphinx en-us acoustic model.
ARPABET = (
    "AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG "
    "OW OY P R S SH T TH UH UW V W Y Z ZH"
).split()

ESPEAK_TO_ARPABET = {
    # vowels
    "a": ["AE"], "a#": ["AH"], "aa": ["AE"], "A:": ["AA"], "A@": ["AA", "R"], "A~": ["AA"],
    "0": ["AA"], "O": ["AO"], "O:": ["AO"], "O2": ["AO"], "O@": ["AO", "R"], "o@": ["AO", "R"],
    "O~": ["AO"], "o": ["OW"], "oU": ["OW"], "OI": ["OY"],
    "@": ["AH"], "@-": ["AH"], "@2": ["AH"], "@5": ["AH"], "V": ["AH"], "@L": ["AH", "L"],
    "3": ["ER"], "3:": ["ER"],
    "E": ["EH"], "e": ["EH"], "e@": ["EH", "R"], "eI": ["EY"],
    "I": ["IH"], "I#": ["IH"], "I2": ["IH"], "i": ["IY"], "i:": ["IY"],
    "i@": ["IY", "AH"], "i@3": ["IH", "R"],
    "U": ["UH"], "U@": ["UH", "R"], "u": ["UW"], "u:": ["UW"],
    "aI": ["AY"], "aI@": ["AY", "AH"], "aI3": ["AY", "ER"], "aU": ["AW"], "aU@": ["AW", "ER"],
    # consonants
    "b": ["B"], "c": ["K"], "d": ["D"], "f": ["F"], "g": ["G"], "k": ["K"], "l": ["L"], "m": ["M"],
    "n": ["N"], "p": ["P"], "r": ["R"], "s": ["S"], "t": ["T"], "v": ["V"], "w": ["W"],
    "z": ["Z"], "h": ["HH"], "j": ["Y"], "D": ["DH"], "T": ["TH"], "S": ["SH"], "Z": ["ZH"],
    "N": ["NG"], "tS": ["CH"], "dZ": ["JH"], "t#": ["T"], "t2": ["T"], "d#": ["D"],
    "l#": ["L"], "l/": ["L"], "n-": ["N"], "m-": ["M"], "r-": ["R"], "?": ["T"],
    "x": ["K"], "C": ["HH"], "W": ["W"],
}  # fmt: skip

_SEPARATOR = "_"
_DROP = str.maketrans("", "", "'\",%=;|")

# --------------------------------------------------------------------------- espeak


class _Espeak:
    """The espeak-ng library, loaded and initialised once per process."""

    def __init__(self):
        self.lock = threading.Lock()
        self.lib = None
        self.error = None

    def load(self):
        if self.lib is not None or self.error is not None:
            return self.lib
        try:
            import espeakng_loader

            lib = ctypes.CDLL(espeakng_loader.get_library_path())
            lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
            lib.espeak_Initialize.restype = ctypes.c_int
            lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
            lib.espeak_SetVoiceByName.restype = ctypes.c_int
            lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
            lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
            # AUDIO_OUTPUT_SYNCHRONOUS (2): no audio device is opened.
            rate = lib.espeak_Initialize(2, 0, espeakng_loader.get_data_path().encode(), 0)
            if rate <= 0:
                raise OSError(f"espeak_Initialize returned {rate}")
        except (ImportError, OSError, AttributeError, RuntimeError) as exc:
            self.error = exc
            return None
        self.lib = lib
        return lib


_ESPEAK = _Espeak()


def espeak_available():
    """True if the espeak-ng library (from ``espeakng_loader``) loads and initialises."""
    with _ESPEAK.lock:
        return _ESPEAK.load() is not None


@functools.lru_cache(maxsize=65536)
def _espeak_phonemes_cached(text, voice):
    with _ESPEAK.lock:
        lib = _ESPEAK.load()
        if lib is None:
            raise BackendUnavailableError(
                f"espeak-ng is not available ({_ESPEAK.error}); install it with "
                f"`pip install espeakng-loader`, or use g2p='rules'"
            )
        # Set the voice on every call: another part of the program may share the
        # library (espeak keeps one global voice) and have switched it.
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ParameterError(f"espeak-ng has no voice {voice!r}; use e.g. 'en-us'")
        buf = ctypes.create_string_buffer(text.encode("utf-8"))
        ptr = ctypes.c_char_p(ctypes.addressof(buf))
        chunks = []
        # espeak converts one clause per call and advances the pointer; NULL at the end.
        while ptr.value:
            out = lib.espeak_TextToPhonemes(ctypes.byref(ptr), 1, ord(_SEPARATOR) << 8)
            if out:
                chunks.append(out.decode("utf-8", "replace"))
    tokens = []
    for chunk in chunks:
        for tok in chunk.replace(" ", _SEPARATOR).split(_SEPARATOR):
            tok = tok.translate(_DROP)
            tok = re.sub(":+", ":", tok)
            if tok and tok != ":":
                tokens.append(tok)
    return tuple(tokens)


def espeak_phonemes(text, *, voice="en-us"):
    """espeak-ng's ASCII phoneme mnemonics for ``text``, stress marks removed.

    Parameters
    ----------
    text : str
    voice : str
        An espeak-ng voice name.

    Returns
    -------
    list of str
        e.g. ``espeak_phonemes("thought") == ["T", "O:", "t"]``.

    Raises
    ------
    BackendUnavailableError
        If the espeak-ng library cannot be loaded.
    ParameterError
        If ``voice`` is unknown to espeak-ng.
    """
    return list(_espeak_phonemes_cached(str(text), voice))


def espeak_to_arpabet(tokens):
    """Map espeak mnemonics to ARPAbet with :data:`ESPEAK_TO_ARPABET`.

    A mnemonic missing from the table is retried without a trailing ``#``,
    digit or ``:`` (espeak's variant markers); if it is still unknown it is
    skipped.

    Returns
    -------
    list of str
        ARPAbet phones (a subset of :data:`ARPABET`).
    """
    phones = []
    for tok in tokens:
        mapped = ESPEAK_TO_ARPABET.get(tok)
        if mapped is None:
            mapped = ESPEAK_TO_ARPABET.get(tok.rstrip("#:0123456789"), [])
        phones.extend(mapped)
    return phones


def espeak_arpabet(word, *, voice="en-us"):
    """ARPAbet phones of ``word`` from espeak-ng (see the module's mapping table).

    Raises
    ------
    BackendUnavailableError
        If the espeak-ng library cannot be loaded.
    """
    return espeak_to_arpabet(espeak_phonemes(word, voice=voice))


# --------------------------------------------------------------------------- rules

_LETTER_NAMES = {
    "a": ["EY"], "b": ["B", "IY"], "c": ["S", "IY"], "d": ["D", "IY"], "e": ["IY"],
    "f": ["EH", "F"], "g": ["JH", "IY"], "h": ["EY", "CH"], "i": ["AY"], "j": ["JH", "EY"],
    "k": ["K", "EY"], "l": ["EH", "L"], "m": ["EH", "M"], "n": ["EH", "N"], "o": ["OW"],
    "p": ["P", "IY"], "q": ["K", "Y", "UW"], "r": ["AA", "R"], "s": ["EH", "S"], "t": ["T", "IY"],
    "u": ["Y", "UW"], "v": ["V", "IY"], "w": ["D", "AH", "B", "AH", "L", "Y", "UW"],
    "x": ["EH", "K", "S"], "y": ["W", "AY"], "z": ["Z", "IY"],
}  # fmt: skip

# Longest graphemes first; checked greedily left to right.
_GRAPHEMES = {
    "tch": ["CH"], "sch": ["S", "K"], "igh": ["AY"], "ough": ["AO"], "eau": ["OW"],
    "ch": ["CH"], "sh": ["SH"], "th": ["TH"], "ph": ["F"], "wh": ["W"], "ng": ["NG"],
    "ck": ["K"], "qu": ["K", "W"], "gh": ["G"], "kn": ["N"], "wr": ["R"], "dg": ["JH"],
    "ee": ["IY"], "ea": ["IY"], "ie": ["IY"], "ei": ["EY"], "ey": ["EY"], "oo": ["UW"],
    "ou": ["AW"], "ow": ["OW"], "oa": ["OW"], "oi": ["OY"], "oy": ["OY"], "ai": ["EY"],
    "ay": ["EY"], "au": ["AO"], "aw": ["AO"], "ew": ["UW"], "ue": ["UW"],
    "ar": ["AA", "R"], "er": ["ER"], "ir": ["ER"], "ur": ["ER"], "or": ["AO", "R"],
    "a": ["AE"], "e": ["EH"], "i": ["IH"], "o": ["AA"], "u": ["AH"],
    "b": ["B"], "c": ["K"], "d": ["D"], "f": ["F"], "g": ["G"], "h": ["HH"], "j": ["JH"], "k": ["K"],
    "l": ["L"], "m": ["M"], "n": ["N"], "p": ["P"], "q": ["K"], "r": ["R"], "s": ["S"],
    "t": ["T"], "v": ["V"], "w": ["W"], "x": ["K", "S"], "z": ["Z"],
}  # fmt: skip
_MAX_GRAPHEME = max(len(g) for g in _GRAPHEMES)
_VOWELS = set("aeiouy")


def _ascii_letters(word):
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if "a" <= c <= "z")


def letter_to_sound(word):
    """Crude English letter-to-sound rules; never fails.

    Parameters
    ----------
    word : str
        Any string. Accents are stripped; characters other than a-z are ignored.

    Returns
    -------
    list of str
        ARPAbet phones; at least one for any input that contains a letter
        (a word in a non-Latin script gets the placeholder ``["AH"]``), and an
        empty list for input with no letters at all.

    Notes
    -----
    Greedy longest match over a grapheme table (``tch`` CH, ``ee`` IY, ``ar``
    AA R, single vowels as their short sounds), ``c`` and ``g`` soft before
    ``e i y``, ``y`` a consonant at the start and a vowel elsewhere, a final
    silent ``e`` after a consonant, doubled consonants read once. Words without
    any vowel letter are spelled out letter by letter.
    """
    letters = _ascii_letters(word)
    if not letters:
        return ["AH"] if any(c.isalpha() for c in word) else []
    if not _VOWELS & set(letters):
        return [p for c in letters for p in _LETTER_NAMES[c]]
    # silent final e ("make"), but not in short words ("be", "the")
    if len(letters) > 3 and letters.endswith("e") and letters[-2] not in _VOWELS and _VOWELS & set(letters[:-2]):
        letters = letters[:-1]
    phones = []
    i = 0
    n = len(letters)
    while i < n:
        c = letters[i]
        nxt = letters[i + 1] if i + 1 < n else ""
        if c == "y":
            phones += ["Y"] if i == 0 and nxt in _VOWELS else (["IY"] if i == n - 1 else ["IH"])
            i += 1
            continue
        if c in "cg" and nxt in ("e", "i", "y") and letters[i : i + 2] not in _GRAPHEMES:
            phones += ["S"] if c == "c" else ["JH"]
            i += 1
            continue
        for size in range(min(_MAX_GRAPHEME, n - i), 0, -1):
            chunk = letters[i : i + size]
            if chunk in _GRAPHEMES:
                mapped = _GRAPHEMES[chunk]
                # a doubled consonant is one sound ("ll", "ss")
                if not (size == 1 and phones and c not in _VOWELS and i > 0 and letters[i - 1] == c):
                    phones += mapped
                i += size
                break
        else:  # unreachable: every a-z letter is a grapheme
            i += 1
    return phones or ["AH"]
