"""Fragment-level alignment (lines, sentences, the user's own fragments), as aeneas gives it.

:func:`align_fragments` aligns the words with :func:`align.speech.tts_align.align_tts`
and reports one interval per fragment. Fragments tile the recording as aeneas's do:
the first begins at 0, each ends where the next begins (the first word of the next
fragment), the last ends at the end of the audio. :meth:`FragmentAlignment.save`
writes ``.json`` in aeneas's sync-map layout
(``{"fragments": [{"begin": "0.000", "end": "1.234", "id": "f000001",
"language": "fr", "lines": ["..."], "children": []}]}``), ``.srt``, ``.vtt`` and
``.TextGrid`` (one tier, "fragments").
"""

import json
import os
import re
from dataclasses import dataclass, field

from ..exceptions import ParameterError

__all__ = ["Fragment", "FragmentAlignment", "align_fragments", "split_fragments"]


@dataclass(frozen=True)
class Fragment:
    """One aligned fragment.

    Attributes
    ----------
    id : str
        ``"f000001"``, ``"f000002"``, ... (aeneas's ids).
    lines : list of str
        The fragment's text lines.
    begin, end : float
        Seconds.
    """

    id: str
    lines: list
    begin: float
    end: float

    @property
    def text(self):
        """The lines joined by spaces."""
        return " ".join(self.lines)


@dataclass
class FragmentAlignment:
    """Fragments of a recording; see :func:`align_fragments`.

    Attributes
    ----------
    fragments : list of Fragment
    language : str
    duration : float
    words : Alignment
        The word-level alignment the fragments were made from.
    """

    fragments: list
    language: str
    duration: float
    words: object = field(default=None, repr=False)

    def to_syncmap(self):
        """aeneas's JSON sync map as a dict."""
        return {"fragments": [
            {"begin": f"{f.begin:.3f}", "children": [], "end": f"{f.end:.3f}", "id": f.id,
             "language": self.language, "lines": list(f.lines)}
            for f in self.fragments]}

    def save(self, path):
        """Write by extension: ``.json`` (aeneas sync map), ``.srt``, ``.vtt``, ``.TextGrid``.

        Raises
        ------
        ParameterError
            For another extension.
        """
        from ..io._atomic import atomic_write_text
        from ..io.subtitles import format_timestamp

        ext = os.path.splitext(os.fspath(path))[1].lower()
        if ext == ".json":
            atomic_write_text(path, json.dumps(self.to_syncmap(), indent=1, ensure_ascii=False) + "\n")
        elif ext in (".srt", ".vtt"):
            sep = "," if ext == ".srt" else "."
            blocks = [] if ext == ".srt" else ["WEBVTT\n"]
            for i, f in enumerate(self.fragments, 1):
                head = f"{i}\n" if ext == ".srt" else ""
                blocks.append(f"{head}{format_timestamp(f.begin, sep)} --> {format_timestamp(f.end, sep)}\n"
                              + "\n".join(f.lines) + "\n")
            atomic_write_text(path, "\n".join(blocks))
        elif ext == ".textgrid":
            from .results import Alignment, Word

            tier = Alignment(words=[Word(f.text, f.begin, f.end) for f in self.fragments],
                             duration=self.duration)
            tier.save(path, phones=False)
        else:
            raise ParameterError(f"cannot write fragments as {ext!r}; use .json, .srt, .vtt or .TextGrid")


_SENTENCE = re.compile(r"[^.!?。！？]+[.!?。！？]*")


def split_fragments(text, level="line"):
    """Split a text into fragments: (lines, start char, end char) per fragment.

    Parameters
    ----------
    text : str
    level : {"line", "sentence", "paragraph"}
        One fragment per non-empty line, per sentence, or per block of lines
        separated by an empty line.

    Returns
    -------
    list of (list of str, int, int)
    """
    if level == "line":
        pat = re.compile(r"[^\n]+")
    elif level == "paragraph":
        pat = re.compile(r"\S(?:.|\n(?!\s*\n))*")
    elif level == "sentence":
        pat = _SENTENCE
    else:
        raise ParameterError(f"level={level!r} is not supported; use 'line', 'sentence' or 'paragraph'")
    out = []
    for m in pat.finditer(text):
        if not re.search(r"\w", m.group()):
            continue
        lines = [ln.strip() for ln in m.group().split("\n") if ln.strip()]
        out.append((lines, m.start(), m.end()))
    return out


def align_fragments(audio, fragments, *, language="en", level="line", **options):
    """Align text fragments (aeneas's job) through the word-level TTS+DTW aligner.

    Parameters
    ----------
    audio : str, os.PathLike or (np.ndarray, int)
    fragments : str, os.PathLike or list of str
        A text (split by ``level``), a UTF-8 text file, or the fragments themselves.
    language : str
        An espeak-ng language code.
    level : {"line", "sentence", "paragraph"}
    **options
        Passed to :func:`align.speech.tts_align.align_tts`.

    Returns
    -------
    FragmentAlignment

    Raises
    ------
    ParameterError
        No fragment with a word; otherwise as :func:`align_tts`.
    """
    from .transcript import _read_transcript, align_transcript
    from .tts_align import _user_words

    if isinstance(fragments, (list, tuple)):
        text = "\n".join(str(f).replace("\n", " ") for f in fragments)
        level = "line"
    else:
        text = _read_transcript(fragments)
    parts = split_fragments(text, level)
    if not parts:
        raise ParameterError(f"the text has no fragment with a word: {text[:80]!r}")
    alignment = align_transcript(audio, text, language=language, method="tts", **options)
    starts = [u[1] for u in _user_words(text)]
    begins = []
    for lines, a, b in parts:
        ws = [w for w, s in zip(alignment.words, starts) if a <= s < b]
        begins.append(ws[0].start if ws else None)
    # fragments without a word take the previous begin
    for k in range(len(begins)):
        if begins[k] is None:
            begins[k] = begins[k - 1] if k else 0.0
    begins[0] = 0.0
    ends = begins[1:] + [alignment.duration]
    out = [Fragment(f"f{k + 1:06d}", lines, begins[k], max(ends[k], begins[k]))
           for k, (lines, _, _) in enumerate(parts)]
    return FragmentAlignment(out, language, alignment.duration, alignment)
