"""The ``align`` command line.

Subcommands:

- ``align transcript AUDIO TRANSCRIPT -o OUT [-o OUT ...] [--plot PNG]`` aligns a
  recording with its text and writes each output by extension
  (.TextGrid .json .srt .vtt .ctm).
- ``align corpus FOLDER -o OUT [-f .TextGrid ...] [-j JOBS]`` aligns every audio
  file that has a same-name ``.txt``/``.lab`` transcript, on worker processes,
  resuming where an interrupted run stopped.
- ``align demo [--out DIR]`` aligns the bundled CC0 sample and writes a TextGrid,
  JSON and PNG per utterance.
- ``align cache clear`` removes Numba's compiled-kernel cache.
- ``align subtitles VIDEO TRANSCRIPT -o OUT.srt|.vtt [--shots auto|none|FILE] [--karaoke]``
  aligns the video's sound with its transcript and cuts broadcast-rule subtitles, snapped
  to the shot changes.
- ``align sync A B [C ...] [-o sync.json] [--reference I] [--ffmpeg]`` puts recordings of one
  event on the reference's time axis by their sound (offset, drift, confidence).
- ``align tts train CORPUS -o model.pt [--steps N ...]`` aligns a corpus and trains a
  duration-driven TTS model on its durations (torch); ``align tts say model.pt "text"
  -o out.wav`` speaks with it (Griffin-Lim).

The CLI only parses, calls the :mod:`align` API and writes outputs. An
:class:`align.AlignError` becomes a one-line message and exit code 2; anything
unexpected keeps its traceback (exit code 1). ``align transcript --strict`` exits
with 3 when the audio seems to hold no speech.
"""

import argparse
import sys
from importlib import resources
from pathlib import Path

from .exceptions import AlignError

__all__ = ["main"]


def _sample_dir():
    return Path(resources.files("align") / "data" / "sample")


def _print_alignment(alignment, stream):
    print(f"{'word':<16}{'start':>8}{'end':>8}{'conf':>6}  phones", file=stream)
    for word in alignment.words:
        phones = " ".join(p.label for p in word.phones)
        score = "" if word.score is None else f"{word.score:6.2f}"
        print(f"{word.text:<16}{word.start:8.3f}{word.end:8.3f}{score:>6}  {phones}", file=stream)
    if alignment.unknown_words:
        print(f"not in the dictionary (pronounced by rule): {', '.join(alignment.unknown_words)}", file=stream)


def _cmd_transcript(args):
    from .speech.transcript import align_transcript

    if args.fragments:
        from .speech.fragments import align_fragments

        fragments = align_fragments(args.audio, args.transcript, language=args.language, level=args.fragments,
                                    **({"phone_model": args.phone_model} if args.phone_model else {}))
        for out in args.output:
            fragments.save(out)
        if not args.quiet:
            for f in fragments.fragments:
                print(f"{f.begin:9.3f}{f.end:9.3f}  {' / '.join(f.lines)}")
        return 0
    extra = {} if args.adaptation else {"speaker_adaptation": False}
    if args.phone_model:
        extra["phone_model"] = args.phone_model
    alignment = align_transcript(args.audio, args.transcript, progress=not args.quiet, language=args.language,
                                 method=args.method, **extra)
    for out in args.output:
        alignment.save(out)
    if args.plot:
        from .plot import plot_alignment

        plot_alignment(alignment, args.audio, args.plot)
    if not args.quiet:
        _print_alignment(alignment, sys.stdout)
    return _report_doubts(alignment, args.audio, args.min_confidence, args.strict)


def _report_doubts(alignment, name, min_confidence, strict):
    """Warnings (no speech) and low-confidence words on stderr; exit code 3 under ``strict``."""
    warnings = list(alignment.metadata.get("warnings", []))
    for message in warnings:
        print(f"align: warning: {name}: {message}", file=sys.stderr)
    low = [w for w in alignment.words if w.score is not None and w.score < min_confidence]
    if low and not warnings:  # with no speech every word is doubtful; the warning says it once
        listed = ", ".join(f"{w.text!r} at {w.start:.2f} s ({w.score:.2f})" for w in low[:20])
        more = f" and {len(low) - 20} more" if len(low) > 20 else ""
        print(f"align: {len(low)} word(s) with confidence below {min_confidence:g}: {listed}{more}", file=sys.stderr)
    return 3 if strict and warnings else 0


