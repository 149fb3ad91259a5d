import pytest

from align.speech.results import Alignment, Phone, Word


@pytest.fixture
def alignment():
    """Two words with a pause between them, and a normalised token."""
    words = [
        Word("Hello", 0.10, 0.50, 0.9, [Phone("HH", 0.10, 0.20), Phone("AH", 0.20, 0.30),
                                       Phone("L", 0.30, 0.40), Phone("OW", 0.40, 0.50, 0.8)]),
        Word("$5", 1.00, 1.80, 0.75, [Phone("F", 1.00, 1.10), Phone("AY", 1.10, 1.30),
                                     Phone("V", 1.30, 1.40), Phone("D", 1.40, 1.50),
                                     Phone("AA", 1.50, 1.60), Phone("L", 1.60, 1.65),
                                     Phone("ER", 1.65, 1.70), Phone("Z", 1.70, 1.80)],
             spoken="five dollars"),
    ]
    return Alignment(words=words, duration=2.0, sample_rate=16000, unknown_words=[],
                     audio_path="/data/clip one.wav".replace(" ", "_"))
