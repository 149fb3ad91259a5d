"""espeak-ng speech synthesis with word and phoneme events, through ctypes.

The synthetic side of the TTS+DTW aligner (:mod:`align.speech.tts_align`):
:func:`synthesize` speaks a text with one espeak-ng voice and returns the
samples (22050 Hz, espeak's native rate) together with the time of every word
and phoneme, taken from espeak-ng's own events, and each word's position in the
text so that it can be mapped back to the user's words.

The library and its data come from the ``espeakng_loader`` package and are
loaded once per process by the loader of :mod:`align.text.g2p` (the same
``ctypes.CDLL``, guarded by the same lock: espeak-ng keeps one global voice and
one global callback). It is initialised in synchronous mode with phoneme events
on (``espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, data, espeakINITIALIZE_PHONEME_EVENTS)``),
then every call sets the voice, rate and pitch, installs the callback
(``espeak_SetSynthCallback``) and calls ``espeak_Synth`` with
``espeakCHARS_AUTO | espeakPHONEMES | espeakENDPAUSE``.

Events used (``espeak_EVENT``, speak_lib.h): ``espeakEVENT_WORD`` (1) gives
the 1-based *character* position and length of the written word it comes from
(a number such as "1987" gives several spoken words, all pointing at the same
written word); ``espeakEVENT_PHONEME`` (7) gives a phoneme name (espeak's ASCII
mnemonics, up to 8 bytes) that belongs to the last word; ``sample`` is the
sample index where the event happens. Pause phonemes (``_``, ``_:``, ``_!``...)
are reported as pauses, not as phonemes of a word.
"""

import ctypes
import difflib
import functools
from dataclasses import dataclass, field

import numpy as np

from ..exceptions import BackendUnavailableError, ParameterError

__all__ = [
    "ESPEAK_SAMPLE_RATE",
    "SynthPhone",
    "SynthWord",
    "Synthesis",
    "espeak_languages",
    "check_language",
    "synthesize",
]

#: espeak-ng's native output rate (Hz)
ESPEAK_SAMPLE_RATE = 22050

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_CHARS_AUTO = 0
_PHONEMES = 0x100
_ENDPAUSE = 0x1000
_POS_CHARACTER = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_EVENT_END = 5
_EVENT_MSG_TERMINATED = 6
_EVENT_PHONEME = 7
_RATE, _VOLUME, _PITCH, _RANGE = 1, 2, 3, 4
_STRESS = str.maketrans("", "", "',")


class _Event(ctypes.Structure):
    # espeak_EVENT of speak_lib.h (the union ``id`` read as its 8-byte string form)
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


class _Voice(ctypes.Structure):
    # espeak_VOICE of speak_lib.h
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.POINTER(_Event))


@dataclass(frozen=True)
class SynthPhone:
    """One phoneme of the synthetic speech.

    Attributes
    ----------
    label : str
        espeak-ng's ASCII mnemonic, stress marks (``'`` and ``,``) removed.
    start, end : int
        Sample indices at :data:`ESPEAK_SAMPLE_RATE`, ``start <= end``.
    """

    label: str
    start: int
    end: int


@dataclass
class SynthWord:
    """One spoken word of the synthetic speech, as espeak-ng's word event gives it.

    Attributes
    ----------
    char_start, char_end : int
        0-based character span of the written word in the text it came from
        (several spoken words may share one written word, e.g. a number).
    start, end : int
        Samples of its first phoneme's start and its last phoneme's end
        (pauses excluded); ``start == end`` when espeak spoke no phoneme for it.
    phones : list of SynthPhone
    """

    char_start: int
    char_end: int
    start: int
    end: int
    phones: list = field(default_factory=list)


@dataclass
class Synthesis:
    """The result of :func:`synthesize`.

    Attributes
    ----------
    samples : np.ndarray [shape=(n_samples,), float32]
        Mono speech in [-1, 1] at ``sample_rate``.
    sample_rate : int
        :data:`ESPEAK_SAMPLE_RATE`.
    words : list of SynthWord
        In time order.
    pauses : list of (int, int)
        Sample spans of espeak's pause phonemes.
    """

    samples: np.ndarray
    sample_rate: int
    words: list
    pauses: list


# --------------------------------------------------------------------------- library


