"""Filled pauses ("uh", "um", "er", "hmm" ...) as the acoustic model should hear them.

A held hesitation is a long, steady vowel or nasal, often half a second or more.
The model's triphones for ``AH`` or ``M`` were trained on short vowels inside
words, so on a held "uh" the speech-noise filler ``+SPN+`` (trained on
untranscribed speech) scores better than they do: offered in the gap beside
the word, it took the hum and left the word 50 ms (cold_corpus3 of MFA's test
data: "um" aligned to 6.48-6.54 s, its hum 6.54-7.27 s to ``+SPN+``; MFA gives
the word 6.52-7.11 s).

So a hesitation word gets pronunciations where its vowel may be heard as
``+SPN+`` (the nasal stays a nasal), and the gaps beside it offer no ``+SPN+``:
the hum then belongs to the word, however long it is held, and only real
silence goes to the gap.
"""

__all__ = ["HESITATIONS", "hesitation_variants", "is_hesitation"]

#: spelling -> its phones (ARPAbet); the common spellings of English filled pauses
HESITATIONS = {
    "uh": ["AH"], "uhh": ["AH"], "uhhh": ["AH"], "ah": ["AA"], "ahh": ["AA"],
    "er": ["ER"], "err": ["ER"], "eh": ["EH"],
    "um": ["AH", "M"], "umm": ["AH", "M"], "uhm": ["AH", "M"], "erm": ["ER", "M"],
    "hmm": ["HH", "M"], "hm": ["HH", "M"], "mm": ["M"], "mmm": ["M"], "mhm": ["M", "HH", "M"],
}

_VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}
_SPEECH_NOISE = "+SPN+"


def is_hesitation(word):
    """True when ``word`` (a spoken, lower-case word) is a filled pause."""
    return word in HESITATIONS


def hesitation_variants(word, known_phones):
    """Pronunciation variants of a filled pause, or None for any other word.

    Parameters
    ----------
    word : str
        A spoken word, lower case.
    known_phones : collection of str
        The acoustic model's phones: ``+SPN+`` variants only where it has one.

    Returns
    -------
    list of list of str or None
        The plain pronunciation first, then the same with its vowel heard as
        speech noise.
    """
    phones = HESITATIONS.get(word)
    if phones is None:
        return None
    variants = [list(phones)]
    if _SPEECH_NOISE in known_phones and any(p in _VOWELS for p in phones):
        variants.append([_SPEECH_NOISE if p in _VOWELS else p for p in phones])
    return variants
