"""The pronunciation lexicon: CMUdict first, then espeak-ng, then letter-to-sound rules.

:meth:`Lexicon.load` reads the CMU pronouncing dictionary shipped with the
``pocketsphinx`` package (``<pocketsphinx.get_model_path()>/en-us/cmudict-en-us.dict``,
134k words, lower case, alternates written ``word(2)``), or any file in the same
format (upper-case CMUdict with stress digits works too: keys are folded to lower
case and stress digits are stripped). :meth:`Lexicon.pronounce` never fails:

1. the dictionary (all pronunciations, in file order);
2. a possessive of a dictionary word (``o'brien's`` -> ``o'brien`` + Z);
3. a hyphenated compound, or a token holding digits, pronounced part by part;
4. espeak-ng, mapped to ARPAbet (:mod:`align.text.g2p`);
5. letter-to-sound rules.

:meth:`Lexicon.lookup` says which of these answered (``source``), so the aligner
can list the words that were not in the dictionary.
"""

import collections.abc
import functools
import os
import re
import unicodedata
from typing import NamedTuple

from ..exceptions import ParameterError
from . import g2p as _g2p

__all__ = ["Lexicon", "Pronunciation", "default_dictionary_path"]

_ARPABET = frozenset(_g2p.ARPABET)
_VARIANT_RE = re.compile(r"^(.*)\((\d+)\)$")
_VOICELESS = {"P", "T", "K", "F", "TH"}
_SIBILANTS = {"S", "Z", "SH", "ZH", "CH", "JH"}


class Pronunciation(NamedTuple):
    """The answer of :meth:`Lexicon.lookup`.

    Attributes
    ----------
    word : str
        The word as looked up (case-folded).
    variants : list of list of str
        One or more pronunciations, each a list of ARPAbet phones without
        stress digits. Never empty for a word with letters.
    source : str
        "dictionary" (also for possessives and compounds built from dictionary
        words), "espeak" or "rules".
    """

    word: str
    variants: list
    source: str

    @property
    def known(self):
        """True when the dictionary had the word (or all of its parts)."""
        return self.source == "dictionary"


def default_dictionary_path():
    """Path of the CMU dictionary inside the installed ``pocketsphinx`` package.

    Raises
    ------
    BackendUnavailableError
        If ``pocketsphinx`` is not installed.
    """
    from ..exceptions import BackendUnavailableError

    try:
        import pocketsphinx
    except ImportError as exc:
        raise BackendUnavailableError(
            "the default pronunciation dictionary comes with the pocketsphinx package, "
            "which is not installed; `pip install pocketsphinx` or pass path= to Lexicon.load"
        ) from exc
    return os.path.join(pocketsphinx.get_model_path(), "en-us", "cmudict-en-us.dict")


def _normalise_phones(text):
    """"HH AH0 L OW1" -> ["HH", "AH", "L", "OW"]."""
    return [p.upper().rstrip("012") for p in text.split()]


def _parse(path):
    """Every line parsed and checked; slow (0.8 s for CMUdict): used to find a bad line."""
    entries = {}
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.split("#", 1)[0].strip()
            if not line or line.startswith(";;;"):
                continue
            fields = line.split()
            word = fields[0].lower()
            m = _VARIANT_RE.match(word)
            if m:
                word = m.group(1)
            phones = _normalise_phones(" ".join(fields[1:]))
            bad = [p for p in phones if p not in _ARPABET]
            if not phones or bad:
                raise ParameterError(
                    f"{path}:{lineno}: {'unknown phone(s) ' + ', '.join(bad) if bad else 'no phones'} "
                    f"in {line!r}; expected ARPAbet phones ({' '.join(_g2p.ARPABET)})"
                )
            variants = entries.setdefault(word, [])
            if phones not in variants:
                variants.append(phones)
    return entries


def _read_raw(path):
    """word -> its pronunciation texts joined by newlines, every phone in the file checked.

    Four times faster than :func:`_parse` (0.2 s for CMUdict), because a line is
    only cut at its first space here; its phones are split when the word is
    first looked up (:class:`_Entries`). A process that aligns one file pays
    this at start-up, and so does every worker of a cluster.
    """
    with open(path, encoding="utf-8", errors="replace") as fh:
        text = fh.read()
    raw, pronunciations = {}, []
    # "\n" only (text mode has turned \r\n and \r into it): str.splitlines() would also cut at
    # form feeds, \x85 or \u2028, which the line-by-line parser reads as spaces
    for line in text.split("\n"):
        if "#" in line:
            line = line.split("#", 1)[0]
        parts = line.split(None, 1)
        if not parts or parts[0].startswith(";;;"):
            continue
        if len(parts) < 2:
            _raise_for_bad_line(path)
        word = parts[0].lower()
        if word.endswith(")"):
            m = _VARIANT_RE.match(word)
            if m:
                word = m.group(1)
        pronunciations.append(parts[1])
        known = raw.get(word)
        raw[word] = parts[1] if known is None else known + "\n" + parts[1]
    # the file holds a few dozen distinct phone spellings: check those, not 800k tokens one by one
    spellings = set(" ".join(pronunciations).split())
    if any(p.upper().rstrip("012") not in _ARPABET for p in spellings):
        _raise_for_bad_line(path)
    return raw


