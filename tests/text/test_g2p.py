import random

import pytest

from align.text import g2p
from align.text.lexicon import default_dictionary_path
from align.text.normalize import normalize_text

needs_espeak = pytest.mark.skipif(not g2p.espeak_available(), reason="espeak-ng (espeakng_loader) missing")


def test_arpabet_has_39_phones():
    assert len(g2p.ARPABET) == len(set(g2p.ARPABET)) == 39


def test_mapping_targets_are_arpabet():
    for tok, phones in g2p.ESPEAK_TO_ARPABET.items():
        assert phones and set(phones) <= set(g2p.ARPABET), tok


def _word_list(step=60):
    with open(default_dictionary_path(), encoding="utf-8") as fh:
        words = [line.split()[0] for line in fh if "(" not in line.split()[0]]
    rng = random.Random(0)
    sample = words[::step]
    rng.shuffle(sample)
    extra = ("thought church judge vision sing this thin ship hour fire near square cure "
             "bath dance loch ich croissant denouement genre button little science ensure "
             "aachen wii tolkien xhosa nguyen pfingsten abasia").split()
    return sample + extra


@needs_espeak
def test_mapping_covers_every_phone_espeak_emits():
    seen = set()
    for word in _word_list():
        seen.update(g2p.espeak_phonemes(word))
    missing = sorted(seen - set(g2p.ESPEAK_TO_ARPABET))
    assert not missing, f"espeak mnemonics without an ARPAbet mapping: {missing}"
    assert len(seen) >= 60  # the list really exercises espeak's English inventory


@needs_espeak
@pytest.mark.parametrize(
    "word, mnemonics, arpabet",
    [
        ("thought", ["T", "O:", "t"], ["TH", "AO", "T"]),
        ("church", ["tS", "3:", "tS"], ["CH", "ER", "CH"]),
        ("judge", ["dZ", "V", "dZ"], ["JH", "AH", "JH"]),
        ("zorblax", ["z", "o@", "b", "l", "a", "k", "s"], ["Z", "AO", "R", "B", "L", "AE", "K", "S"]),
    ],
)
def test_espeak_examples(word, mnemonics, arpabet):
    assert g2p.espeak_phonemes(word) == mnemonics
    assert g2p.espeak_arpabet(word) == arpabet


@needs_espeak
def test_espeak_agrees_with_dictionary_often():
    """On dictionary words espeak + mapping should mostly match CMUdict's phone count."""
    from align.text.lexicon import Lexicon

    lex = Lexicon.load()
    words = [w for w in _word_list(step=400) if w.isalpha()][:200]
    close = sum(
        any(abs(len(g2p.espeak_arpabet(w)) - len(v)) <= 1 for v in lex.get(w)) for w in words
    )
    assert close / len(words) > 0.8


@needs_espeak
def test_several_clauses_are_joined():
    assert g2p.espeak_arpabet("hello. world") == g2p.espeak_arpabet("hello") + g2p.espeak_arpabet("world")


@needs_espeak
def test_unknown_voice():
    from align.exceptions import ParameterError

    with pytest.raises(ParameterError, match=r"espeak-ng has no voice 'xx-nope'; use e.g. 'en-us'"):
        g2p.espeak_phonemes("hello", voice="xx-nope")


def test_variant_markers_fall_back():
    assert g2p.espeak_to_arpabet(["i::", "t#", "@5", "weird"]) == ["IY", "T", "AH"]


@pytest.mark.parametrize(
    "word, phones",
    [
        ("bcdfg", ["B", "IY", "S", "IY", "D", "IY", "EH", "F", "JH", "IY"]),  # no vowels: spelled
        ("cat", ["K", "AE", "T"]),
        ("make", ["M", "AE", "K"]),  # silent e (the vowel stays short: the rules are crude)
        ("church", ["CH", "ER", "CH"]),
        ("knight", ["N", "AY", "T"]),
        ("yes", ["Y", "EH", "S"]),
        ("happy", ["HH", "AE", "P", "IY"]),
        ("cell", ["S", "EH", "L"]),
        ("accept", ["AE", "K", "S", "EH", "P", "T"]),
        ("Zürich", ["Z", "ER", "IH", "CH"]),
        ("你好", ["AH"]),
        ("", []),
        ("123", []),
    ],
)
def test_letter_to_sound(word, phones):
    assert g2p.letter_to_sound(word) == phones


def test_letter_to_sound_never_fails_on_letters():
    rng = random.Random(1)
    alphabet = "abcdefghijklmnopqrstuvwxyzéü'-"
    for _ in range(500):
        word = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        phones = g2p.letter_to_sound(word)
        assert set(phones) <= set(g2p.ARPABET)
        assert phones or not any(c.isalpha() for c in word), word


def test_normalized_words_all_pronounceable():
    from align.text.lexicon import Lexicon

    lex = Lexicon.load()
    for w in normalize_text("On Jan. 21st, 1961, Dr. O'Brien paid $5.50 for 12% of zorblax & co."):
        assert lex.pronounce(w)[0], w
