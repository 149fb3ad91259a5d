"""Subtitles that follow broadcast rules, built from word timings.

:func:`subtitles` turns aligned words into cues that follow the usual
broadcast rules (the Netflix Timed Text Style Guide and the BBC subtitle
guidelines), and reports every rule it could not keep.

The rules
---------
Times are kept on a grid: frames when ``fps`` is given, otherwise
milliseconds. Frame counts in the parameters (``min_gap_frames``,
``snap_frames``) are then counted at 25 fps, so the default gap is a fixed
2/25 s = 80 ms and the default snap window 12/25 s = 480 ms.

1. **Lines**: at most ``max_lines`` lines of at most ``max_chars`` characters.
   A cue that fits on one line is kept on one line.
2. **Reading speed**: at most ``max_cps`` characters per second. Characters
   are counted as Netflix counts them: every character of the text, spaces and
   punctuation included; a line break is not counted.
3. **Duration**: between ``min_duration`` and ``max_duration`` seconds.
4. **Gap**: at least ``min_gap_frames`` frames between one cue's end and the
   next cue's start.
5. **Frame grid** (with ``fps``): the in-time of the first word is rounded
   *down* and the out-time of the last word *up* to a frame boundary, so that
   the cue covers its words' speech before any other adjustment. Shot
   changes are rounded to the nearest frame (to the nearest millisecond
   without ``fps``).
6. **Shot changes** (``shots``): a cue never spans a shot change (a change
   strictly between its start and end).
7. **Snapping in**: a cue whose in-time is within ``snap_frames`` frames of a
   shot change (before or after it) that comes before the cue's end starts
   exactly on the shot change.
8. **Snapping out**: a cue whose out-time is within ``snap_frames`` frames of a
   shot change (before or after it) that comes after the cue's start ends
   exactly ``min_gap_frames`` frames before the shot change (the Netflix
   convention of 2 frames before the cut).

A rule that cannot be kept is written into the cue's ``violations``: one
string per broken rule that starts with the rule's key (``"lines"``,
``"chars"``, ``"cps"``, ``"min_duration"``, ``"max_duration"``, ``"gap"``,
``"shot"``, ``"snap"``) and says why, e.g. ``"cps 19.3 > 17.0: words too fast
for the reading speed; the cue cannot be longer (the next cue follows)"``.
The rules are checked on the final cues, so a cue whose ``violations`` is
empty keeps every rule.

How the cues are made
---------------------
*Segmentation* is a dynamic program over the word boundaries: the cost of a
cue is a constant, plus the cost of the boundary it ends on (nothing after a
sentence end, little after a comma or before a conjunction or preposition,
much after an article or determiner, less the longer the pause there), plus
penalties for a reading speed or duration it would break (estimated from the
room up to the next word), for long pauses inside it and for a new sentence
that starts inside it and runs on into the next cue. A cue whose text does not
fit the lines, whose speech is longer than ``max_duration`` or that spans a
shot change further than ``snap_frames`` from both its ends is not allowed
(a single word always is: it then reports the rule it breaks).

*Line breaks* are chosen by scoring every way to break the cue's words into
at most ``max_lines`` lines that fit: breaking after an article or determiner
(a, an, the, my, his, these, ...) is never done; after a sentence end costs
nothing, after a comma or semicolon little, before a conjunction or
preposition a little more, between two capitalised words (possibly a first
and last name) or after a preposition much more; unbalanced lines cost the
square of their length difference, and a top line longer than the one below
it costs extra (a bottom-heavy pyramid is preferred).

*Timing*, cue by cue in order: the in-time is the first word's start (floored
to the grid), snapped onto a shot change by rule 7 (but not so far back that
the previous cue would vanish). The out-time is the last word's end (rounded
up), extended into the following silence until the cue is long enough for
``min_duration`` and the reading speed, and to close a gap to the next cue
that is shorter than ``snap_frames`` frames down to ``min_gap_frames`` frames
(as Netflix closes gaps under half a second); it is snapped by rule 8 and
then limited by the next cue's start less the gap, the next shot change less
the gap, ``max_duration`` and the end of the video. The in-time is never moved
earlier than the first word's start (floored to the grid) except onto a shot
change or by the lead below. A single word longer than a shot or than
``max_duration`` is cut short at the limit rather than shown across it.

*Lead*: a cue that would still be too fast or too short (its out-time limited
by the next cue's in-time, the next shot change or ``max_duration``) starts
earlier, into the silence before its first word, by just as many frames as it
needs, and at most ``max_lead_frames`` frames (12 = 0.48 s at 25 fps; counted
at 25 fps without ``fps``) before the first word's start floored to the grid.
It never starts before the previous cue's own out-time plus ``min_gap_frames``
(its out-time from its words, ``min_duration`` and the reading speed, not the
extension that closes a short gap), nor before the last shot change at or
before its in-time (so it never spans one); a lead that would end within
``snap_frames`` of that shot change starts on it (rule 7) if the shot change is
within reach, and otherwise is not taken. The cue then ends as above. The
segmentation does not count on a lead; it only helps the timing.
"""

