"""Write (and read back) an alignment, choosing the format by file extension.

=============  ==========================================  ==================
extension      format                                      writer
=============  ==========================================  ==================
``.TextGrid``  Praat TextGrid, "words" and "phones" tiers  :func:`align.io.textgrid.write_textgrid`
``.json``      fusealign JSON (schema in json_io)          :func:`align.io.json_io.write_json`
``.srt``       SubRip subtitles                            :func:`align.io.subtitles.write_srt`
``.vtt``       WebVTT subtitles                            :func:`align.io.subtitles.write_vtt`
``.ctm``       NIST CTM                                    :func:`align.io.ctm.write_ctm`
=============  ==========================================  ==================

Extensions are matched case-insensitively. Every write is atomic.
"""

import os

from ..exceptions import ParameterError

__all__ = ["FORMATS", "save_alignment", "read_document", "format_for_path"]

FORMATS = {
    ".textgrid": "textgrid",
    ".json": "json",
    ".srt": "srt",
    ".vtt": "vtt",
    ".ctm": "ctm",
}
_SHOWN = ".TextGrid, .json, .srt, .vtt, .ctm"


def format_for_path(path, format=None):
    """The format name ("textgrid", "json", "srt", "vtt", "ctm") for ``path``.

    Raises
    ------
    ParameterError
        If ``format`` is unknown or the extension is not supported.
    """
    if format is not None:
        if format not in FORMATS.values():
            raise ParameterError(
                f"format={format!r} is not supported; use one of "
                f"{', '.join(repr(f) for f in FORMATS.values())}"
            )
        return format
    ext = os.path.splitext(os.fspath(path))[1].lower()
    try:
        return FORMATS[ext]
    except KeyError:
        raise ParameterError(
            f"cannot tell the output format of {os.fspath(path)!r} from its extension "
            f"{ext or '(none)'!r}; use one of {_SHOWN} or pass format="
        ) from None


def save_alignment(alignment, path, *, format=None, **options):
    """Write ``alignment`` to ``path`` in the format its extension names.

    Parameters
    ----------
    alignment : Alignment
    path : str or os.PathLike
    format : {None, "textgrid", "json", "srt", "vtt", "ctm"}
        Overrides the extension.
    **options
        Passed to the writer: TextGrid ``textgrid_format``,
        ``phones``; JSON ``indent``; SRT/VTT ``max_chars``, ``max_duration``,
        ``max_gap``, ``per_word``; CTM ``file_id``, ``channel``, ``phones``.

    Raises
    ------
    ParameterError
        If the extension (or ``format``) is not supported; the message lists
        the supported ones.
    """
    kind = format_for_path(path, format)
    if kind == "textgrid":
        from .textgrid import write_textgrid

        if "textgrid_format" in options:
            options["format"] = options.pop("textgrid_format")
        write_textgrid(alignment, path, **options)
    elif kind == "json":
        from .json_io import write_json

        write_json(alignment, path, **options)
    elif kind == "srt":
        from .subtitles import write_srt

        write_srt(alignment, path, **options)
    elif kind == "vtt":
        from .subtitles import write_vtt

        write_vtt(alignment, path, **options)
    else:
        from .ctm import write_ctm

        write_ctm(alignment, path, **options)


def read_document(path):
    """Read an alignment document from ``.json`` (exact) or ``.TextGrid`` (no scores).

    Returns
    -------
    dict
        The document of :mod:`align.io.json_io`; :meth:`align.Alignment.load`
        makes it an Alignment.

    Raises
    ------
    ParameterError
        If the extension is not one of those two, or the file is unreadable.
    """
    kind = format_for_path(path)
    if kind == "json":
        from .json_io import read_json

        return read_json(path)
    if kind == "textgrid":
        from .textgrid import read_textgrid

        return read_textgrid(path)
    raise ParameterError(
        f"cannot read an alignment back from {os.fspath(path)!r}; reading supports .json and .TextGrid"
    )
