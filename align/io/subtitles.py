"""SubRip (.srt) and WebVTT (.vtt) subtitles from an alignment.

Words are grouped into cues, greedily in time order: a new cue starts when
adding the next word would make the cue's text longer than ``max_chars``
characters (42 by default, the common broadcast line limit) or its span longer
than ``max_duration`` seconds (5 s), or when the silence before the next word is
longer than ``max_gap`` seconds (1 s). ``per_word=True`` writes one cue per word
(karaoke-style timing). A single word longer than ``max_chars`` gets a cue of
its own. Each cue runs from its first word's start to its last word's end.

Ready-made cues (objects with ``start``, ``end``, a ``text`` whose lines are
separated by ``"\n"``, and optionally ``words`` of ``text``/``start``, such as
those of :func:`align.video.subtitles.subtitles`) are written as they are by
:func:`cues_srt_text` / :func:`cues_vtt_text` and :func:`write_cues_srt` /
:func:`write_cues_vtt`: multi-line text, and in WebVTT optionally a karaoke
timestamp tag (``<00:00:01.200>``) before each word after the first.
"""

from ..exceptions import ParameterError
from ._atomic import atomic_write_text

__all__ = [
    "group_words",
    "format_timestamp",
    "srt_text",
    "vtt_text",
    "write_srt",
    "write_vtt",
    "cues_srt_text",
    "cues_vtt_text",
    "write_cues_srt",
    "write_cues_vtt",
]


def _check(max_chars, max_duration, max_gap):
    if not (isinstance(max_chars, int) and max_chars >= 1):
        raise ParameterError(f"max_chars must be a positive integer, got {max_chars!r}")
    if not max_duration > 0:
        raise ParameterError(f"max_duration must be > 0 seconds, got {max_duration!r}")
    if not max_gap >= 0:
        raise ParameterError(f"max_gap must be >= 0 seconds, got {max_gap!r}")


def _one_line(text):
    # a blank line ends a cue in both formats, so a word never spans lines
    return " ".join(text.split())


def group_words(words, *, max_chars=42, max_duration=5.0, max_gap=1.0, per_word=False):
    """Group words into cues.

    Parameters
    ----------
    words : list of Word
    max_chars : int
        Longest cue text, in characters (words joined by single spaces).
    max_duration : float
        Longest cue span, in seconds.
    max_gap : float
        A pause longer than this (seconds) between two words always ends a cue.
    per_word : bool
        One cue per word.

    Returns
    -------
    list of (float, float, str)
        ``(start, end, text)`` per cue, in time order.

    Raises
    ------
    ParameterError
        If a limit is not positive.
    """
    _check(max_chars, max_duration, max_gap)
    ordered = sorted((w for w in words if w.text.strip()), key=lambda w: (w.start, w.end))
    if per_word:
        return [(w.start, w.end, _one_line(w.text)) for w in ordered]
    cues = []
    current = []
    for w in ordered:
        if current:
            text = " ".join(_one_line(x.text) for x in current + [w])
            too_long = len(text) > max_chars
            too_slow = w.end - current[0].start > max_duration
            paused = w.start - current[-1].end > max_gap
            if too_long or too_slow or paused:
                cues.append(current)
                current = []
        current.append(w)
    if current:
        cues.append(current)
    return [
        (c[0].start, max(x.end for x in c), " ".join(_one_line(x.text) for x in c)) for c in cues
    ]