def _cmd_demo(args):
    from .plot import plot_alignment
    from .speech.transcript import align_transcript

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    for audio in sorted(_sample_dir().glob("*.flac")):
        text = audio.with_suffix(".txt").read_text().strip()
        alignment = align_transcript(audio, text, progress=False)
        stem = out_dir / audio.stem
        alignment.save(stem.with_suffix(".TextGrid"))
        alignment.save(stem.with_suffix(".json"))
        plot_alignment(alignment, audio, stem.with_suffix(".png"))
        print(f"\n{audio.name}: \"{text}\"")
        _print_alignment(alignment, sys.stdout)
    print(f"\nwrote TextGrid, JSON and PNG files to {out_dir}/")
    return 0


def _cmd_corpus(args):
    from .speech.corpus import align_corpus

    durations = None
    if args.durations:
        if args.sample_rate is None or args.hop_length is None:
            print("align corpus: --durations needs --sample-rate and --hop-length (the mel settings)",
                  file=sys.stderr)
            return 2
        durations = {"sample_rate": args.sample_rate, "hop_length": args.hop_length,
                     "silence": args.silence, "min_frames": args.min_frames}
    options = {} if args.adaptation else {"speaker_adaptation": False}
    if args.language != "en" or args.method != "auto":
        options.update(language=args.language, method=args.method)
    if args.phone_model:
        options["phone_model"] = args.phone_model
    results = align_corpus(args.folder, args.out, formats=args.format or [".TextGrid"],
                           jobs=args.jobs, overwrite=args.overwrite, progress=not args.quiet,
                           durations=durations, client=args.scheduler,
                           train_phone_model={None: False, "corpus": True}.get(args.train_phone_model,
                                                                              args.train_phone_model),
                           **options)
    failed = [r for r in results if r.status == "failed"]
    counts = {s: sum(r.status == s for r in results) for s in ("aligned", "skipped", "failed")}
    for r in failed:
        print(f"failed: {r.item.audio}: {r.error}", file=sys.stderr)
    print(f"{counts['aligned']} aligned, {counts['skipped']} skipped (outputs exist), "
          f"{counts['failed']} failed; outputs in {args.out}/")
    return 1 if failed else 0


def _cmd_cache_clear(args):
    import os

    # Numba writes its cache to NUMBA_CACHE_DIR when set, else next to the sources.
    if os.environ.get("NUMBA_CACHE_DIR"):
        roots = [Path(os.environ["NUMBA_CACHE_DIR"])]
    else:
        import align.kernels as kernels_pkg

        roots = [Path(__file__).resolve().parent, Path(kernels_pkg.__file__).resolve().parent]
    removed = 0
    for root in roots:
        for pattern in ("*.nbi", "*.nbc"):
            for f in root.rglob(pattern):
                f.unlink(missing_ok=True)
                removed += 1
    print(f"removed {removed} cached kernel file(s)")
    return 0


def _cmd_tts_train(args):
    from .fusion.tts_train import train_tts

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    options = {"d_model": args.d_model, "n_encoder_layers": args.layers, "n_decoder_layers": args.layers}
    trained = train_tts(args.corpus, args.output, steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                        seed=args.seed, device=args.device, progress=not args.quiet, resume=not args.restart,
                        durations_dir=args.durations_dir,
                        duration_source="uniform" if args.uniform else "aligner",
                        model_options=options, jobs=args.jobs, checkpoint_every=args.checkpoint_every)
    last = trained.history[-1] if trained.history else None
    loss = f", final loss {last['total']:.3f} (mel L1 {last['mel']:.3f})" if last else ""
    print(f"trained {trained.step} steps on {trained.info['n_utterances']} utterances{loss}; "
          f"model in {args.output}")
    return 0


