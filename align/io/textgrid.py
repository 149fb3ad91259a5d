"""Praat TextGrid output (through praatio): a "words" tier and a "phones" tier.

Both tiers span ``[0, alignment.duration]``. Times are clamped to that range,
gaps are filled with empty intervals (Praat needs them to display a tier), and
an interval that starts before the previous one ends (floating-point overlap
between neighbours) is moved to start where the previous one ends. Intervals
that are empty after clamping (zero length) are dropped, since Praat cannot
represent them.
"""

import os

from ..exceptions import ParameterError
from ._atomic import atomic_path

__all__ = ["write_textgrid", "read_textgrid", "textgrid_entries"]

_MIN_LENGTH = 1e-9


def _clean_entries(items, duration):
    """Clamp, de-overlap and drop empty ``(start, end, label)`` entries."""
    out = []
    prev_end = 0.0
    for start, end, label in sorted(items, key=lambda e: (e[0], e[1])):
        start = min(max(float(start), 0.0, prev_end), duration)
        end = min(max(float(end), 0.0), duration)
        if end - start <= _MIN_LENGTH:
            continue
        out.append((start, end, str(label)))
        prev_end = end
    return out


def textgrid_entries(alignment):
    """The cleaned ``(start, end, label)`` entries of the words and phones tiers.

    Returns
    -------
    words, phones : list of (float, float, str)
    """
    duration = float(alignment.duration)
    words = _clean_entries([(w.start, w.end, w.text) for w in alignment.words], duration)
    phones = _clean_entries([(p.start, p.end, p.label) for p in alignment.phones], duration)
    return words, phones


def write_textgrid(alignment, path, *, format="long_textgrid", phones=True):
    """Write ``alignment`` as a Praat TextGrid to ``path`` atomically.

    Parameters
    ----------
    alignment : Alignment
    path : str or os.PathLike
    format : {"long_textgrid", "short_textgrid"}
        Praat's verbose or short text format.
    phones : bool
        Include the "phones" tier.

    Raises
    ------
    ParameterError
        If ``format`` is unknown or the alignment has zero duration.
    """
    from praatio import textgrid

    if format not in ("long_textgrid", "short_textgrid"):
        raise ParameterError(
            f"format={format!r} is not supported for TextGrid; use 'long_textgrid' or 'short_textgrid'"
        )
    duration = float(alignment.duration)
    if duration <= 0:
        raise ParameterError(
            f"cannot write a TextGrid for an alignment of duration {duration}; "
            f"a TextGrid needs a positive duration"
        )
    words, phone_entries = textgrid_entries(alignment)
    tg = textgrid.Textgrid(minTimestamp=0.0, maxTimestamp=duration)
    tg.addTier(textgrid.IntervalTier("words", words, 0.0, duration))
    if phones:
        tg.addTier(textgrid.IntervalTier("phones", phone_entries, 0.0, duration))
    with atomic_path(path) as tmp:
        tg.save(tmp, format=format, includeBlankSpaces=True, reportingMode="error")


def read_textgrid(path):
    """Read a TextGrid written by :func:`write_textgrid` as an alignment document.

    Phones are attached to the word whose interval contains their midpoint.
    Scores are not stored in TextGrids, so they come back as None.

    Returns
    -------
    dict
        The document of :mod:`align.io.json_io` (``words`` with nested
        ``phones``, ``duration`` the grid's end); :meth:`align.Alignment.load`
        makes it an Alignment.

    Raises
    ------
    ParameterError
        If the file is missing, unreadable, or has no "words" tier.
    """
    from praatio import textgrid

    from .json_io import FORMAT, VERSION

    path = os.fspath(path)
    if not os.path.exists(path):
        raise ParameterError(f"TextGrid file {path!r} does not exist")
    try:
        tg = textgrid.openTextgrid(path, includeEmptyIntervals=False)
    except Exception as exc:  # praatio raises assorted errors on bad input
        raise ParameterError(f"{path!r} is not a readable TextGrid: {exc}") from exc
    if "words" not in tg.tierNames:
        raise ParameterError(f"{path!r} has no 'words' tier; found tiers {list(tg.tierNames)}")
    phone_entries = list(tg.getTier("phones").entries) if "phones" in tg.tierNames else []
    words = []
    for entry in tg.getTier("words").entries:
        inside = [
            {"label": p.label, "start": p.start, "end": p.end, "score": None}
            for p in phone_entries
            if entry.start <= (p.start + p.end) / 2 < entry.end
        ]
        words.append({"text": entry.label, "start": entry.start, "end": entry.end, "score": None,
                      "phones": inside})
    return {"format": FORMAT, "version": VERSION, "duration": tg.maxTimestamp, "sample_rate": None,
            "audio_path": None, "unknown_words": [], "metadata": {}, "words": words}