def _raise_for_bad_line(path):
    """Raise the :func:`_parse` error that names the bad line (the fast reader found one)."""
    _parse(path)
    raise ParameterError(f"{path}: a line holds no phones or a phone that is not ARPAbet "
                         f"({' '.join(_g2p.ARPABET)})")


class _Entries(collections.abc.MutableMapping):
    """word -> list of pronunciations, each word's split from the file's text on first use.

    ``raw`` (word -> pronunciation lines, from :func:`_read_raw`) is shared by
    every copy and never changed; each copy keeps what it has parsed or been
    given in its own dict, so :meth:`Lexicon.add` on one lexicon does not
    change another.
    """

    def __init__(self, raw, parsed=None):
        self._raw = raw
        self._parsed = {} if parsed is None else parsed
        self._removed = set()

    def __getitem__(self, word):
        variants = self._parsed.get(word)
        if variants is None:
            if word in self._removed:
                raise KeyError(word)
            variants = []
            for line in self._raw[word].split("\n"):
                phones = _normalise_phones(line)
                if phones not in variants:
                    variants.append(phones)
            self._parsed[word] = variants
        return variants

    def __setitem__(self, word, variants):
        self._parsed[word] = variants
        self._removed.discard(word)

    def __delitem__(self, word):
        if word not in self:
            raise KeyError(word)
        self._parsed.pop(word, None)
        if word in self._raw:
            self._removed.add(word)

    def __contains__(self, word):
        return word in self._parsed or (word in self._raw and word not in self._removed)

    def __iter__(self):
        yield from self._parsed
        for word in self._raw:
            if word not in self._parsed and word not in self._removed:
                yield word

    def __len__(self):
        extra = sum(1 for w in self._parsed if w not in self._raw)
        return len(self._raw) - len(self._removed) + extra

    def copy(self):
        twin = _Entries(self._raw, dict(self._parsed))
        twin._removed = set(self._removed)
        return twin


@functools.lru_cache(maxsize=8)
def _load_cached(path, mtime, size):
    return _Entries(_read_raw(path))


