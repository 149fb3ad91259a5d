"""TTS training data from an aligned corpus: phone ids, integer durations and log-mels.

A corpus is a folder of audio files with same-name ``.txt`` transcripts
(:func:`align.speech.corpus.find_corpus`). :func:`align_for_tts` aligns it with
``align.align_corpus(..., durations=...)``, which writes ``<name>.durations.json`` per
utterance (``tokens``: ARPAbet phones and ``""`` for silence; ``durations``: integer
frames; ``n_frames``) and ``durations.jsonl``. :func:`load_utterances` then pairs every
table with the log-mel spectrogram of its recording.

The mel settings (:class:`MelSettings`; defaults for the 16 kHz cathy corpus):
``sample_rate=16000``, ``n_fft=1024``, ``hop_length=256`` (16 ms), ``n_mels=80``,
``fmin=0``, ``fmax=8000``, magnitude (power 1) mel, ``log(max(mel, 1e-5))``, librosa's
``center=True`` framing, so a recording of ``n`` samples has ``1 + n // hop_length``
frames: the count :func:`align.tts.durations.n_mel_frames` gives the aligner, so the
durations sum to the mel length exactly (checked for every utterance).
"""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..exceptions import ParameterError

__all__ = [
    "MelSettings",
    "PhoneVocabulary",
    "TTSUtterance",
    "TTSDataset",
    "align_for_tts",
    "load_utterances",
    "log_mel",
    "mel_to_audio",
    "uniform_durations",
    "text_to_phones",
    "collate_tts",
    "mel_statistics",
]

PAD, UNK, SILENCE = "<pad>", "<unk>", ""


@dataclass(frozen=True)
class MelSettings:
    """The log-mel spectrogram the model learns (and the durations are counted in).

    Attributes
    ----------
    sample_rate, n_fft, hop_length, n_mels : int
    fmin, fmax : float
        Mel filter band edges in Hz (``fmax=None``: ``sample_rate / 2``).
    log_floor : float
        ``log(max(mel, log_floor))``.
    """

    sample_rate: int = 16000
    n_fft: int = 1024
    hop_length: int = 256
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float | None = 8000.0
    log_floor: float = 1e-5

    def n_frames(self, n_samples):
        """Frames of ``n_samples`` samples: ``1 + n_samples // hop_length`` (librosa, ``center=True``)."""
        return 1 + int(n_samples) // self.hop_length

    def durations_options(self):
        """The ``durations=`` argument of :func:`align.align_corpus` for these settings."""
        return {"sample_rate": self.sample_rate, "hop_length": self.hop_length, "silence": "keep",
                "min_frames": 1}

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, data):
        try:
            return cls(**data)
        except TypeError as exc:
            raise ParameterError(f"malformed mel settings {data!r}: {exc}") from exc


def log_mel(samples, settings=MelSettings()):
    """The log-mel spectrogram of a mono signal at ``settings.sample_rate``.

    Parameters
    ----------
    samples : np.ndarray [shape=(n,)]
    settings : MelSettings

    Returns
    -------
    np.ndarray [shape=(1 + n // hop_length, n_mels), float32]
    """
    import librosa

    y = np.asarray(samples, dtype=np.float32)
    if y.ndim != 1:
        raise ParameterError(f"samples must be mono (n,), got shape {y.shape}")
    mel = librosa.feature.melspectrogram(
        y=y, sr=settings.sample_rate, n_fft=settings.n_fft, hop_length=settings.hop_length,
        n_mels=settings.n_mels, fmin=settings.fmin, fmax=settings.fmax, power=1.0, center=True)
    out = np.log(np.maximum(mel, settings.log_floor)).T.astype(np.float32)
    assert out.shape[0] == settings.n_frames(len(y)), (out.shape, len(y))
    return out


