"""Result dataclasses of the transcript aligner: :class:`Alignment`, :class:`Word`, :class:`Phone`.

Times are in seconds from the start of the audio. Scores are confidences in
[0, 1] (None when the aligner has none). ``align.transcript`` re-exports these
names; ``align.Alignment`` is the same class.

An :class:`Alignment` writes itself by file extension with :meth:`Alignment.save`
(``.TextGrid``, ``.json``, ``.srt``, ``.vtt``, ``.ctm``), and round-trips
through :meth:`Alignment.to_dict` / :meth:`Alignment.from_dict` (the JSON
schema is documented in :mod:`align.io.json_io`).
"""

import dataclasses
import math
from dataclasses import dataclass, field

from ..exceptions import ParameterError

__all__ = ["Phone", "Word", "Alignment"]


def _time(name, value, owner):
    try:
        value = float(value)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{owner}.{name} must be a number of seconds, got {value!r}") from exc
    if not math.isfinite(value):
        raise ParameterError(f"{owner}.{name} must be finite, got {value}")
    return value


def _check_span(obj, owner):
    start = _time("start", obj.start, owner)
    end = _time("end", obj.end, owner)
    if end < start:
        raise ParameterError(
            f"{owner} {getattr(obj, 'label', None) or getattr(obj, 'text', '')!r} ends before it "
            f"starts: start={start}, end={end}; expected start <= end"
        )
    object.__setattr__(obj, "start", start)
    object.__setattr__(obj, "end", end)


def _check_score(obj, owner):
    score = obj.score
    if score is None:
        return
    try:
        score = float(score)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{owner}.score must be a number in [0, 1] or None, got {score!r}") from exc
    if not 0.0 <= score <= 1.0:
        raise ParameterError(f"{owner}.score must be in [0, 1] or None, got {score}")
    object.__setattr__(obj, "score", score)


@dataclass(frozen=True)
class Phone:
    """One phone of a word.

    Attributes
    ----------
    label : str
        ARPAbet label without stress digits (``"AH"``, ``"NG"``), or ``"SIL"``.
    start, end : float
        Seconds, ``start <= end``.
    score : float or None
        Confidence in [0, 1], if the aligner gives one.
    """

    label: str
    start: float
    end: float
    score: float | None = None

    def __post_init__(self):
        _check_span(self, "Phone")
        _check_score(self, "Phone")

    @property
    def duration(self):
        """``end - start`` in seconds."""
        return self.end - self.start

    def to_dict(self):
        """Plain-dict form (see :mod:`align.io.json_io` for the schema)."""
        return {"label": self.label, "start": self.start, "end": self.end, "score": self.score}

    @classmethod
    def from_dict(cls, data):
        """Inverse of :meth:`to_dict`."""
        return cls(label=data["label"], start=data["start"], end=data["end"], score=data.get("score"))


@dataclass(frozen=True)
class Word:
    """One aligned word.

    Attributes
    ----------
    text : str
        The word as written in the transcript (``"$5"``, ``"Dr."``).
    start, end : float
        Seconds, ``start <= end``.
    score : float or None
        Confidence in [0, 1].
    phones : list of Phone
        The word's phones, in time order.
    spoken : str or None
        The normalised form that was aligned (``"five dollars"``) when it
        differs from ``text``; None otherwise.
    """

    text: str
    start: float
    end: float
    score: float | None = None
    phones: list = field(default_factory=list)
    spoken: str | None = None

    def __post_init__(self):
        _check_span(self, "Word")
        _check_score(self, "Word")
        phones = list(self.phones)
        for p in phones:
            if not isinstance(p, Phone):
                raise ParameterError(f"Word.phones must hold Phone objects, got {type(p).__name__}")
        object.__setattr__(self, "phones", phones)

    @property
    def duration(self):
        """``end - start`` in seconds."""
        return self.end - self.start

    def to_dict(self):
        """Plain-dict form (see :mod:`align.io.json_io` for the schema)."""
        out = {"text": self.text, "start": self.start, "end": self.end, "score": self.score}
        if self.spoken is not None:
            out["spoken"] = self.spoken
        out["phones"] = [p.to_dict() for p in self.phones]
        return out

    @classmethod
    def from_dict(cls, data):
        """Inverse of :meth:`to_dict`."""
        return cls(
            text=data["text"],
            start=data["start"],
            end=data["end"],
            score=data.get("score"),
            phones=[Phone.from_dict(p) for p in data.get("phones", [])],
            spoken=data.get("spoken"),
        )