class Lexicon:
    """Word -> pronunciations, with a fallback for every word.

    Parameters
    ----------
    entries : dict of str to list of list of str
        Lower-case word -> pronunciations (ARPAbet, no stress digits).
    g2p : {"auto", "espeak", "rules"}
        How to pronounce words missing from ``entries``. "auto" uses espeak-ng
        when it loads and the letter-to-sound rules otherwise; "espeak" raises
        :class:`~align.BackendUnavailableError` when espeak-ng is missing (no
        silent fallback); "rules" never uses espeak.
    voice : str
        espeak-ng voice.

    Attributes
    ----------
    case : str
        "lower": the case of the keys (what :func:`align.text.normalize.normalize` folds to).
    """

    case = "lower"

    def __init__(self, entries, *, g2p="auto", voice="en-us"):
        if g2p not in ("auto", "espeak", "rules"):
            raise ParameterError(f"g2p={g2p!r} is not supported; use one of 'auto', 'espeak', 'rules'")
        self._entries = entries
        self.g2p = g2p
        self.voice = voice
        self._cache = {}

    @classmethod
    def load(cls, path=None, *, g2p="auto", voice="en-us"):
        """Read a CMUdict-format dictionary (the pocketsphinx one by default).

        Parameters
        ----------
        path : str or os.PathLike or None
            Dictionary file; None for :func:`default_dictionary_path`.
        g2p, voice
            See :class:`Lexicon`.

        Returns
        -------
        Lexicon
            The parsed file is cached (per path, size and modification time), so
            loading the same dictionary again is cheap; each call returns a new
            Lexicon, so :meth:`add` on one does not change another.

        Raises
        ------
        ParameterError
            If the file does not exist or a line holds a phone that is not one
            of the 39 ARPAbet phones.
        """
        path = default_dictionary_path() if path is None else os.fspath(path)
        try:
            st = os.stat(path)
        except FileNotFoundError as exc:
            raise ParameterError(f"pronunciation dictionary {path!r} does not exist") from exc
        entries = _load_cached(os.path.abspath(path), st.st_mtime_ns, st.st_size)
        # share the file's text, copy the mapping so add() stays local
        return cls(entries.copy(), g2p=g2p, voice=voice)

    def __contains__(self, word):
        return isinstance(word, str) and word.lower() in self._entries

    def __len__(self):
        return len(self._entries)

    def __repr__(self):
        return f"Lexicon({len(self)} words, g2p={self.g2p!r})"

    def add(self, word, phones):
        """Add a pronunciation (a list of ARPAbet phones or a space-separated string).

        Raises
        ------
        ParameterError
            If a phone is not one of the 39 ARPAbet phones.
        """
        if isinstance(phones, str):
            phones = phones.split()
        phones = [p.upper().rstrip("012") for p in phones]
        bad = [p for p in phones if p not in _ARPABET]
        if not phones or bad:
            raise ParameterError(
                f"pronunciation of {word!r} must be a non-empty list of ARPAbet phones, "
                f"got {phones!r}" + (f" (unknown: {', '.join(bad)})" if bad else "")
            )
        key = word.lower()
        variants = list(self._entries.get(key, []))
        if phones not in variants:
            variants.append(phones)
        self._entries[key] = variants
        self._cache.clear()

    def get(self, word):
        """The dictionary's pronunciations of ``word`` (copies), or None."""
        variants = self._entries.get(word.lower())
        return None if variants is None else [list(v) for v in variants]

    def _guess(self, word):
        if self.g2p != "rules":
            try:
                phones = _g2p.espeak_arpabet(word, voice=self.voice)
            except Exception:
                if self.g2p == "espeak":
                    raise
                phones = []
            if phones:
                return [phones], "espeak"
        return [_g2p.letter_to_sound(word)], "rules"

    def _possessive(self, word):
        for suffix in ("'s", "s'", "'"):
            base = word[: -len(suffix)]
            if word.endswith(suffix) and base in self._entries:
                if suffix == "'" and not base.endswith("s"):
                    continue
                out = []
                for v in self._entries[base]:
                    last = v[-1]
                    if suffix == "'":
                        out.append(list(v))  # "james'" sounds like "james"
                    elif last in _SIBILANTS:
                        out.append(v + ["IH", "Z"])
                    elif last in _VOICELESS:
                        out.append(v + ["S"])
                    else:
                        out.append(v + ["Z"])
                return out
        return None

    def lookup(self, word):
        """Pronounce ``word`` and say where the pronunciation came from.

        Parameters
        ----------
        word : str
            One word (normally a token of :func:`~align.text.normalize.normalize_text`).

        Returns
        -------
        Pronunciation
            ``variants`` is never empty for a word that contains a letter or a
            digit; ``source`` is "dictionary", "espeak" or "rules".

        Raises
        ------
        ParameterError
            If ``word`` is not a string.
        BackendUnavailableError
            With ``g2p="espeak"`` when espeak-ng cannot be loaded.
        """
        if not isinstance(word, str):
            raise ParameterError(f"word must be a str, got {type(word).__name__}")
        key = word.strip().lower()
        cached = self._cache.get(key)
        if cached is not None:
            return Pronunciation(key, [list(v) for v in cached[0]], cached[1])
        variants, source = self._lookup(key)
        self._cache[key] = (variants, source)
        return Pronunciation(key, [list(v) for v in variants], source)

    def _lookup(self, key):
        if key in self._entries:
            return self._entries[key], "dictionary"
        plain = "".join(
            c for c in unicodedata.normalize("NFKD", key) if not unicodedata.combining(c)
        )
        if plain != key and plain in self._entries:
            return self._entries[plain], "dictionary"
        possessive = self._possessive(key)
        if possessive:
            return possessive, "dictionary"
        if re.search(r"\d", key) or re.search(r"[-\s]", key.strip("-")):
            from .normalize import normalize_text

            parts = normalize_text(key, lexicon=self)
            if parts and parts != [key]:
                phones, sources = [], set()
                for part in parts:
                    sub = self.lookup(part)
                    phones += sub.variants[0]
                    sources.add(sub.source)
                if phones:
                    source = "dictionary" if sources == {"dictionary"} else (
                        "espeak" if "espeak" in sources else "rules")
                    return [phones], source
        variants, source = self._guess(key)
        if not variants[0]:
            variants = [_g2p.letter_to_sound(key)]
            source = "rules"
        return variants, source

    def pronounce(self, word):
        """All pronunciations of ``word``: dictionary, else espeak-ng, else rules.

        Returns
        -------
        list of list of str
            ARPAbet phones without stress digits; the first is the most common.
            Use :meth:`lookup` to learn whether the word was in the dictionary.
        """
        return self.lookup(word).variants

    def pronounce_words(self, words):
        """Pronounce many words; also list those that were not in the dictionary.

        Returns
        -------
        pronunciations : list of list of list of str
            ``pronunciations[i]`` is :meth:`pronounce` of ``words[i]``.
        unknown : list of str
            Words not in the dictionary, in first-seen order, without repeats.
        """
        prons, unknown = [], []
        for w in words:
            p = self.lookup(w)
            prons.append(p.variants)
            if not p.known and p.word not in unknown:
                unknown.append(p.word)
        return prons, unknown