class _Synth:
    """The espeak-ng library with phoneme events on (shares g2p's loader and lock)."""

    def __init__(self):
        self.ready = False
        self.languages = None

    def lib(self):
        from .g2p import _ESPEAK

        lib = _ESPEAK.load()
        if lib is None:
            raise BackendUnavailableError(
                f"espeak-ng is not available ({_ESPEAK.error}); install it with "
                "`pip install espeakng-loader`"
            )
        if not self.ready:
            import espeakng_loader

            lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                         ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
            lib.espeak_Synth.restype = ctypes.c_int
            lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
            lib.espeak_SetSynthCallback.restype = None
            lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
            lib.espeak_SetParameter.restype = ctypes.c_int
            lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
            lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
            # re-initialise with phoneme events (g2p's initialisation has them off;
            # espeak_TextToPhonemes does not depend on the option)
            rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0,
                                         espeakng_loader.get_data_path().encode(),
                                         _INITIALIZE_PHONEME_EVENTS)
            if rate <= 0:
                raise BackendUnavailableError(f"espeak-ng failed to initialise (espeak_Initialize returned {rate})")
            self.ready = True
        return lib


_SYNTH = _Synth()


def _lock():
    from .g2p import _ESPEAK

    return _ESPEAK.lock


def _voice_languages(voice):
    """The language codes of an ``espeak_VOICE``: (priority byte, zero-terminated name) pairs."""
    out = []
    if not voice.languages:
        return out
    base = voice.languages
    k = 0
    while True:
        prio = ctypes.c_ubyte.from_address(base + k).value
        if prio == 0:
            break
        name = ctypes.string_at(base + k + 1)
        out.append(name.decode("utf-8", "replace"))
        k += len(name) + 2
    return out


@functools.lru_cache(maxsize=1)
def espeak_languages():
    """Every language code and voice name espeak-ng knows, lowercase, sorted.

    Returns
    -------
    tuple of str
        e.g. ``("af", "am", ..., "en", "en-gb", "en-us", ..., "fr", "fr-be", ...)``.

    Raises
    ------
    BackendUnavailableError
        If espeak-ng cannot be loaded.
    """
    with _lock():
        lib = _SYNTH.lib()
        voices = lib.espeak_ListVoices(None)
        names = set()
        k = 0
        while voices[k]:
            v = voices[k].contents
            for code in _voice_languages(v):
                names.add(code.lower())
            if v.identifier:
                ident = v.identifier.decode("utf-8", "replace").lower()
                names.add(ident.rsplit("/", 1)[-1])
            k += 1
    return tuple(sorted(names))


def check_language(language):
    """Validate an espeak-ng language code (or voice name) and return it lowercase.

    Parameters
    ----------
    language : str
        e.g. ``"fr"``, ``"de"``, ``"pt-br"``, ``"en-us"``.

    Returns
    -------
    str

    Raises
    ------
    ParameterError
        If espeak-ng has no such language; the message names the closest codes.
    BackendUnavailableError
        If espeak-ng cannot be loaded.
    """
    if not isinstance(language, str) or not language.strip():
        raise ParameterError(f"language must be an espeak-ng language code such as 'fr', got {language!r}")
    code = language.strip().lower().replace("_", "-")
    known = espeak_languages()
    if code in known:
        return code
    close = difflib.get_close_matches(code, known, n=5, cutoff=0.5)
    if not close:
        close = [k for k in known if k[:1] == code[:1]][:5]
    hint = ", ".join(repr(c) for c in close) if close else "none"
    raise ParameterError(
        f"espeak-ng does not know the language {language!r}; the closest codes are {hint} "
        f"(it knows {len(known)} codes, listed by align.text.espeak_synth.espeak_languages())"
    )


# --------------------------------------------------------------------------- synthesis


def _is_pause(label):
    return label.startswith("_")