@dataclass(frozen=True)
class Alignment:
    """Word and phone timings of one recording.

    Attributes
    ----------
    words : list of Word
        In time order.
    duration : float
        Length of the audio in seconds.
    sample_rate : int or None
        Sample rate the aligner worked at.
    unknown_words : list of str
        Words that were not in the pronunciation dictionary (pronounced by
        espeak-ng or letter-to-sound rules instead).
    audio_path : str or None
        The audio file, when aligned from a file (used as the CTM file id).
    metadata : dict
        Free-form JSON-serialisable extras (model name, options).
    """

    words: list
    duration: float
    sample_rate: int | None = None
    unknown_words: list = field(default_factory=list)
    audio_path: str | None = None
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        duration = _time("duration", self.duration, "Alignment")
        if duration < 0:
            raise ParameterError(f"Alignment.duration must be >= 0, got {duration}")
        object.__setattr__(self, "duration", duration)
        words = list(self.words)
        for w in words:
            if not isinstance(w, Word):
                raise ParameterError(f"Alignment.words must hold Word objects, got {type(w).__name__}")
        object.__setattr__(self, "words", words)
        object.__setattr__(self, "unknown_words", [str(u) for u in self.unknown_words])
        if self.sample_rate is not None:
            object.__setattr__(self, "sample_rate", int(self.sample_rate))
        if self.audio_path is not None:
            object.__setattr__(self, "audio_path", str(self.audio_path))
        object.__setattr__(self, "metadata", dict(self.metadata))

    @property
    def phones(self):
        """All phones of all words, in time order (a flat list)."""
        return [p for w in self.words for p in w.phones]

    def silences(self, min_duration=0.0):
        """Gaps between words (and before the first / after the last).

        Parameters
        ----------
        min_duration : float
            Only gaps at least this long (seconds) are returned.

        Returns
        -------
        list of (float, float)
            ``(start, end)`` of each gap, in time order.
        """
        gaps = []
        t = 0.0
        for w in sorted(self.words, key=lambda w: w.start):
            if w.start - t > 0 and w.start - t >= min_duration:
                gaps.append((t, w.start))
            t = max(t, w.end)
        if self.duration - t > 0 and self.duration - t >= min_duration:
            gaps.append((t, self.duration))
        return gaps

    def duration_table(self, *, sample_rate, hop_length, n_frames=None, level="phones",
                       silence="keep", min_frames=0):
        """Tokens (phones or words, silences between them) and their integer frame durations.

        Parameters
        ----------
        sample_rate, hop_length : int
            Of the mel spectrogram the durations are for.
        n_frames : int, optional
            The mel length (default librosa's: ``1 + round(duration * sr) // hop``).
        level : {"phones", "words"}
        silence : {"keep", "merge", "trim"}
            See :func:`align.tts.durations.durations_from_intervals`.
        min_frames : int
            A floor on every token's frames (taken from its neighbours).

        Returns
        -------
        align.tts.durations.DurationTable
        """
        from ..tts.durations import durations_from_intervals

        if level not in ("phones", "words"):
            raise ParameterError(f"level must be 'phones' or 'words', got {level!r}")
        if level == "phones":
            intervals = [(p.label, p.start, p.end) for p in self.phones]
        else:
            intervals = [(w.text, w.start, w.end) for w in self.words]
        return durations_from_intervals(intervals, sample_rate=sample_rate, hop_length=hop_length,
                                        duration=self.duration, n_frames=n_frames, silence=silence,
                                        min_frames=min_frames)

    def durations(self, *, sample_rate, hop_length, n_frames=None, level="phones", silence="keep",
                  min_frames=0):
        """Integer frames per token, summing exactly to the mel length (see :meth:`duration_table`).

        Returns
        -------
        np.ndarray [shape=(N,), int64]
            ``sum == n_frames`` (``== end_frame - start_frame`` of the table with
            ``silence="trim"``; :meth:`duration_table` gives the tokens and offsets).
        """
        return self.duration_table(sample_rate=sample_rate, hop_length=hop_length, n_frames=n_frames,
                                   level=level, silence=silence, min_frames=min_frames).durations

    def replace(self, **changes):
        """A copy with some fields changed (:func:`dataclasses.replace`)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        """The JSON document of :mod:`align.io.json_io` as a plain dict."""
        from ..io.json_io import alignment_to_dict

        return alignment_to_dict(self)

    @classmethod
    def from_dict(cls, data):
        """Build an Alignment from :meth:`to_dict`'s output.

        Raises
        ------
        ParameterError
            If the document's format or version is not supported, or a field is
            missing or malformed.
        """
        from ..io.json_io import check_document

        data = check_document(data)
        try:
            return cls(
                words=[Word.from_dict(w) for w in data["words"]],
                duration=data["duration"],
                sample_rate=data.get("sample_rate"),
                unknown_words=data.get("unknown_words", []),
                audio_path=data.get("audio_path"),
                metadata=data.get("metadata", {}),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ParameterError(f"malformed alignment document: missing or bad field {exc}") from exc

    def save(self, path, **options):
        """Write to ``path``; the format follows the extension.

        ``.TextGrid`` (Praat, words and phones tiers), ``.json``, ``.srt``,
        ``.vtt``, ``.ctm``. The write is atomic. ``options`` go to the format's
        writer (see :func:`align.io.writers.save_alignment`).

        Raises
        ------
        ParameterError
            For an unknown extension (the message lists the supported ones).
        """
        from ..io.writers import save_alignment

        save_alignment(self, path, **options)

    @classmethod
    def load(cls, path):
        """Read an Alignment written by :meth:`save` as ``.json`` or ``.TextGrid``."""
        from ..io.writers import read_document

        return cls.from_dict(read_document(path))
