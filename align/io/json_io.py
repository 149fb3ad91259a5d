"""JSON documents of alignments (:class:`align.speech.results.Alignment` and any object
with the same fields).

Schema (version 1)::

    {
      "format": "fusealign.alignment",
      "version": 1,
      "duration": 11.0,              # seconds
      "sample_rate": 16000,          # or null
      "audio_path": "jfk.flac",      # or null
      "unknown_words": ["zorblax"],
      "metadata": {},                # free-form
      "words": [
        {"text": "$5", "start": 0.50, "end": 1.10, "score": 0.93,
         "spoken": "five dollars",   # only when it differs from text
         "phones": [{"label": "F", "start": 0.50, "end": 0.58, "score": null}, ...]},
        ...
      ]
    }

Times are seconds as floats; ``score`` is a confidence in [0, 1] or null.
Readers must refuse a ``version`` greater than the one they know.
"""

import json
import math
import os

from ..exceptions import ParameterError
from ._atomic import atomic_write_text

__all__ = [
    "FORMAT",
    "VERSION",
    "alignment_to_dict",
    "check_document",
    "write_json",
    "read_json",
]

FORMAT = "fusealign.alignment"
VERSION = 1


def alignment_to_dict(alignment):
    """Return the version-1 JSON document of ``alignment`` as a plain dict."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "duration": alignment.duration,
        "sample_rate": alignment.sample_rate,
        "audio_path": alignment.audio_path,
        "unknown_words": list(alignment.unknown_words),
        "metadata": dict(alignment.metadata),
        "words": [w.to_dict() for w in alignment.words],
    }


def check_document(data):
    """Check that ``data`` is a fusealign alignment document this reader knows.

    Parameters
    ----------
    data : dict
        A parsed JSON document.

    Returns
    -------
    dict
        ``data`` itself (the caller builds objects from it:
        :meth:`align.speech.results.Alignment.from_dict`).

    Raises
    ------
    ParameterError
        If ``data`` is not a fusealign alignment document, its version is newer
        than this reader, or it has no ``words`` list or ``duration``.
    """
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        got = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise ParameterError(
            f"not a fusealign alignment document: expected format {FORMAT!r}, got {got!r}"
        )
    version = data.get("version")
    if not isinstance(version, int) or version < 1 or version > VERSION:
        raise ParameterError(
            f"alignment document version {version!r} is not supported; this reader "
            f"knows versions 1..{VERSION}; upgrade fusealign"
        )
    for key, kind in (("words", list), ("duration", (int, float))):
        if not isinstance(data.get(key), kind) or isinstance(data.get(key), bool):
            raise ParameterError(
                f"malformed alignment document: missing or bad field {key!r} "
                f"(got {type(data.get(key)).__name__})"
            )
    return data


def _clean(obj):
    # JSON has no inf/nan; a score or time that is not finite is written as null.
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def write_json(alignment, path, *, indent=2):
    """Write ``alignment`` as JSON (UTF-8, schema above) to ``path`` atomically.

    Parameters
    ----------
    alignment : Alignment or dict
        An alignment (anything with the fields of the schema) or its document.
    path : str or os.PathLike
    indent : int or None
        Pretty-printing indent; None writes one line.
    """
    doc = alignment if isinstance(alignment, dict) else alignment_to_dict(alignment)
    text = json.dumps(_clean(doc), indent=indent, ensure_ascii=False)
    atomic_write_text(path, text + "\n")


def read_json(path):
    """Read the document written by :func:`write_json` (checked by :func:`check_document`).

    Returns
    -------
    dict
        The alignment document; :meth:`align.Alignment.load` makes it an Alignment.

    Raises
    ------
    ParameterError
        If the file is missing, is not JSON, or is not an alignment document.
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError as exc:
        raise ParameterError(f"alignment file {path!r} does not exist") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ParameterError(f"{path!r} is not a JSON file: {exc}") from exc
    return check_document(data)