def synthesize(text, *, language="en", rate=175, pitch=50, pitch_range=50, variant=None):
    """Speak ``text`` with espeak-ng and report every word's and phoneme's samples.

    Parameters
    ----------
    text : str
        The text (UTF-8; espeak's own front end reads numbers and abbreviations).
    language : str
        An espeak-ng language code or voice name (see :func:`check_language`).
    rate : int
        Words per minute, 80 to 450 (espeak's default 175).
    pitch, pitch_range : int
        Base pitch and pitch range, 0 to 100 (50 is espeak's default).
    variant : str, optional
        An espeak-ng voice variant (``"f3"``, ``"m3"``, ...), appended as ``language+variant``.

    Returns
    -------
    Synthesis
        ``samples`` [shape=(n,), float32] at 22050 Hz, ``words`` with their
        character spans in ``text`` and their sample spans, ``pauses``.

    Raises
    ------
    ParameterError
        Unknown language, a rate or pitch out of range, text that is not a string.
    BackendUnavailableError
        If espeak-ng cannot be loaded.

    Examples
    --------
    >>> s = synthesize("Le chat dort.", language="fr")
    >>> [(w.char_start, w.char_end) for w in s.words]
    [(0, 2), (3, 7), (8, 12)]
    >>> [[p.label for p in w.phones] for w in s.words]
    [['l', '@-'], ['S', 'a'], ['d', 'O', 'r']]

    espeak-ng may speak several written words as one word event: "Bonjour tout le
    monde." gives two, "Bonjour" and "tout" (which carries "le monde").
    """
    if not isinstance(text, str):
        raise ParameterError(f"text must be a str, got {type(text).__name__}")
    code = check_language(language)
    for name, value, low, high in (("rate", rate, 80, 450), ("pitch", pitch, 0, 100),
                                   ("pitch_range", pitch_range, 0, 100)):
        if not isinstance(value, (int, np.integer)) or not low <= value <= high:
            raise ParameterError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    chunks, events = [], []

    def callback(wav, n, ev):
        if n > 0 and wav:
            chunks.append(np.ctypeslib.as_array(wav, (n,)).copy())
        k = 0
        while ev[k].type != _EVENT_LIST_TERMINATED:
            e = ev[k]
            if e.type in (_EVENT_WORD, _EVENT_PHONEME, _EVENT_END):
                events.append((e.type, e.text_position, e.length, e.sample, bytes(e.id)))
            if e.type == _EVENT_MSG_TERMINATED:
                break
            k += 1
        return 0

    c_callback = _CALLBACK(callback)
    data = text.encode("utf-8")
    buf = ctypes.create_string_buffer(data)
    with _lock():
        lib = _SYNTH.lib()
        name = code if not variant else f"{code}+{variant}"
        if lib.espeak_SetVoiceByName(name.encode()) != 0:
            raise ParameterError(f"espeak-ng could not select the voice {code!r}")
        lib.espeak_SetParameter(_RATE, int(rate), 0)
        lib.espeak_SetParameter(_PITCH, int(pitch), 0)
        lib.espeak_SetParameter(_RANGE, int(pitch_range), 0)
        lib.espeak_SetSynthCallback(c_callback)
        err = lib.espeak_Synth(buf, len(data) + 1, 0, _POS_CHARACTER, 0,
                               _CHARS_AUTO | _PHONEMES | _ENDPAUSE, None, None)
        # back to the defaults for other users of the shared library
        lib.espeak_SetParameter(_RATE, 175, 0)
        lib.espeak_SetParameter(_PITCH, 50, 0)
        lib.espeak_SetParameter(_RANGE, 50, 0)
    if err != 0:
        raise ParameterError(f"espeak_Synth failed with error {err} on {text[:60]!r}")
    samples = (np.concatenate(chunks).astype(np.float32) / 32768.0 if chunks
               else np.zeros(0, dtype=np.float32))
    words, pauses = _words_from_events(events, len(samples))
    return Synthesis(samples=samples, sample_rate=ESPEAK_SAMPLE_RATE, words=words, pauses=pauses)


def _words_from_events(events, n_samples):
    """Words (with phones) and pauses from the raw event list."""
    # phoneme boundaries: a phoneme lasts until the next phoneme or clause end
    marks = [(s, t) for t, _, _, s, _ in events if t in (_EVENT_PHONEME, _EVENT_END)]
    words, pauses = [], []
    current = None
    k_mark = 0
    for t, pos, length, sample, ident in events:
        if t == _EVENT_WORD:
            current = SynthWord(char_start=pos - 1, char_end=pos - 1 + length, start=sample, end=sample)
            words.append(current)
            continue
        if t != _EVENT_PHONEME:
            continue
        while k_mark < len(marks) and marks[k_mark][0] <= sample:
            k_mark += 1
        # the end of this phoneme: the next mark strictly after its start
        end = marks[k_mark][0] if k_mark < len(marks) else n_samples
        label = ident.split(b"\0", 1)[0].decode("utf-8", "replace")
        if _is_pause(label):
            if end > sample:
                pauses.append((sample, end))
            continue
        if current is None or end <= sample:
            continue
        current.phones.append(SynthPhone(label.translate(_STRESS) or label, sample, end))
    for w in words:
        if w.phones:
            w.start, w.end = w.phones[0].start, w.phones[-1].end
    return words, pauses
