"""The ``align subtitles VIDEO TRANSCRIPT -o out.srt`` command.

:func:`add_subtitles_command` adds the sub-command to the ``align`` parser
(:mod:`align.cli` calls it with its ``subparsers``). The command

1. aligns the video's sound track with the transcript
   (:func:`align.speech.transcript.align_transcript`, which reads the audio of
   mp4/mkv/mov/webm files with PyAV);
2. takes the frame rate from ``--fps`` or from the video
   (:func:`align.video.reader.open_video`, where that module is there);
3. takes the shot changes from ``--shots``: ``auto`` (the default) runs
   :func:`align.video.shots.detect_shots` where that module and PySceneDetect
   are installed and goes on without shots (with a note) where they are not;
   ``none`` uses none; anything else is a text file of shot change times in
   seconds, one per line (``#`` starts a comment);
4. makes the cues with :func:`align.video.subtitles.subtitles` and writes each
   ``-o`` file by extension (``.srt``, ``.vtt``; ``--karaoke`` adds per-word
   timestamps to WebVTT), and ``--alignment FILE`` also saves the word timings
   (any :meth:`align.speech.results.Alignment.save` format).

It prints how many cues it wrote and every rule it could not keep (to stderr;
``-q`` prints nothing but errors). An :class:`align.AlignError` is left to the
``align`` command, which prints it on one line and exits with code 2.
"""

import importlib
import sys
from pathlib import Path

from ..exceptions import ParameterError

__all__ = ["add_subtitles_command", "read_shot_file"]


def read_shot_file(path):
    """Shot change times (seconds) from a text file: one number per line, ``#`` comments.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    list of float

    Raises
    ------
    ParameterError
        If the file cannot be read or a line is not a number.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError as exc:
        raise ParameterError(f"cannot read the shot list {str(path)!r}: {exc}") from exc
    times = []
    for n, line in enumerate(lines, 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            times.append(float(line))
        except ValueError as exc:
            raise ParameterError(
                f"{str(path)!r} line {n}: expected a shot change time in seconds, got {line!r}"
            ) from exc
    return times


def _optional(module):
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def _video_fps(path, note):
    reader = _optional("align.video.reader")
    if reader is None:
        note("the video reader is not available; times are not put on a frame grid (give --fps)")
        return None
    try:
        fps = reader.open_video(path, scan=False).fps
    except ParameterError as exc:
        note(f"no frame rate from {path!r} ({exc}); times are not put on a frame grid (give --fps)")
        return None
    return fps if fps and fps > 0 else None


def _shots(args, note):
    if args.shots == "none":
        return None
    if args.shots != "auto":
        return read_shot_file(args.shots)
    shots = _optional("align.video.shots")
    if shots is None:
        note("shot detection is not available; no shot changes used (give --shots FILE)")
        return None
    try:
        return shots.detect_shots(args.video)
    except ParameterError as exc:
        note(f"no shot changes detected ({exc}); going on without them")
        return None


def _cmd_subtitles(args):
    from ..speech.transcript import align_transcript
    from .subtitles import subtitles

    def note(message):
        if not args.quiet:
            print(f"note: {message}", file=sys.stderr)

    for out in args.output:
        if not str(out).lower().endswith((".srt", ".vtt")):
            raise ParameterError(f"cannot write subtitles to {out!r}: use a .srt or .vtt file name")
    fps = args.fps if args.fps is not None else _video_fps(args.video, note)
    shots = _shots(args, note)
    alignment = align_transcript(args.video, args.transcript, progress=not args.quiet)
    if args.alignment:
        alignment.save(args.alignment)
    cues = subtitles(
        alignment, fps=fps, shots=shots, max_chars=args.max_chars, max_lines=args.max_lines,
        max_cps=args.max_cps, min_duration=args.min_duration, max_duration=args.max_duration,
        min_gap_frames=args.min_gap_frames, snap_frames=args.snap_frames,
        transcript=Path(args.transcript).read_text(encoding="utf-8", errors="replace"),
    )
    for out in args.output:
        cues.save(out, karaoke=args.karaoke and str(out).lower().endswith(".vtt"))
    if not args.quiet:
        broken = cues.violations
        print(f"wrote {len(cues)} cues to {', '.join(args.output)}; "
              f"{len(broken)} rule(s) not kept", file=sys.stderr)
        for index, message in broken:
            cue = cues[index]
            print(f"  cue {index + 1} ({cue.start:.3f}-{cue.end:.3f} s): {message}", file=sys.stderr)
    return 0


def add_subtitles_command(subparsers):
    """Add the ``subtitles`` sub-command to ``subparsers`` (of :mod:`argparse`).

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        What ``parser.add_subparsers()`` returned.

    Returns
    -------
    argparse.ArgumentParser
        The new sub-parser; its ``func`` default runs the command and returns
        the exit code.
    """
    p = subparsers.add_parser(
        "subtitles", help="align a video's speech with its transcript and write broadcast-style subtitles"
    )
    p.add_argument("video", help="video (or audio) file whose sound track is aligned")
    p.add_argument("transcript", help="text file with the transcript")
    p.add_argument("-o", "--output", action="append", required=True,
                   help="subtitle file, .srt or .vtt by extension; repeatable")
    p.add_argument("--fps", type=float, default=None,
                   help="frame rate for the frame grid (default: the video's; none for audio)")
    p.add_argument("--shots", default="auto",
                   help="'auto' (detect, default), 'none', or a text file of shot change times in seconds")
    p.add_argument("--karaoke", action="store_true",
                   help="in .vtt outputs, a timestamp tag before every word (.srt has none)")
    p.add_argument("--alignment", help="also save the word timings here (.json .TextGrid .ctm ...)")
    p.add_argument("--max-chars", type=int, default=42, help="characters per line (default 42)")
    p.add_argument("--max-lines", type=int, default=2, help="lines per cue (default 2)")
    p.add_argument("--max-cps", type=float, default=17.0, help="reading speed, characters/s (default 17)")
    p.add_argument("--min-duration", type=float, default=5 / 6, help="shortest cue, s (default 5/6)")
    p.add_argument("--max-duration", type=float, default=7.0, help="longest cue, s (default 7)")
    p.add_argument("--min-gap-frames", type=int, default=2, help="frames between cues (default 2)")
    p.add_argument("--snap-frames", type=int, default=12,
                   help="snap to a shot change this many frames away (default 12)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no report")
    p.set_defaults(func=_cmd_subtitles)
    return p