def mel_to_audio(log_mels, settings=MelSettings(), *, n_iter=32):
    """Invert a log-mel spectrogram (T, n_mels) to a waveform with Griffin-Lim (librosa).

    Returns
    -------
    np.ndarray [shape=((T - 1) * hop_length,), float32]
    """
    import librosa

    mel = np.exp(np.asarray(log_mels, dtype=np.float32)).T
    if mel.ndim != 2 or mel.shape[0] != settings.n_mels:
        raise ParameterError(f"log_mels must be (T, {settings.n_mels}), got {np.shape(log_mels)}")
    y = librosa.feature.inverse.mel_to_audio(
        mel, sr=settings.sample_rate, n_fft=settings.n_fft, hop_length=settings.hop_length,
        fmin=settings.fmin, fmax=settings.fmax, power=1.0, n_iter=n_iter, center=True)
    return y.astype(np.float32)


def uniform_durations(n_tokens, n_frames):
    """The no-alignment baseline: ``n_frames`` spread evenly over ``n_tokens`` tokens.

    Token ``k`` gets ``floor((k + 1) n_frames / N) - floor(k n_frames / N)`` frames, so the
    durations differ by at most one and sum to ``n_frames`` exactly.

    Returns
    -------
    np.ndarray [shape=(n_tokens,), int64]
    """
    for name, value in (("n_tokens", n_tokens), ("n_frames", n_frames)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ParameterError(f"{name} must be an integer >= 0, got {value!r}")
    if n_tokens == 0:
        if n_frames:
            raise ParameterError(f"cannot spread {n_frames} frames over 0 tokens")
        return np.zeros(0, np.int64)
    bounds = (np.arange(n_tokens + 1, dtype=np.int64) * int(n_frames)) // int(n_tokens)
    return np.diff(bounds)


class PhoneVocabulary:
    """Phone labels <-> ids: ``0`` is padding, ``1`` unknown, then the phones in sorted order.

    The silence token of the aligner's duration tables (``""``) is an ordinary phone.

    Parameters
    ----------
    phones : iterable of str
        The phones (without ``<pad>`` and ``<unk>``).
    """

    def __init__(self, phones):
        phones = sorted(set(phones) - {PAD, UNK})
        self.tokens = [PAD, UNK] + phones
        self.index = {t: i for i, t in enumerate(self.tokens)}

    def __len__(self):
        return len(self.tokens)

    def __eq__(self, other):
        return isinstance(other, PhoneVocabulary) and other.tokens == self.tokens

    def __repr__(self):
        return f"PhoneVocabulary({len(self) - 2} phones)"

    def encode(self, phones, *, unknown="raise"):
        """Ids of ``phones``, int64 (N,); ``unknown="unk"`` maps phones not in the vocabulary to 1.

        Raises
        ------
        ParameterError
            A phone not in the vocabulary (with ``unknown="raise"``).
        """
        missing = sorted({p for p in phones if p not in self.index})
        if missing and unknown == "raise":
            raise ParameterError(f"phones {missing} are not in the vocabulary ({len(self) - 2} phones "
                                 "seen in training)")
        return np.array([self.index.get(p, 1) for p in phones], dtype=np.int64)

    def decode(self, ids):
        """Labels of ``ids``."""
        return [self.tokens[int(i)] for i in ids]

    def to_list(self):
        return list(self.tokens)

    @classmethod
    def from_list(cls, tokens):
        tokens = list(tokens)
        if tokens[:2] != [PAD, UNK]:
            raise ParameterError(f"a vocabulary list starts with {PAD!r}, {UNK!r}; got {tokens[:2]}")
        vocab = cls(tokens[2:])
        if vocab.tokens != tokens:
            raise ParameterError("a vocabulary list must hold sorted, distinct phones after the specials")
        return vocab


@dataclass
class TTSUtterance:
    """One training utterance.

    Attributes
    ----------
    name : str
        The audio file's path relative to the corpus, without the extension.
    phones : list of str
        The aligner's tokens (``""`` is silence).
    durations : np.ndarray [shape=(N,), int64]
        The aligner's frames per token; sums to ``mel.shape[0]``.
    mel : np.ndarray [shape=(T, n_mels), float32]
    text : str
    """

    name: str
    phones: list
    durations: np.ndarray
    mel: np.ndarray
    text: str = field(default="")


def align_for_tts(corpus_dir, durations_dir, settings=MelSettings(), *, jobs=None, progress=False):
    """Align the corpus (resuming: finished files are skipped) and write its duration tables.

    Returns
    -------
    list of align.speech.corpus.CorpusResult
    """
    from ..speech.corpus import align_corpus

    Path(durations_dir).mkdir(parents=True, exist_ok=True)
    return align_corpus(corpus_dir, durations_dir, formats=(".TextGrid",), jobs=jobs, progress=progress,
                        durations=settings.durations_options())


def _table_path(item, root, durations_dir):
    from ..tts.durations import DURATIONS_SUFFIX

    relative = item.audio.relative_to(root).with_suffix("")
    return Path(durations_dir) / relative.parent / (relative.name + DURATIONS_SUFFIX), str(relative)


def load_utterances(corpus_dir, durations_dir, settings=MelSettings(), *, names=None):
    """Every aligned utterance of the corpus with its log-mel spectrogram.

    Parameters
    ----------
    corpus_dir : str or os.PathLike
        The corpus (audio with same-name transcripts).
    durations_dir : str or os.PathLike
        Where :func:`align_for_tts` wrote the duration tables (the corpus's layout).
    settings : MelSettings
        Must be those the tables were made for (sample rate and hop are checked).
    names : collection of str, optional
        Load only these utterances (names relative to the corpus, no extension).

    Returns
    -------
    utterances : list of TTSUtterance
        In corpus order; recordings without a table (alignment failed) are left out.
    missing : list of str
        Names of those left out.

    Raises
    ------
    ParameterError
        No table at all, tables made with other settings, or a table whose durations do
        not sum to the recording's mel frames.
    """
    from ..audio.load import load_audio
    from ..speech.corpus import find_corpus

    root = Path(corpus_dir)
    items = find_corpus(root)
    utterances, missing = [], []
    for item in items:
        path, name = _table_path(item, root, durations_dir)
        if names is not None and name not in names:
            continue
        if not path.is_file():
            missing.append(name)
            continue
        table = json.loads(path.read_text(encoding="utf-8"))
        if table.get("sample_rate") != settings.sample_rate or table.get("hop_length") != settings.hop_length:
            raise ParameterError(
                f"{path} was made for sample_rate={table.get('sample_rate')}, hop_length={table.get('hop_length')}; "
                f"the mels use {settings.sample_rate} and {settings.hop_length}: re-align into another folder")
        durations = np.asarray(table["durations"], dtype=np.int64)
        samples, _ = load_audio(item.audio, sample_rate=settings.sample_rate)
        mel = log_mel(samples, settings)
        if not (durations.sum() == table["n_frames"] == mel.shape[0]):
            raise ParameterError(
                f"{path}: durations sum to {int(durations.sum())} frames, the table says n_frames="
                f"{table['n_frames']}, the mel of {item.audio} has {mel.shape[0]}")
        utterances.append(TTSUtterance(name, list(table["tokens"]), durations, mel,
                                       item.transcript.read_text(encoding="utf-8").strip()))
    if not utterances:
        raise ParameterError(f"no duration tables for the corpus {str(root)!r} in {str(durations_dir)!r}; "
                             "align it first (align_for_tts)")
    return utterances, missing


def mel_statistics(utterances):
    """Per-bin mean and standard deviation of the log-mels over every frame: two (n_mels,) arrays."""
    frames = np.concatenate([u.mel for u in utterances]).astype(np.float64)
    return frames.mean(0).astype(np.float32), np.maximum(frames.std(0), 1e-3).astype(np.float32)


class TTSDataset:
    """A torch-style map dataset of utterances: phone ids, durations and mels as tensors.

    Parameters
    ----------
    utterances : list of TTSUtterance
    vocabulary : PhoneVocabulary
    duration_source : {"aligner", "uniform"}
        The aligner's durations, or :func:`uniform_durations` of the same total (the
        no-alignment baseline).

    ``dataset[i]`` is a dict: ``tokens`` (N,) int64, ``durations`` (N,) int64,
    ``mel`` (T, n_mels) float32.
    """

    def __init__(self, utterances, vocabulary, *, duration_source="aligner"):
        if duration_source not in ("aligner", "uniform"):
            raise ParameterError(f"duration_source must be 'aligner' or 'uniform', got {duration_source!r}")
        self.utterances = list(utterances)
        self.vocabulary = vocabulary
        self.duration_source = duration_source

    def __len__(self):
        return len(self.utterances)

    def __getitem__(self, i):
        import torch

        u = self.utterances[i]
        d = u.durations if self.duration_source == "aligner" else uniform_durations(len(u.phones), u.mel.shape[0])
        return {"tokens": torch.from_numpy(self.vocabulary.encode(u.phones, unknown="unk")),
                "durations": torch.as_tensor(d, dtype=torch.int64),
                "mel": torch.from_numpy(np.ascontiguousarray(u.mel))}


def collate_tts(items):
    """Pad a list of dataset items into a batch.

    Returns
    -------
    dict
        ``tokens`` (B, N) int64 (0-padded), ``token_lengths`` (B,), ``durations`` (B, N)
        (0-padded), ``mels`` (B, T, n_mels) (0-padded), ``mel_lengths`` (B,) (= durations' sums).

    Raises
    ------
    ParameterError
        An item whose durations do not sum to its mel frames.
    """
    import torch
    from torch.nn.utils.rnn import pad_sequence

    for k, it in enumerate(items):
        if it["tokens"].shape != it["durations"].shape:
            raise ParameterError(f"item {k}: {it['tokens'].shape[0]} tokens but {it['durations'].shape[0]} durations")
        if int(it["durations"].sum()) != it["mel"].shape[0]:
            raise ParameterError(f"item {k}: durations sum to {int(it['durations'].sum())} frames, "
                                 f"the mel has {it['mel'].shape[0]}")
    return {
        "tokens": pad_sequence([it["tokens"] for it in items], batch_first=True),
        "token_lengths": torch.tensor([it["tokens"].shape[0] for it in items], dtype=torch.int64),
        "durations": pad_sequence([it["durations"] for it in items], batch_first=True),
        "mels": pad_sequence([it["mel"] for it in items], batch_first=True),
        "mel_lengths": torch.tensor([it["mel"].shape[0] for it in items], dtype=torch.int64),
    }


# pauses go where the text has punctuation between words (the aligner puts silence where
# the recording has a pause, which is mostly there)
_PAUSE_MARKS = set(",.;:!?()\u2014\u2013\"")


def text_to_phones(text, *, lexicon=None):
    """Text to the aligner's phones: the same normaliser and pronunciations as alignment.

    Words are normalised (:func:`align.text.normalize.normalize`) and pronounced by the
    lexicon the aligner uses (CMUdict, espeak-ng, rules), first variant; a silence
    token ``""`` starts and ends the utterance and stands for punctuation between words.

    Parameters
    ----------
    text : str
    lexicon : align.text.lexicon.Lexicon, optional
        Default: the aligner's.

    Returns
    -------
    list of str
    """
    from ..speech.transcript import _lexicon, _pronounce, _spoken_words

    lexicon = _lexicon() if lexicon is None else lexicon
    tokens, words, token_of_word = _spoken_words(text, lexicon)
    pronunciations, _ = _pronounce(words, lexicon)
    phones = [SILENCE]
    for w, (variants, token) in enumerate(zip(pronunciations, token_of_word)):
        if w and token != token_of_word[w - 1]:
            gap = text[tokens[token_of_word[w - 1]].end:tokens[token].start]
            if _PAUSE_MARKS & set(gap) and phones[-1] != SILENCE:
                phones.append(SILENCE)
        phones.extend(variants[0])
    if phones[-1] != SILENCE:
        phones.append(SILENCE)
    return phones
