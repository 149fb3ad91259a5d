"""The files of a corpus: each recording and the transcript of the same stem beside it."""

from dataclasses import dataclass
from pathlib import Path

from ..exceptions import ParameterError

__all__ = ["AUDIO_SUFFIXES", "TRANSCRIPT_SUFFIXES", "CorpusItem", "CorpusResult", "find_corpus"]

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".opus")
TRANSCRIPT_SUFFIXES = (".txt", ".lab")


@dataclass(frozen=True)
class CorpusItem:
    """One recording and its transcript file."""

    audio: Path
    transcript: Path


@dataclass(frozen=True)
class CorpusResult:
    """What happened to one item: ``status`` is "aligned", "skipped" or "failed"."""

    item: CorpusItem
    status: str
    outputs: tuple = ()
    error: str | None = None
    seconds: float = 0.0


def find_corpus(folder):
    """Audio files under ``folder`` (recursively) that have a transcript of the same stem.

    Parameters
    ----------
    folder : str or os.PathLike

    Returns
    -------
    list of CorpusItem
        Sorted by audio path.

    Raises
    ------
    ParameterError
        If ``folder`` is not a directory or holds no audio with a transcript.
    """
    root = Path(folder)
    if not root.is_dir():
        raise ParameterError(f"corpus folder {str(root)!r} is not a directory")
    items = []
    for audio in sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES):
        for suffix in TRANSCRIPT_SUFFIXES:
            text = audio.with_suffix(suffix)
            if text.is_file():
                items.append(CorpusItem(audio, text))
                break
    if not items:
        raise ParameterError(
            f"no audio file with a transcript (same name, {' or '.join(TRANSCRIPT_SUFFIXES)}) "
            f"found under {str(root)!r}"
        )
    return items