def format_timestamp(seconds, sep=","):
    """``HH:MM:SS,mmm`` (SRT; ``sep="."`` gives WebVTT's ``HH:MM:SS.mmm``)."""
    ms = int(round(max(0.0, float(seconds)) * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _cue_times(start, end, duration):
    if duration is not None and duration > 0:
        start, end = min(start, duration), min(end, duration)
    # A cue must not have end < start after rounding to milliseconds.
    return start, max(end, start)


def srt_text(alignment, **options):
    """The SRT document as a string (options as in :func:`group_words`)."""
    blocks = []
    for i, (start, end, text) in enumerate(group_words(alignment.words, **options), 1):
        start, end = _cue_times(start, end, alignment.duration)
        blocks.append(f"{i}\n{format_timestamp(start)} --> {format_timestamp(end)}\n{text}\n")
    return "\n".join(blocks)


def _vtt_escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def vtt_text(alignment, **options):
    """The WebVTT document as a string (options as in :func:`group_words`)."""
    lines = ["WEBVTT", ""]
    for start, end, text in group_words(alignment.words, **options):
        start, end = _cue_times(start, end, alignment.duration)
        lines.append(f"{format_timestamp(start, '.')} --> {format_timestamp(end, '.')}")
        lines.append(_vtt_escape(text))
        lines.append("")
    return "\n".join(lines)


def write_srt(alignment, path, **options):
    """Write SubRip subtitles to ``path`` atomically (options: :func:`group_words`)."""
    atomic_write_text(path, srt_text(alignment, **options))


def write_vtt(alignment, path, **options):
    """Write WebVTT subtitles to ``path`` atomically (options: :func:`group_words`)."""
    atomic_write_text(path, vtt_text(alignment, **options))


# --------------------------------------------------------------------------- ready-made cues


def _cue_lines(k, cue):
    """The cue's non-blank lines, whitespace collapsed (a blank line would end the cue)."""
    try:
        start, end = float(cue.start), float(cue.end)
    except (AttributeError, TypeError, ValueError) as exc:
        raise ParameterError(f"cue {k} must have numeric start and end times, got {cue!r}") from exc
    if not (start >= 0 and end >= start):
        raise ParameterError(f"cue {k} has start={start}, end={end}; expected 0 <= start <= end")
    lines = [_one_line(line) for line in str(cue.text).split("\n")]
    lines = [line for line in lines if line]
    if not lines:
        raise ParameterError(f"cue {k} ({start} s to {end} s) has no text")
    return start, end, lines


def cues_srt_text(cues):
    """The SubRip document of ready-made cues, one line of text per line of the cue.

    Parameters
    ----------
    cues : iterable
        Objects with ``start`` and ``end`` (seconds) and ``text`` (lines
        separated by ``"\n"``).

    Returns
    -------
    str

    Raises
    ------
    ParameterError
        If a cue has bad times or no text.
    """
    blocks = []
    for i, cue in enumerate(cues, 1):
        start, end, lines = _cue_lines(i, cue)
        text = "\n".join(lines)
        blocks.append(f"{i}\n{format_timestamp(start)} --> {format_timestamp(end)}\n{text}\n")
    return "\n".join(blocks)


def _word_fields(word):
    if hasattr(word, "text") and hasattr(word, "start"):
        return _one_line(str(word.text)), float(word.start)
    return _one_line(str(word[0])), float(word[1])


def _karaoke(start, end, lines, words):
    """Escaped payload with ``<HH:MM:SS.mmm>`` before each word after the first.

    A tag is written only where it falls strictly inside the cue and after the
    previous tag (WebVTT requires both), on the millisecond grid; a word that
    starts earlier shows from the previous tag. Returns None when the words do
    not spell the lines.
    """
    items = [_word_fields(w) for w in words]
    items = [(t, s) for t, s in items if t]
    first_ms, last_ms = int(round(start * 1000)), int(round(end * 1000))
    out_lines = []
    w = 0
    previous = first_ms
    for line in lines:
        taken = []
        parts = []
        while w < len(items) and " ".join(taken) != line:
            text, t = items[w]
            taken.append(text)
            ms = int(round(t * 1000))
            if (w > 0) and previous < ms < last_ms:
                parts.append(f"<{format_timestamp(ms / 1000, '.')}>{_vtt_escape(text)}")
                previous = ms
            else:
                parts.append(_vtt_escape(text))
            w += 1
        if " ".join(taken) != line:
            return None
        out_lines.append(" ".join(parts))
    if w != len(items):
        return None
    return "\n".join(out_lines)


def cues_vtt_text(cues, *, karaoke=False):
    """The WebVTT document of ready-made cues.

    Parameters
    ----------
    cues : iterable
        Objects with ``start``, ``end`` (seconds) and ``text`` (lines separated
        by ``"\n"``); with ``karaoke``, also ``words``: items with ``text`` and
        ``start`` (or ``(text, start, end)`` tuples) that spell the text.
    karaoke : bool
        Put a timestamp tag ``<HH:MM:SS.mmm>`` before every word after the
        first, at the word's start (see :func:`_karaoke` for the rules). A cue
        whose words do not spell its text is written without tags.

    Returns
    -------
    str

    Raises
    ------
    ParameterError
        If a cue has bad times or no text.
    """
    out = ["WEBVTT", ""]
    for i, cue in enumerate(cues, 1):
        start, end, lines = _cue_lines(i, cue)
        payload = None
        if karaoke and getattr(cue, "words", None):
            payload = _karaoke(start, end, lines, cue.words)
        if payload is None:
            payload = "\n".join(_vtt_escape(line) for line in lines)
        out.append(f"{format_timestamp(start, '.')} --> {format_timestamp(end, '.')}")
        out.append(payload)
        out.append("")
    return "\n".join(out)


def write_cues_srt(cues, path):
    """Write ready-made cues as SubRip to ``path`` atomically (see :func:`cues_srt_text`)."""
    atomic_write_text(path, cues_srt_text(cues))


def write_cues_vtt(cues, path, *, karaoke=False):
    """Write ready-made cues as WebVTT to ``path`` atomically (see :func:`cues_vtt_text`)."""
    atomic_write_text(path, cues_vtt_text(cues, karaoke=karaoke))
