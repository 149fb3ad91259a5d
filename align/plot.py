"""Draw an alignment: waveform, spectrogram, and word and phone boundaries.

Matplotlib is imported on first use, and only its object-oriented API with the
Agg canvas is used (no pyplot, no global backend switch), so plotting works on
headless machines and does not disturb a caller's own pyplot figures.
"""

import numpy as np

from .exceptions import ParameterError

__all__ = ["plot_alignment"]

_WORD_COLOR = "#c0392b"
_PHONE_COLOR = "#2c7fb8"


def _spectrogram_db(samples, sr, fmax, dynamic_range, max_frames=4000):
    """Log-power spectrogram in dB (25 ms Hann window, hop 10 ms or longer).

    The hop grows for long recordings so that at most ``max_frames`` columns are
    computed: memory stays small whatever the duration, and a figure cannot show
    more columns than that anyway.

    Returns
    -------
    freqs : np.ndarray [shape=(F,)]
    times : np.ndarray [shape=(T,)], frame centres in seconds
    db : np.ndarray [shape=(F, T)]
    """
    n = samples.shape[0]
    win = max(16, int(round(0.025 * sr)))
    nfft = 1 << (win - 1).bit_length()
    hop = max(int(round(0.010 * sr)), int(np.ceil(n / max_frames)), 1)
    centres = np.arange(0, n, hop)
    padded = np.concatenate([np.zeros(win // 2, np.float32), samples, np.zeros(win, np.float32)])
    frames = padded[centres[:, None] + np.arange(win)[None, :]] * np.hanning(win).astype(np.float32)
    power = np.abs(np.fft.rfft(frames, n=nfft, axis=1)) ** 2
    db = 10.0 * np.log10(np.maximum(power.T, 1e-12))
    db = np.maximum(db, db.max() - dynamic_range)
    freqs = np.fft.rfftfreq(nfft, 1.0 / sr)
    keep = freqs <= fmax
    return freqs[keep], centres / sr, db[keep]


def plot_alignment(
    alignment,
    audio=None,
    path=None,
    *,
    start=None,
    end=None,
    phones=True,
    fmax=8000.0,
    dynamic_range=80.0,
    figsize=None,
    dpi=120,
    title=None,
):
    """Plot the waveform, a spectrogram and the aligned word and phone boundaries.

    Parameters
    ----------
    alignment : Alignment
        The result of :func:`align.align_transcript` (anything with ``words``,
        ``duration`` and ``Word.phones``).
    audio : str, os.PathLike, (np.ndarray, int) tuple, or None
        The recording, as accepted by :func:`align.audio.load.load_audio`.
        None uses ``alignment.audio_path``.
    path : str or os.PathLike or None
        Where to save a PNG (written atomically). None only returns the figure.
    start, end : float or None
        Time range to show, in seconds (default: the whole recording).
    phones : bool
        Draw phone boundaries and labels.
    fmax : float
        Highest frequency shown in the spectrogram (capped at Nyquist).
    dynamic_range : float
        dB range of the spectrogram's colour scale.
    figsize : (float, float) or None
        Inches; default grows with the shown duration.
    dpi : int
        Resolution of the saved PNG.
    title : str or None
        Figure title; default: the audio file's name, if known.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels sharing the time axis: waveform (top), log-power STFT
        spectrogram (middle, 25 ms window, 10 ms hop, longer for long
        recordings), and a words/phones tier
        strip (bottom). Word boundaries are solid red lines through all panels,
        phone boundaries thin dashed blue lines.

    Raises
    ------
    ParameterError
        If no audio is given and the alignment has no ``audio_path``, the
        audio cannot be read, the time range is empty, or the PNG cannot be
        written.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .audio.load import load_audio

    if audio is None:
        audio = getattr(alignment, "audio_path", None)
        if audio is None:
            raise ParameterError(
                "plot_alignment needs the audio: pass audio= (a path or (samples, sample_rate)); "
                "the alignment records no audio_path"
            )
    samples, sr = load_audio(audio, sample_rate=None, mono=True)
    total = max(samples.shape[0] / sr, float(getattr(alignment, "duration", 0.0) or 0.0))
    t0 = 0.0 if start is None else float(start)
    t1 = total if end is None else float(end)
    if not (0.0 <= t0 < t1):
        raise ParameterError(
            f"the time range to plot must satisfy 0 <= start < end, got start={t0}, end={t1}"
        )
    i0, i1 = int(t0 * sr), min(int(np.ceil(t1 * sr)), samples.shape[0])
    shown = samples[i0:i1]

    width = min(max(8.0, 2.0 * (t1 - t0)), 40.0) if figsize is None else figsize[0]
    height = 6.0 if figsize is None else figsize[1]
    fig = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    ax_wave, ax_spec, ax_tier = fig.subplots(
        3, 1, sharex=True, gridspec_kw={"height_ratios": [1.2, 2.2, 0.9]}
    )

    # waveform
    times = t0 + np.arange(shown.shape[0]) / sr
    if shown.shape[0] > 20000:
        # min/max envelope per pixel column: fast to draw, looks the same
        cols = 4000
        edges = np.linspace(0, shown.shape[0], cols + 1).astype(int)
        lo = np.minimum.reduceat(shown, edges[:-1])
        hi = np.maximum.reduceat(shown, edges[:-1])
        ax_wave.fill_between(times[edges[:-1]], lo, hi, color="0.25", linewidth=0)
    else:
        ax_wave.plot(times, shown, color="0.25", linewidth=0.6)
    peak = float(np.max(np.abs(shown))) if shown.size else 1.0
    ax_wave.set_ylim(-1.05 * peak - 1e-6, 1.05 * peak + 1e-6)
    ax_wave.set_ylabel("amplitude")
    ax_wave.set_yticks([])

    # spectrogram
    if shown.shape[0] >= 16:
        freqs, spec_t, db = _spectrogram_db(shown, sr, min(fmax, sr / 2.0), dynamic_range)
        half = (spec_t[1] - spec_t[0]) / 2 if spec_t.size > 1 else 0.005
        ax_spec.imshow(
            db, origin="lower", aspect="auto", cmap="magma",
            extent=(t0 + spec_t[0] - half, t0 + spec_t[-1] + half, freqs[0], freqs[-1]),
            interpolation="nearest",
        )
    ax_spec.set_ylabel("frequency (Hz)")

    # tiers: words on the upper half, phones on the lower half
    ax_tier.set_ylim(0, 2)
    ax_tier.set_yticks([1.5, 0.5] if phones else [1.5])
    ax_tier.set_yticklabels(["words", "phones"] if phones else ["words"])
    ax_tier.axhline(1.0, color="0.6", linewidth=0.8)
    ax_tier.set_xlabel("time (s)")
    ax_tier.tick_params(axis="y", length=0)

    visible = [w for w in alignment.words if w.end > t0 and w.start < t1]
    px_per_s = width * dpi / (t1 - t0)
    for w in visible:
        for x in (w.start, w.end):
            if t0 <= x <= t1:
                for ax in (ax_wave, ax_spec):
                    ax.axvline(x, color=_WORD_COLOR, linewidth=1.0, alpha=0.85)
                ax_tier.axvline(x, color=_WORD_COLOR, linewidth=1.0)
        mid = (max(w.start, t0) + min(w.end, t1)) / 2
        ax_tier.text(mid, 1.5, w.text, ha="center", va="center", fontsize=9,
                     color="black", clip_on=True)
        if not phones:
            continue
        for p in w.phones:
            if p.end <= t0 or p.start >= t1:
                continue
            for x in (p.start, p.end):
                if t0 < x < t1:
                    ax_spec.axvline(x, color=_PHONE_COLOR, linewidth=0.6, linestyle="--", alpha=0.7)
                    ax_tier.plot([x, x], [0, 1], color=_PHONE_COLOR, linewidth=0.6)
            # label only phones wide enough to hold their text
            if (p.end - p.start) * px_per_s >= 6 * len(p.label) + 2:
                ax_tier.text((max(p.start, t0) + min(p.end, t1)) / 2, 0.5, p.label,
                             ha="center", va="center", fontsize=7, color=_PHONE_COLOR, clip_on=True)
    ax_tier.set_xlim(t0, t1)

    if title is None:
        audio_path = getattr(alignment, "audio_path", None) or (audio if isinstance(audio, str) else None)
        if audio_path is None and hasattr(audio, "__fspath__"):
            audio_path = str(audio)
        if audio_path:
            import os

            title = os.path.basename(str(audio_path))
    if title:
        fig.suptitle(title)

    if path is not None:
        from .io._atomic import atomic_open

        with atomic_open(path, "wb") as fh:
            fig.savefig(fh, format="png", dpi=dpi)
    return fig
