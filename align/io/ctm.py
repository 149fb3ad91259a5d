"""NIST CTM (time-marked conversation) output.

One line per word (or per phone with ``phones=True``)::

    <file> <channel> <start> <duration> <token> <confidence>

``file`` is the audio file's stem (``file_id`` overrides it; ``"utterance"``
when the alignment has no audio path), ``channel`` is 1, times are seconds with
three decimals, the token has whitespace replaced by ``_`` (CTM fields are
space-separated), and the confidence is the word's score with three decimals,
or left out when the score is None (the field is optional in CTM).
"""

import os
import re

from ..exceptions import ParameterError
from ._atomic import atomic_write_text

__all__ = ["ctm_text", "write_ctm"]


def _file_id(alignment, file_id):
    if file_id is not None:
        file_id = str(file_id)
    elif alignment.audio_path:
        file_id = os.path.splitext(os.path.basename(alignment.audio_path))[0]
    else:
        file_id = "utterance"
    if not file_id or re.search(r"\s", file_id):
        raise ParameterError(f"file_id must be non-empty without whitespace, got {file_id!r}")
    return file_id


def ctm_text(alignment, *, file_id=None, channel=1, phones=False):
    """The CTM document as a string.

    Parameters
    ----------
    alignment : Alignment
    file_id : str or None
        First field; default: the audio file's stem, or "utterance".
    channel : int
        Second field.
    phones : bool
        One line per phone instead of per word.

    Raises
    ------
    ParameterError
        If ``file_id`` is empty or contains whitespace.
    """
    fid = _file_id(alignment, file_id)
    items = alignment.phones if phones else alignment.words
    lines = []
    for item in sorted(items, key=lambda x: x.start):
        token = item.label if phones else item.text
        token = re.sub(r"\s+", "_", token.strip())
        if not token:
            continue
        line = f"{fid} {channel} {item.start:.3f} {max(item.end - item.start, 0.0):.3f} {token}"
        if item.score is not None:
            line += f" {item.score:.3f}"
        lines.append(line)
    return "".join(line + "\n" for line in lines)


def write_ctm(alignment, path, **options):
    """Write CTM to ``path`` atomically (options: :func:`ctm_text`)."""
    atomic_write_text(path, ctm_text(alignment, **options))