import bisect
import math
import numbers
import re
from dataclasses import dataclass
from typing import NamedTuple

from ..exceptions import ParameterError
from ..io import subtitles as _writers

__all__ = ["Cue", "CueWord", "SubtitleResult", "subtitles", "with_transcript_punctuation"]

#: words after which a line or cue is never (line) or hardly ever (cue) broken
DETERMINERS = frozenset(
    "a an the my your his its our their these those this every each another whose".split()
)
#: conjunctions, relative pronouns and prepositions: a break before them is good, after them bad
FUNCTION_WORDS = frozenset(
    """and but or nor so yet because although though while if unless until when where whereas
    whether since than that which who whom as after before of to in on at by for from with
    without into onto about above below over under through between among against during
    toward towards upon across behind beyond near around like""".split()
)
#: abbreviations whose full stop does not end a sentence
ABBREVIATIONS = frozenset("mr. mrs. ms. dr. st. mt. prof. sr. jr. vs. no.".split())

_CLOSERS = "\"')]}\u2019\u201d\u00bb"
_SENTENCE_END = (".", "!", "?", "\u2026")
_CLAUSE_END = (",", ";", ":", "\u2013", "\u2014", "--")

# boundary cost after a word, for a line break and for a cue break
_LINE_COST = {"sentence": 0.0, "clause": 0.3, "article": math.inf, "after_function": 3.5,
              "name": 3.0, "before_function": 1.5, "plain": 2.0}
_CUE_COST = {"sentence": 0.0, "clause": 1.0, "article": 40.0, "after_function": 6.0,
             "name": 5.0, "before_function": 2.5, "plain": 4.0}
_CUE_CONSTANT = 2.0  # every cue costs this much: fewer, fuller cues
_EXTRA_LINE = 4.0  # a third (fourth...) line, when max_lines allows it
_BALANCE = 3.0  # weight of the squared length difference of two lines (in units of max_chars)
_TOP_HEAVY = 3.0  # extra weight when the upper line is the longer one
_CPS_PENALTY = (20.0, 60.0)  # constant and slope of an estimated reading-speed violation
_SHORT_PENALTY = (10.0, 20.0)  # constant and slope of an estimated too-short cue
_SNAP_PENALTY = 20.0  # an in-time near a shot change that the previous cue keeps it from
_LONG_PAUSE = 1.0  # seconds: pauses longer than this inside a cue cost 3 per second beyond
_OVERSIZE = 50.0  # a single word that breaks the line or duration limit


class CueWord(NamedTuple):
    """One word of a cue: its text (whitespace collapsed) and times in seconds."""

    text: str
    start: float
    end: float


@dataclass(frozen=True)
class Cue:
    """One subtitle.

    Attributes
    ----------
    text : str
        The lines joined by ``"\\n"``.
    start, end : float
        In- and out-time in seconds (on the frame grid when ``fps`` was given).
    lines : tuple of str
    words : tuple of CueWord
        The words shown, with their spoken times.
    violations : tuple of str
        The rules this cue breaks, each with its reason (empty: it keeps them
        all); see :mod:`align.video.subtitles`.
    """

    text: str
    start: float
    end: float
    lines: tuple
    words: tuple
    violations: tuple = ()

    @property
    def duration(self):
        """``end - start`` in seconds."""
        return self.end - self.start

    @property
    def chars(self):
        """Characters for the reading speed: all of them, spaces included, line breaks not."""
        return len(self.text) - self.text.count("\n")

    @property
    def cps(self):
        """Reading speed in characters per second (inf for a zero-length cue)."""
        return self.chars / self.duration if self.duration > 0 else math.inf