def _cmd_tts_say(args):
    from .fusion.tts_train import synthesize

    result = synthesize(args.model, args.text, args.output, duration_scale=args.duration_scale,
                        n_iter=args.n_iter, device=args.device)
    if result["unknown_phones"]:
        print(f"phones the model never saw (read as <unk>): {' '.join(result['unknown_phones'])}",
              file=sys.stderr)
    seconds = len(result["samples"]) / result["sample_rate"]
    print(f"wrote {seconds:.2f} s of audio ({len(result['phones'])} phones) to {args.output}")
    return 0


def _parser():
    parser = argparse.ArgumentParser(prog="align", description="fusealign: exact alignment of speech, text and time series")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("transcript", help="align a recording with its transcript")
    p.add_argument("audio", help="audio file (wav, flac, ogg, mp3, m4a)")
    p.add_argument("transcript", help="text file with the transcript")
    p.add_argument("-o", "--output", action="append", required=True,
                   help="output file; the extension picks the format (.TextGrid .json .srt .vtt .ctm); repeatable")
    p.add_argument("--plot", help="also draw waveform, spectrogram and boundaries to this PNG")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no word table")
    p.add_argument("--language", default="en",
                   help="en (the acoustic model) or any espeak-ng code: fr, de, pt-br, ... (synthesis and DTW)")
    p.add_argument("--method", choices=("auto", "acoustic", "tts"), default="auto",
                   help="auto (default): acoustic for en, tts otherwise; tts: espeak-ng synthesis + DTW")
    p.add_argument("--fragments", choices=("line", "sentence", "paragraph"),
                   help="time text fragments instead of words, as aeneas does (.json is aeneas's sync-map layout)")
    p.add_argument("--phone-model", metavar="NPZ",
                   help="tts method: align with a phone model of the speaker trained before "
                        "(align corpus --train-phone-model writes one)")
    p.add_argument("--strict", action="store_true",
                   help="exit with code 3 when the audio seems to hold no speech (the outputs are still written)")
    p.add_argument("--min-confidence", type=float, default=0.5,
                   help="list the words whose confidence is below this at the end (default 0.5)")
    p.add_argument("--no-adaptation", dest="adaptation", action="store_false",
                   help="align once, without adapting the model to the speaker (about 1.3x faster)")
    p.set_defaults(func=_cmd_transcript)

    p = sub.add_parser("corpus", help="align every audio file of a folder that has a transcript beside it")
    p.add_argument("folder", help="corpus folder: audio files with same-name .txt or .lab transcripts")
    p.add_argument("-o", "--out", required=True, help="output folder (mirrors the corpus's sub-folders)")
    p.add_argument("-f", "--format", action="append",
                   help="output extension, repeatable (.TextGrid .json .srt .vtt .ctm); default .TextGrid")
    p.add_argument("-j", "--jobs", type=int, default=None, help="worker processes (default: all CPUs)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="align on a Dask cluster instead: a running scheduler (tcp://host:8786; the corpus "
                        "and -o folder on storage every worker sees; start its workers with "
                        "--preload align.speech.distributed to load the model before the run) or local:N "
                        "(N worker processes here)")
    p.add_argument("--overwrite", action="store_true", help="re-align files whose outputs exist")
    p.add_argument("--durations", action="store_true",
                   help="also write TTS training data: <name>.durations.json per file and durations.jsonl")
    p.add_argument("--sample-rate", type=int, help="with --durations: the mel spectrogram's sample rate")
    p.add_argument("--hop-length", type=int, help="with --durations: the mel spectrogram's hop length")
    p.add_argument("--silence", choices=("keep", "merge", "trim"), default="keep",
                   help="with --durations: silence tokens kept, merged into neighbours, or trimmed at the ends")
    p.add_argument("--min-frames", type=int, default=0, help="with --durations: at least this many frames a token")
    p.add_argument("--no-adaptation", dest="adaptation", action="store_false",
                   help="align once, without adapting the model to the speaker (about 1.3x faster)")
    p.add_argument("--language", default="en",
                   help="en (the acoustic model) or any espeak-ng code: fr, de, pt-br, ... (synthesis and DTW)")
    p.add_argument("--method", choices=("auto", "acoustic", "tts"), default="auto",
                   help="auto (default): acoustic for en, tts otherwise; tts: espeak-ng synthesis + DTW")
    p.add_argument("--train-phone-model", nargs="?", const="corpus", choices=("corpus", "folder"), default=None,
                   help="tts method: first train the speaker's phone model over the corpus (saved as "
                        "OUT/phone_model.npz, reused by a later run), then align with it; 'folder': one "
                        "speaker, and one model, per first-level sub-folder")
    p.add_argument("--phone-model", metavar="NPZ", help="tts method: align with a phone model trained before")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_corpus)

    p = sub.add_parser("demo", help="align the bundled CC0 sample and write TextGrid, JSON and PNG")
    p.add_argument("--out", default="align-demo", help="output folder (default: ./align-demo)")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("tts", help="train a duration-driven TTS model on aligned durations, and speak with it")
    tts_sub = p.add_subparsers(dest="tts_command", required=True)
    t = tts_sub.add_parser("train", help="align a corpus and train a TTS model on its durations")
    t.add_argument("corpus", help="corpus folder: audio files with same-name .txt transcripts")
    t.add_argument("-o", "--output", required=True, help="the model checkpoint (.pt); resumed when it exists")
    t.add_argument("--steps", type=int, default=2000, help="optimiser steps (default 2000)")
    t.add_argument("--batch-size", type=int, default=16, help="utterances per step (default 16)")
    t.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (default 1e-3)")
    t.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    t.add_argument("--d-model", type=int, default=128, help="model width (default 128)")
    t.add_argument("--layers", type=int, default=2, help="encoder and decoder layers each (default 2)")
    t.add_argument("--durations-dir", help="the aligner's duration tables (default: <output>.durations/)")
    t.add_argument("--uniform", action="store_true",
                   help="train on uniform durations instead of the aligner's (the baseline)")
    t.add_argument("--checkpoint-every", type=int, default=100, help="steps between checkpoints (default 100)")
    t.add_argument("--restart", action="store_true", help="ignore an existing checkpoint and start afresh")
    t.add_argument("--device", default="cpu", help="torch device (default cpu)")
    t.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default torch's; 1 is often fastest on a busy machine)")
    t.add_argument("-j", "--jobs", type=int, default=None, help="alignment worker processes (default: all CPUs)")
    t.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=_cmd_tts_train)
    t = tts_sub.add_parser("say", help="speak a text with a trained model (Griffin-Lim vocoder)")
    t.add_argument("model", help="a checkpoint of `align tts train`")
    t.add_argument("text", help="the text to speak")
    t.add_argument("-o", "--output", required=True, help="output wav file")
    t.add_argument("--duration-scale", type=float, default=1.0, help="> 1 speaks slower (default 1)")
    t.add_argument("--n-iter", type=int, default=32, help="Griffin-Lim iterations (default 32)")
    t.add_argument("--device", default="cpu", help="torch device (default cpu)")
    t.set_defaults(func=_cmd_tts_say)

    p = sub.add_parser("cache", help="manage Numba's kernel cache")
    cache_sub = p.add_subparsers(dest="cache_command", required=True)
    c = cache_sub.add_parser("clear", help="remove cached compiled kernels")
    c.set_defaults(func=_cmd_cache_clear)
    # the video commands live beside their code (align/video); importing them loads no video library
    from .video.subtitles_cli import add_subtitles_command
    from .video.sync import add_sync_command

    add_subtitles_command(sub)
    add_sync_command(sub)
    return parser


def main(argv=None):
    """Run the ``align`` command; return the exit code."""
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except AlignError as exc:
        print(f"align: error: {exc}", file=sys.stderr)
        return 2