class SubtitleResult(list):
    """The cues of :func:`subtitles`, in time order (a list of :class:`Cue`).

    Attributes
    ----------
    fps : float or None
        The frame rate the times are on (None: milliseconds).
    shot_changes : tuple of float
        The shot changes used, in seconds, on the grid.
    """

    def __init__(self, cues=(), *, fps=None, shot_changes=()):
        super().__init__(cues)
        self.fps = fps
        self.shot_changes = tuple(shot_changes)

    @property
    def violations(self):
        """Every broken rule: a list of ``(cue index, message)``."""
        return [(i, v) for i, cue in enumerate(self) for v in cue.violations]

    def srt_text(self):
        """The cues as a SubRip document (see :func:`align.io.subtitles.cues_srt_text`)."""
        return _writers.cues_srt_text(self)

    def vtt_text(self, *, karaoke=False):
        """The cues as a WebVTT document; ``karaoke=True`` adds per-word timestamp tags."""
        return _writers.cues_vtt_text(self, karaoke=karaoke)

    def save(self, path, *, karaoke=False):
        """Write ``.srt`` or ``.vtt`` (by extension) atomically.

        Parameters
        ----------
        path : str or os.PathLike
        karaoke : bool
            WebVTT only: a ``<HH:MM:SS.mmm>`` tag before every word but the first.

        Raises
        ------
        ParameterError
            For another extension, or ``karaoke`` with ``.srt``.
        """
        suffix = str(path).lower().rpartition(".")[2]
        if suffix == "srt":
            if karaoke:
                raise ParameterError("karaoke timing needs WebVTT; write a .vtt file")
            _writers.write_cues_srt(self, path)
        elif suffix == "vtt":
            _writers.write_cues_vtt(self, path, karaoke=karaoke)
        else:
            raise ParameterError(f"cannot write subtitles to {str(path)!r}: use a .srt or .vtt file name")


# --------------------------------------------------------------------------- validation


def _number(name, value, *, minimum=None, strict=False):
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be a number, got {value!r}") from exc
    if not math.isfinite(out):
        raise ParameterError(f"{name} must be finite, got {value!r}")
    if minimum is not None and (out <= minimum if strict else out < minimum):
        raise ParameterError(f"{name} must be {'>' if strict else '>='} {minimum}, got {value!r}")
    return out


def _count(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _words_of(alignment):
    """(list of CueWord, video duration or None) from an Alignment or a list of words."""
    duration = None
    if hasattr(alignment, "words"):
        items = alignment.words
        d = getattr(alignment, "duration", None)
        if d is not None and float(d) > 0:
            duration = float(d)
    else:
        items = alignment
    try:
        items = list(items)
    except TypeError as exc:
        raise ParameterError(
            f"alignment must be an Alignment or a list of (text, start, end) words, got "
            f"{type(alignment).__name__}"
        ) from exc
    words = []
    previous = None
    for k, item in enumerate(items):
        if hasattr(item, "text") and hasattr(item, "start") and hasattr(item, "end"):
            text, start, end = item.text, item.start, item.end
        else:
            try:
                text, start, end = item
            except (TypeError, ValueError) as exc:
                raise ParameterError(
                    f"word {k} must have text, start and end (or be a (text, start, end) tuple), "
                    f"got {item!r}"
                ) from exc
        if not isinstance(text, str):
            raise ParameterError(f"word {k}: text must be a string, got {text!r}")
        start = _number(f"word {k} ({text!r}) start", start)
        end = _number(f"word {k} ({text!r}) end", end)
        if start < 0:
            raise ParameterError(f"word {k} ({text!r}) starts at {start} s; times must be >= 0")
        if end < start:
            raise ParameterError(
                f"word {k} ({text!r}) ends before it starts: start={start}, end={end}; "
                f"expected start <= end"
            )
        if previous is not None:
            if start < previous.start:
                raise ParameterError(
                    f"words must be sorted by time: word {k} ({text!r}) starts at {start} s, "
                    f"before word {k - 1} ({previous.text!r}) at {previous.start} s"
                )
            if start < previous.end - 1e-6:
                raise ParameterError(
                    f"words must not overlap: word {k} ({text!r}) starts at {start} s, before "
                    f"word {k - 1} ({previous.text!r}) ends at {previous.end} s"
                )
        previous = CueWord(text, start, end)
        text = " ".join(text.split())
        if text:
            words.append(CueWord(text, start, end))
    return words, duration


def _cut_times(shots):
    """Shot changes in seconds, sorted: plain numbers, or shots with .start/.end (or pairs)."""
    if shots is None:
        return []
    try:
        items = list(shots)
    except TypeError as exc:
        raise ParameterError(
            f"shots must be a list of shot change times or of shots with .start and .end, got {shots!r}"
        ) from exc
    if not items:
        return []
    cuts = []
    if all(isinstance(x, numbers.Real) and not isinstance(x, bool) for x in items):
        for k, x in enumerate(items):
            cuts.append(_number(f"shot change {k}", x, minimum=0.0))
        return sorted(set(cuts))
    spans = []
    for k, s in enumerate(items):
        if hasattr(s, "start") and hasattr(s, "end"):
            start, end = s.start, s.end
        else:
            try:
                start, end = s
            except (TypeError, ValueError) as exc:
                raise ParameterError(
                    f"shot {k} must be a number (a shot change time) or have .start and .end, got {s!r}"
                ) from exc
        start = _number(f"shot {k} start", start, minimum=0.0)
        end = _number(f"shot {k} end", end, minimum=0.0)
        if end < start:
            raise ParameterError(f"shot {k} ends before it starts: start={start}, end={end}")
        spans.append((start, end))
    spans.sort()
    # a shot change is where one shot ends or the next begins
    for k, (start, end) in enumerate(spans):
        if k > 0:
            cuts.append(start)
        if k < len(spans) - 1:
            cuts.append(end)
    return sorted(set(c for c in cuts if c > 0))


# --------------------------------------------------------------------------- text


def _bare(text):
    return text.rstrip(_CLOSERS)


def _ends_sentence(text):
    bare = _bare(text)
    return bare.endswith(_SENTENCE_END) and bare.lower() not in ABBREVIATIONS


def _boundary_class(left, right):
    """What kind of break lies between the words ``left`` and ``right``."""
    bare = _bare(left)
    if _ends_sentence(left):
        return "sentence"
    if bare.endswith(_CLAUSE_END):
        return "clause"
    low = bare.lower()
    if low in DETERMINERS:
        return "article"
    if low in FUNCTION_WORDS:
        return "after_function"
    if left[:1].isupper() and right[:1].isupper() and left != "I" and left.isalpha():
        return "name"
    if right.lower().strip(_CLOSERS + "\"'(") in FUNCTION_WORDS:
        return "before_function"
    return "plain"


def _pair_cost(top, bottom, width):
    diff = (top - bottom) / width
    cost = _BALANCE * diff * diff
    if diff > 0:
        cost += _TOP_HEAVY * diff
    return cost


class _Text:
    """Word lengths and boundary classes, with the line-break search."""

    def __init__(self, words, max_chars, max_lines):
        self.width = max_chars
        self.max_lines = max_lines
        self.prefix = [0]
        for w in words:
            self.prefix.append(self.prefix[-1] + len(w.text))
        self.cls = [_boundary_class(words[k].text, words[k + 1].text) for k in range(len(words) - 1)]
        self.sentence = [_ends_sentence(w.text) for w in words]

    def chars(self, i, j):
        """Characters of words ``i..j-1`` joined by single spaces."""
        return self.prefix[j] - self.prefix[i] + (j - i - 1)

    def layout(self, i, j):
        """Best line breaks for words ``i..j-1``: ``(cost, breaks)``, or None if none fits.

        ``breaks`` are the word indices that start the second, third... line.
        """
        if self.chars(i, j) <= self.width:
            return 0.0, ()
        if self.max_lines == 1 or j - i < 2:
            return None
        best = None
        width = self.width

        def place(p, lines_left, breaks, lengths, cost):
            nonlocal best
            if self.chars(p, j) <= width:
                lens = lengths + [self.chars(p, j)]
                total = cost + sum(_pair_cost(lens[t], lens[t + 1], width) for t in range(len(lens) - 1))
                total += _EXTRA_LINE * (len(lens) - 2)
                if best is None or total < best[0]:
                    best = (total, tuple(breaks))
            if lines_left <= 1:
                return
            for q in range(p + 1, j):
                if self.chars(p, q) > width:
                    break
                c = _LINE_COST[self.cls[q - 1]]
                if c == math.inf:
                    continue
                place(q, lines_left - 1, breaks + [q], lengths + [self.chars(p, q)], cost + c)

        for q in range(i + 1, j):
            if self.chars(i, q) > width:
                break
            c = _LINE_COST[self.cls[q - 1]]
            if c == math.inf:
                continue
            place(q, self.max_lines - 1, [q], [self.chars(i, q)], c)
        return best


# --------------------------------------------------------------------------- timing grid


class _Grid:
    """Integer time units: frames at ``fps``, or milliseconds."""

    def __init__(self, fps):
        self.fps = fps
        self.rate = fps if fps is not None else 1000.0
        self.frame_rate = fps if fps is not None else 25.0

    def floor(self, t):
        return math.floor(t * self.rate + 1e-6)

    def ceil(self, t):
        return math.ceil(t * self.rate - 1e-6)

    def nearest(self, t):
        return int(round(t * self.rate))

    def frames(self, n):
        return n if self.fps is not None else int(round(n * 1000.0 / 25.0))

    def seconds(self, u):
        return u / self.rate


def _cuts_between(cuts, lo, hi):
    """Cuts ``c`` with ``lo < c < hi``."""
    return cuts[bisect.bisect_right(cuts, lo): bisect.bisect_left(cuts, hi)]


def _nearest_cut(cuts, t, window, below):
    """The cut nearest to ``t`` within ``window`` units and ``< below``, or None."""
    lo = bisect.bisect_left(cuts, t - window)
    best = None
    for c in cuts[lo:]:
        if c > t + window:
            break
        if c < below and (best is None or abs(c - t) < abs(best - t)):
            best = c
    return best


def _next_cut(cuts, t):
    """The first cut ``> t``, or None."""
    k = bisect.bisect_right(cuts, t)
    return cuts[k] if k < len(cuts) else None


# --------------------------------------------------------------------------- the function


def with_transcript_punctuation(words, transcript):
    """The words with the punctuation around them in ``transcript`` put back.

    The aligner's words are the spoken words ("trail" for "trail,"), but subtitles
    want the written text, and the line and cue breaks prefer punctuation. Each
    word is found in order in the transcript (case-insensitive, as a whole word,
    within 200 characters of the previous one) and takes the punctuation touching
    it on both sides ("(Hello," "world!)"); a word not found keeps its text.

    Parameters
    ----------
    words : list of CueWord
    transcript : str

    Returns
    -------
    list of CueWord
    """
    out, pos = [], 0
    for w in words:
        pattern = re.compile(r"(?<!\w)" + re.escape(w.text) + r"(?!\w)", re.IGNORECASE)
        m = pattern.search(transcript, pos, pos + 200 + len(w.text))
        if m is None:
            out.append(w)
            continue
        start, end = m.start(), m.end()
        while start > pos and not transcript[start - 1].isspace() and not transcript[start - 1].isalnum():
            start -= 1
        while end < len(transcript) and not transcript[end].isspace() and not transcript[end].isalnum():
            end += 1
        out.append(w._replace(text=transcript[start:end]))
        pos = end
    return out


def subtitles(alignment, *, fps=None, shots=None, max_chars=42, max_lines=2, max_cps=17.0,
              min_duration=5 / 6, max_duration=7.0, min_gap_frames=2, snap_frames=12, transcript=None,
              max_lead_frames=12):
    """Cues from word timings that follow broadcast subtitle rules.

    The rules, how cues, line breaks and times are chosen, and how a broken
    rule is reported are in the module docstring (:mod:`align.video.subtitles`).

    Parameters
    ----------
    alignment : Alignment or list
        An :class:`align.speech.results.Alignment` (its ``words``; its
        ``duration``, if > 0, is the end of the video), or a list of words with
        ``.text``/``.start``/``.end`` or of ``(text, start, end)`` tuples, in
        seconds, sorted and not overlapping. Words whose text is blank are
        skipped.
    fps : float or None
        Frame rate: times go on its frame grid. None: milliseconds, and frame
        counts are taken at 25 fps.
    shots : list or None
        Shot change times in seconds, or shots with ``.start`` and ``.end``
        (such as :func:`align.video.shots.detect_shots`' or ``(start, end)``
        pairs; a change is where one shot ends or the next starts).
    max_chars : int
        Longest line, in characters (42: Netflix's English limit).
    max_lines : int
        Most lines per cue.
    max_cps : float
        Fastest reading speed, characters per second (17: Netflix adult).
    min_duration, max_duration : float
        Shortest and longest cue, in seconds (5/6 s = 20 frames at 24 fps; 7 s).
    min_gap_frames : int
        Least gap between cues, in frames (at 25 fps without ``fps``).
    snap_frames : int
        Window around a shot change, in frames, within which in- and out-times
        snap to it (at 25 fps without ``fps``).
    transcript : str or None
        The text the alignment was made from: its punctuation is put back on the
        words (:func:`with_transcript_punctuation`), which the aligner's words lack.
    max_lead_frames : int
        Most frames a cue that would be too fast or too short may start before
        its first word (at 25 fps without ``fps``); 0: never before it.

    Returns
    -------
    SubtitleResult
        A list of :class:`Cue` in time order; each word is in exactly one cue,
        in order. ``result.violations`` lists the broken rules.

    Raises
    ------
    ParameterError
        For a negative or non-finite time, a word that ends before it starts,
        words out of order or overlapping, a bad shot list or a parameter out
        of range.

    Examples
    --------
    >>> cues = subtitles([("Hello", 0.5, 0.9), ("there.", 0.9, 1.4)], fps=25)
    >>> cues[0].text, cues[0].start, cues[0].end
    ('Hello there.', 0.48, 1.4)
    """
    if fps is not None:
        fps = _number("fps", fps, minimum=0.0, strict=True)
    max_chars = _count("max_chars", max_chars, 1)
    max_lines = _count("max_lines", max_lines, 1)
    max_cps = _number("max_cps", max_cps, minimum=0.0, strict=True)
    min_duration = _number("min_duration", min_duration, minimum=0.0)
    max_duration = _number("max_duration", max_duration, minimum=0.0, strict=True)
    if max_duration < min_duration:
        raise ParameterError(
            f"max_duration ({max_duration} s) must be >= min_duration ({min_duration} s)"
        )
    min_gap_frames = _count("min_gap_frames", min_gap_frames, 0)
    snap_frames = _count("snap_frames", snap_frames, 0)
    max_lead_frames = _count("max_lead_frames", max_lead_frames, 0)
    words, video_end = _words_of(alignment)
    if transcript is not None:
        if not isinstance(transcript, str):
            raise ParameterError(f"transcript must be the text as a string, got {type(transcript).__name__}")
        words = with_transcript_punctuation(words, transcript)
    cut_seconds = _cut_times(shots)

    grid = _Grid(fps)
    cuts = sorted(set(grid.nearest(c) for c in cut_seconds))
    p = _Params(
        grid=grid,
        gap=grid.frames(min_gap_frames),
        snap=grid.frames(snap_frames),
        lead=grid.frames(max_lead_frames),
        min_len=math.ceil(min_duration * grid.rate - 1e-6),
        max_len=math.floor(max_duration * grid.rate + 1e-6),
        max_cps=max_cps,
        end=grid.floor(video_end) if video_end is not None else None,
        cuts=cuts,
        max_chars=max_chars,
        max_lines=max_lines,
    )
    if video_end is not None and words and grid.ceil(words[-1].end) > p.end:
        p = p._replace(end=None)  # a duration shorter than the speech is not the video's end
    result = SubtitleResult(fps=fps, shot_changes=[grid.seconds(c) for c in cuts])
    if not words:
        return result
    text = _Text(words, max_chars, max_lines)
    spans = _segment(words, text, p)
    result.extend(_make_cues(words, text, spans, p))
    return result


class _Params(NamedTuple):
    grid: _Grid
    gap: int
    snap: int
    lead: int
    min_len: int
    max_len: int
    max_cps: float
    end: int | None
    cuts: list
    max_chars: int
    max_lines: int


def _segment(words, text, p):
    """Dynamic program over word boundaries: the cues as ``(i, j, breaks)`` word ranges."""
    n = len(words)
    g = p.grid
    ws = [g.floor(w.start) for w in words]
    we = [max(g.ceil(w.end), ws[k] + 1) for k, w in enumerate(words)]
    limit_chars = p.max_chars * p.max_lines
    inf = math.inf
    best = [inf] * (n + 1)
    back = [None] * (n + 1)
    in_est = [-inf] * (n + 1)  # the estimated in-time of the best path's last cue ending at word j
    best[0] = 0.0
    for i in range(n):
        if best[i] == inf:
            continue
        a = ws[i]
        internal_sentences = 0
        pause_cost = 0.0
        for j in range(i + 1, n + 1):
            k = j - 1
            chars = text.chars(i, j)
            b = we[k]
            single = j == i + 1
            if not single:
                gap = words[k].start - words[k - 1].end
                if gap > _LONG_PAUSE:
                    pause_cost += 3.0 * (gap - _LONG_PAUSE)
                if text.sentence[k - 1]:
                    internal_sentences += 1
                if chars > limit_chars or b - a > p.max_len:
                    break
                if any(c - a > p.snap and b - c > p.snap for c in _cuts_between(p.cuts, a, b)):
                    break  # spans a shot change that neither end can snap to
            lay = text.layout(i, j)
            if lay is None:
                if not single:
                    continue
                lay = (_OVERSIZE, ())
            cost = best[i] + _CUE_CONSTANT + lay[0] + pause_cost
            if single and (chars > p.max_chars or b - a > p.max_len):
                cost += _OVERSIZE
            # where the cue ends
            if j < n:
                cls = text.cls[k]
                pause = max(0.0, words[j].start - words[k].end)
                c = _CUE_COST[cls]
                cost += c if cls == "article" else c / (1.0 + 4.0 * pause)
            if internal_sentences:
                ends_well = j == n or text.sentence[k]
                cost += 0.5 * internal_sentences + (0.0 if ends_well else 3.0)
            # reading speed and duration, from the room up to the next word
            snap = _nearest_cut(p.cuts, a, p.snap, b)
            if snap is not None and snap < a and snap <= in_est[i] + p.gap:
                # the best previous cue already starts on (or just after) this shot
                # change: this cue cannot go back onto it, and its in-time breaks
                # rule 7 where it stays
                snap = None
                cost += _SNAP_PENALTY
            a_est = a if snap is None else snap
            room = [a_est + p.max_len]
            if j < n:
                room.append(ws[j] - p.gap)
            nxt = _next_cut(p.cuts, a_est)
            if nxt is not None:
                room.append(nxt - p.gap)
            if p.end is not None:
                room.append(p.end)
            need = max(p.min_len, math.ceil(chars * g.rate / p.max_cps - 1e-9))
            out = max(min(max(b, a_est + need), min(room)), a_est + 1)
            length = out - a_est
            cps = chars * g.rate / length
            if cps > p.max_cps + 1e-9:
                cost += _CPS_PENALTY[0] + _CPS_PENALTY[1] * (cps / p.max_cps - 1.0)
            if length < p.min_len:
                cost += _SHORT_PENALTY[0] + _SHORT_PENALTY[1] * (p.min_len - length) / max(p.min_len, 1)
            if cost < best[j]:
                best[j] = cost
                back[j] = (i, lay[1])
                in_est[j] = a_est
    spans = []
    j = n
    while j > 0:
        i, breaks = back[j]
        spans.append((i, j, breaks))
        j = i
    spans.reverse()
    return spans


def _make_cues(words, text, spans, p):
    g = p.grid
    n_cues = len(spans)
    lines_of = []
    for i, j, breaks in spans:
        edges = [i, *breaks, j]
        lines_of.append(tuple(" ".join(w.text for w in words[edges[t]:edges[t + 1]])
                              for t in range(len(edges) - 1)))
    natural_out = [max(g.ceil(words[j - 1].end), g.floor(words[i].start) + 1) for i, j, _ in spans]

    # in-times, in order
    ins = []
    for k, (i, j, _) in enumerate(spans):
        a = g.floor(words[i].start)
        c = _nearest_cut(p.cuts, a, p.snap, natural_out[k])
        floor = ins[-1] + p.gap + 1 if ins else -math.inf
        if c is not None and c >= floor:
            a = c
        ins.append(max(a, floor))

    # lead: a cue too fast or too short for the room after it starts earlier (see the docstring)
    chars_of = [sum(len(line) for line in lines) for lines in lines_of]
    need_of = [max(p.min_len, math.ceil(chars * g.rate / p.max_cps - 1e-9)) for chars in chars_of]
    own_out = None  # what the previous cue needs, up to its limits
    for k in range(n_cues):
        a = ins[k]
        limit = _out_limit(k, a, ins, p)
        new = _lead(a, limit, need_of[k], own_out, p)
        if new < a:
            ins[k] = a = new
            limit = _out_limit(k, a, ins, p)
        own_out = max(min(max(natural_out[k], a + need_of[k]), limit), a + 1)

    # out-times
    outs = []
    for k in range(n_cues):
        a = ins[k]
        chars = sum(len(line) for line in lines_of[k])
        hard = [math.inf]
        if k + 1 < n_cues:
            hard.append(ins[k + 1] - p.gap)
        if p.end is not None:
            hard.append(p.end)
        nxt = _next_cut(p.cuts, a)
        soft = [a + p.max_len] + ([nxt - p.gap] if nxt is not None else [])
        need = a + max(p.min_len, math.ceil(chars * g.rate / p.max_cps - 1e-9))
        target = max(natural_out[k], need)
        if k + 1 < n_cues and ins[k + 1] - target < p.snap and (nxt is None or nxt >= ins[k + 1]):
            target = max(target, ins[k + 1] - p.gap)  # close a short gap
        if nxt is not None and abs(target - nxt) <= p.snap:
            target = nxt - p.gap  # rule 8
        b = min(target, *hard, *soft)
        outs.append(max(b, a + 1))

    cues = []
    for k, (i, j, _) in enumerate(spans):
        lines = lines_of[k]
        violations = _violations(k, ins, outs, lines, p)
        cues.append(Cue(
            text="\n".join(lines),
            start=g.seconds(ins[k]),
            end=g.seconds(outs[k]),
            lines=lines,
            words=tuple(words[i:j]),
            violations=tuple(violations),
        ))
    return cues


def _lead(a, limit, need, previous_out, p):
    """The in-time for a cue at ``a`` that needs ``need`` units but may end no later than ``limit``.

    ``a`` itself if the cue fits; otherwise up to ``p.lead`` units earlier, as much as it needs,
    but not before ``previous_out`` (the previous cue's out-time, None for the first cue) plus the
    gap, nor before the last shot change at or before ``a``; a lead that ends within ``p.snap`` of
    that shot change goes onto it (rule 7), or is not taken if the shot change is out of reach.
    """
    if p.lead <= 0 or limit - a >= need:
        return a
    last = bisect.bisect_right(p.cuts, a)
    cut = p.cuts[last - 1] if last else None
    lo = max(a - p.lead, 0)
    if cut is not None:
        lo = max(lo, cut)
    if previous_out is not None:
        lo = max(lo, previous_out + p.gap)
    new = max(lo, min(a, limit - need))
    if cut is not None and new < a and new - cut <= p.snap:
        new = cut if cut >= lo else a
    return new


def _out_limit(k, a, ins, p):
    """The latest out-time cue ``k`` starting at ``a`` may have (next cue, shot change, length, video)."""
    limits = [a + p.max_len]
    if k + 1 < len(ins):
        limits.append(ins[k + 1] - p.gap)
    nxt = _next_cut(p.cuts, a)
    if nxt is not None:
        limits.append(nxt - p.gap)
    if p.end is not None:
        limits.append(p.end)
    return min(limits)


def _limit_reason(k, ins, outs, p):
    """Why cue ``k`` cannot end later."""
    a, b = ins[k], outs[k]
    reasons = []
    if k + 1 < len(ins) and b >= ins[k + 1] - p.gap:
        reasons.append("the next cue follows")
    nxt = _next_cut(p.cuts, a)
    if nxt is not None and b >= nxt - p.gap:
        reasons.append(f"a shot change follows at {p.grid.seconds(nxt):.3f} s")
    if b - a >= p.max_len:
        reasons.append("it is as long as max_duration")
    if p.end is not None and b >= p.end:
        reasons.append("the video ends")
    return "; ".join(reasons) if reasons else "no later out-time fits the other rules"


def _violations(k, ins, outs, lines, p):
    """The rules cue ``k`` breaks, checked on its final times (see the module docstring)."""
    g = p.grid
    a, b = ins[k], outs[k]
    sec = g.seconds
    out = []
    if len(lines) > p.max_lines:
        out.append(f"lines {len(lines)} > {p.max_lines}: too many lines")
    for line in lines:
        if len(line) > p.max_chars:
            out.append(f"chars {len(line)} > {p.max_chars}: the line {line!r} is too long "
                       f"(a single word longer than a line)")
    chars = sum(len(line) for line in lines)
    length = b - a
    cps = chars * g.rate / length
    if cps > p.max_cps + 1e-9:
        out.append(f"cps {cps:.1f} > {p.max_cps:.1f}: words too fast for the reading speed; the cue "
                   f"cannot be longer ({_limit_reason(k, ins, outs, p)})")
    if length < p.min_len:
        out.append(f"min_duration {sec(length):.3f} s < {sec(p.min_len):.3f} s: the cue cannot be "
                   f"longer ({_limit_reason(k, ins, outs, p)})")
    if length > p.max_len:
        out.append(f"max_duration {sec(length):.3f} s > {sec(p.max_len):.3f} s: its speech is longer")
    if k + 1 < len(ins) and ins[k + 1] - b < p.gap:
        gap_frames = (ins[k + 1] - b) * g.frame_rate / g.rate
        out.append(f"gap {gap_frames:.0f} frames < {p.gap * g.frame_rate / g.rate:.0f}: the next cue "
                   f"starts too soon")
    for c in _cuts_between(p.cuts, a, b):
        out.append(f"shot: the cue spans the shot change at {sec(c):.3f} s")
    near = p.cuts[bisect.bisect_left(p.cuts, a - p.snap): bisect.bisect_right(p.cuts, b + p.snap)]
    for c in near:
        if c < b and 0 < abs(a - c) <= p.snap:
            out.append(f"snap: the in-time {sec(a):.3f} s is near the shot change at {sec(c):.3f} s "
                       f"but not on it (the previous cue leaves no room)")
        if c > a and abs(b - c) <= p.snap and b != c - p.gap:
            gap_frames = p.gap * g.frame_rate / g.rate
            out.append(f"snap: the out-time {sec(b):.3f} s is near the shot change at {sec(c):.3f} s "
                       f"but not {gap_frames:.0f} frames before it ({_limit_reason(k, ins, outs, p)})")
    return out
