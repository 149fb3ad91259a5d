"""Does a better alignment make a better TTS model? DurationTTS on the cathy corpus (issue 11).

The same model, optimiser, steps and seeds, trained three times on the 82-minute cathy
corpus (``../shared/data/speech/cathy``: one female US-English speaker, 1,620 CMU Arctic
prompts at 16 kHz), changing only where the durations come from:

- ``aligner``: our aligner's phone durations (``align.align_corpus(..., durations=...)``);
- ``uniform``: every phone of an utterance gets the same share of its frames (no alignment);
- ``smeared``: our aligner's durations with every phone boundary moved by a random
  ``-k..k`` frames (``--smear``, default 4 frames = 64 ms), order kept, every phone >= 1
  frame, the sum unchanged: a deliberately worse alignment.

Held out: every 10th file (``--split file``; the corpus repeats prompts, so some held-out
texts were also read in training) or every recording of every 10th prompt
(``--split prompt``: no held-out text is seen in training).

Metrics on the held-out files:

- **MCD-TF** (dB): mel-cepstral distortion frame by frame, the model *teacher-forced with
  the aligner's durations* (our best estimate of the true timing, the same for every
  source), so output and recording have the same frames. Cepstra: ``c1..c24`` of the
  real cepstrum of each frame's mel-smoothed log magnitude, from the DCT of the log-mel
  (80 bins, natural log): ``c_k = (1/M) sum_m ln S_m cos(pi k (m + 1/2) / M)``;
  ``MCD = (10 / ln 10) * sqrt(2 * sum_k (c_k - c'_k)^2)``, averaged over frames. These
  are not SPTK mel-cepstra of a spectral envelope: compare the numbers with each other,
  not with published ones. **mel L1** is the plain mean absolute log-mel error of the same
  teacher-forced frames.
- **MCD-DTW** (dB): the model free-running (its own predicted durations), aligned to the
  recording by exact DTW (:func:`align.dtw`, squared Euclidean on the same cepstra,
  symmetric2) and MCD averaged along the path; ``length ratio`` = predicted / true frames.
- **duration error** (frames): mean absolute difference per phone between the predicted
  (rounded) durations and the aligner's.
- **utt/s**: training utterances per second (the loop only, this machine), and the step time.

Run from the repository root (short run first)::

    python benchmarks/fusion/tts_cathy.py --steps 200 --seeds 0 --d-model 64
    python benchmarks/fusion/tts_cathy.py --steps 4000 --seeds 0 1 2

Alignment (~1.5 min for the corpus) and the log-mels (~45 s) are cached under ``--work``;
checkpoints too, so an interrupted run resumes.
"""

import argparse
import json
import math
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

CATHY = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "speech" / "cathy"
SOURCES = ("aligner", "uniform", "smeared")
N_CEPSTRA = 24


def smear_durations(durations, k, rng):
    """Every inner boundary moved by a random ``-k..k`` frames; order kept, each token >= 1 frame.

    With ``b_i`` the boundary after token ``i`` (1-based), ``c_i = b_i - i`` must be
    non-decreasing in ``[0, total - N]`` for every token to keep a frame: the moved
    ``c`` is made so by a running maximum and a clip, and the sum is unchanged.
    """
    d = np.asarray(durations, np.int64)
    n, total = d.size, int(d.sum())
    if n < 2 or k == 0:
        return d.copy()
    bounds = np.cumsum(d)[:-1] + rng.integers(-k, k + 1, size=n - 1)
    c = np.clip(np.maximum.accumulate(bounds - np.arange(1, n)), 0, total - n)
    bounds = c + np.arange(1, n)
    out = np.diff(np.concatenate([[0], bounds, [total]]))
    assert out.sum() == total and out.min() >= 1
    return out


def cepstra(log_mel):
    """``c1..c24`` of each frame's log-mel, scaled as a real cepstrum (module docstring): (T, 24)."""
    from scipy.fft import dct

    x = np.asarray(log_mel, np.float64)
    # scipy's unnormalised DCT-II is 2 sum_m x_m cos(pi k (2m + 1) / 2M)
    return dct(x, type=2, axis=-1)[:, 1:N_CEPSTRA + 1] / (2 * x.shape[-1])


def mcd_frames(c_ref, c_syn):
    """MCD (dB) of matched frames: (K,)."""
    return (10.0 / math.log(10.0)) * np.sqrt(2.0 * ((c_ref - c_syn) ** 2).sum(-1))


def load_corpus(work, durations_dir, settings, limit, corpus=CATHY):
    """Aligned utterances with their log-mels, cached in ``work/mels.npz``."""
    from align.fusion.tts_data import TTSUtterance, align_for_tts, load_utterances

    t = time.perf_counter()
    results = align_for_tts(corpus, durations_dir, settings, progress=True)
    failed = sum(r.status == "failed" for r in results)
    print(f"aligned: {len(results) - failed} of {len(results)} files ({failed} failed), "
          f"{time.perf_counter() - t:.0f} s", file=sys.stderr)
    cache = work / "mels.npz"
    if cache.is_file():
        meta = json.loads((work / "mels.json").read_text())
        mels = np.load(cache)
        utterances = [TTSUtterance(m["name"], m["phones"], np.asarray(m["durations"], np.int64), mels[m["name"]],
                                   m["text"]) for m in meta]
    else:
        t = time.perf_counter()
        utterances, _ = load_utterances(corpus, durations_dir, settings)
        np.savez(cache, **{u.name: u.mel for u in utterances})
        (work / "mels.json").write_text(json.dumps([{"name": u.name, "phones": u.phones, "text": u.text,
                                                     "durations": u.durations.tolist()} for u in utterances]))
        print(f"log-mels of {len(utterances)} files: {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return utterances[:limit] if limit else utterances


def split(utterances, how):
    """(train, held_out): every 10th file, or every recording of every 10th prompt."""
    if how == "file":
        held = [i % 10 == 9 for i in range(len(utterances))]
    else:
        prompts = sorted({u.name.rsplit("_", 1)[0] for u in utterances})
        chosen = set(prompts[9::10])
        held = [u.name.rsplit("_", 1)[0] in chosen for u in utterances]
    train = [u for u, h in zip(utterances, held) if not h]
    test = [u for u, h in zip(utterances, held) if h]
    return train, test


def with_durations(utterances, source, seed, smear):
    """The utterances with the durations of ``source`` (``uniform`` is done by the dataset)."""
    if source != "smeared":
        return utterances
    rng = np.random.default_rng([seed, 12345])
    return [replace(u, durations=smear_durations(u.durations, smear, rng)) for u in utterances]


def evaluate(model, vocabulary, held_out, batch_size=32):
    """MCD-TF, MCD-DTW, length ratio and duration error over the held-out utterances."""
    import torch

    from align import dtw
    from align.fusion.tts_data import TTSDataset, collate_tts

    data = TTSDataset(held_out, vocabulary)
    tf, l1, warped, ratios, dur_err = [], [], [], [], []
    for start in range(0, len(data), batch_size):
        batch = collate_tts([data[i] for i in range(start, min(start + batch_size, len(data)))])
        forced = model.infer(batch["tokens"], batch["token_lengths"], durations=batch["durations"])
        free = model.infer(batch["tokens"], batch["token_lengths"])
        for b in range(batch["tokens"].shape[0]):
            n, t = int(batch["token_lengths"][b]), int(batch["mel_lengths"][b])
            ref = cepstra(batch["mels"][b, :t].numpy())
            tf.append(mcd_frames(ref, cepstra(forced["mel"][b, :t].numpy())).mean())
            l1.append(float((forced["mel"][b, :t] - batch["mels"][b, :t]).abs().mean()))
            t_free = int(free["mel_lengths"][b])
            syn = cepstra(free["mel"][b, :t_free].numpy())
            path = dtw(ref, syn, step_pattern="symmetric2").path
            warped.append(mcd_frames(ref[path[:, 0]], syn[path[:, 1]]).mean())
            ratios.append(t_free / t)
            dur_err.append(torch.abs(free["durations"][b, :n] - batch["durations"][b, :n]).float().mean().item())
    return {"mcd_tf": float(np.mean(tf)), "mel_l1_tf": float(np.mean(l1)), "mcd_dtw": float(np.mean(warped)),
            "length_ratio": float(np.mean(ratios)), "duration_error": float(np.mean(dur_err))}


def run_one(source, seed, train, held_out, vocabulary, stats, args, work):
    import torch

    from align.fusion.tts_data import TTSDataset
    from align.fusion.tts_model import DurationTTS
    from align.fusion.tts_train import fit_tts

    options = dict(d_model=args.d_model, n_encoder_layers=args.layers, n_decoder_layers=args.layers,
                   n_heads=2, dropout=0.1)
    torch.manual_seed(seed)
    model = DurationTTS(len(vocabulary), 80, **options)
    model.set_mel_statistics(*stats)
    dataset = TTSDataset(with_durations(train, source, seed, args.smear), vocabulary,
                         duration_source="uniform" if source == "uniform" else "aligner")
    tag = f"{source}_seed{seed}_d{args.d_model}_l{args.layers}_b{args.batch_size}_s{args.smear}_{args.split}"
    ckpt = work / f"{tag}.pt"
    if args.fresh and ckpt.exists():
        ckpt.unlink()
    run = fit_tts(model, dataset, ckpt, steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=seed,
                  progress=True, checkpoint_every=max(args.steps // 4, 1), extra_state={"tag": tag})
    model.eval()
    result = evaluate(model, vocabulary, held_out)
    steps_now = run["step"] - run["resumed_from"]
    result.update(source=source, seed=seed, first_train_mel_l1=run["history"][0]["mel"],
                  train_mel_l1=float(np.mean([h["mel"] for h in run["history"][-10:]])),
                  train_duration_loss=run["history"][-1]["duration"],
                  utterances_per_second=run["utterances_per_second"],
                  step_seconds=run["seconds"] / steps_now if steps_now else float("nan"), steps=args.steps)
    return result, model


def _interval(values):
    """Mean and half-width of the 95% Student-t interval (NaN half-width for one value)."""
    from scipy import stats

    v = np.asarray(values, dtype=float)
    if v.size < 2:
        return float(v.mean()), math.nan
    return float(v.mean()), float(stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))


def _cell(values, digits=3):
    mean, half = _interval(values)
    return f"{mean:.{digits}f}" + ("" if math.isnan(half) else f" ± {half:.{digits}f}")


def report(results):
    """Markdown: one row per source (mean ± 95% t interval over seeds), then the paired differences."""
    keys = ("mcd_tf", "mel_l1_tf", "mcd_dtw", "length_ratio", "duration_error", "train_mel_l1", "utterances_per_second",
            "step_seconds")
    lines = ["| durations | seeds | MCD-TF (dB) | mel L1 (TF) | MCD-DTW (dB) | length ratio | duration error (frames) "
             "| train mel L1 | utt/s | s/step |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    by_source = {s: {r["seed"]: r for r in results if r["source"] == s} for s in SOURCES}
    for source, rows in by_source.items():
        if rows:
            lines.append(f"| {source} | {len(rows)} | "
                         + " | ".join(_cell([r[k] for r in rows.values()]) for k in keys) + " |")
    lines += ["", "Paired by seed (same seed, same initial weights and batches), 95% t interval; "
              "negative = the aligner's durations are better:", "",
              "| difference | seeds | MCD-TF (dB) | MCD-DTW (dB) | duration error (frames) |", "|---|---:|---:|---:|---:|"]
    for other in ("uniform", "smeared"):
        seeds = sorted(set(by_source["aligner"]) & set(by_source[other]))
        if seeds:
            diffs = [_cell([by_source["aligner"][s][k] - by_source[other][s][k] for s in seeds])
                     for k in ("mcd_tf", "mcd_dtw", "duration_error")]
            lines.append(f"| aligner - {other} | {len(seeds)} | " + " | ".join(diffs) + " |")
    return "\n".join(lines)


def _write_json(path, results):
    tmp = Path(path).with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=1))
    tmp.replace(path)  # atomic: an interrupted run keeps every finished run's figures


def listen(models, vocabulary, held_out, out_dir, n=3):
    """Griffin-Lim wavs and a mel plot for ``n`` held-out utterances, for each source's model.

    ``models`` maps a source to its trained DurationTTS. Writes ``<name>_<source>.wav``
    (free-running: the model's own durations), ``<name>_recorded.wav`` (the recording's
    log-mel through the same Griffin-Lim, the vocoder's ceiling) and ``<name>.png``
    (recorded, then each source free-running).
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import soundfile

    from align.fusion.tts_data import MelSettings, TTSDataset, collate_tts, mel_to_audio

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    chosen = held_out[:: max(len(held_out) // n, 1)][:n]
    data = TTSDataset(chosen, vocabulary)
    batch = collate_tts([data[i] for i in range(len(data))])
    free = {s: m.infer(batch["tokens"], batch["token_lengths"]) for s, m in models.items()}
    for b, u in enumerate(chosen):
        mels = {"recorded": u.mel}
        mels.update({s: out["mel"][b, : int(out["mel_lengths"][b])].numpy() for s, out in free.items()})
        fig, axes = plt.subplots(len(mels), 1, figsize=(10, 2.2 * len(mels)), sharex=True)
        for ax, (label, mel) in zip(np.atleast_1d(axes), mels.items()):
            ax.imshow(mel.T, origin="lower", aspect="auto", interpolation="nearest")
            ax.set_ylabel(label)
            soundfile.write(out_dir / f"{u.name}_{label}.wav", mel_to_audio(mel), MelSettings().sample_rate, subtype="PCM_16")
        np.atleast_1d(axes)[0].set_title(f"{u.name}: {u.text}")
        np.atleast_1d(axes)[-1].set_xlabel("frame (hop 256 at 16 kHz = 16 ms)")
        fig.tight_layout()
        fig.savefig(out_dir / f"{u.name}.png", dpi=80)
        plt.close(fig)
    print(f"listen: {len(chosen)} utterances x {len(mels)} versions in {out_dir}", file=sys.stderr)


def smoke(corpus_dir, work, *, n_files=30, steps=150):
    """The experiment end to end on ``n_files`` files of the corpus (CI): it runs, models learn.

    Copies the first ``n_files`` recordings into ``work``, aligns them, trains the
    aligner and uniform variants (d_model 32, one layer each) and evaluates them on every
    10th file. Returns ``{source: result}`` (``first_train_mel_l1`` and ``train_mel_l1``, the
    mean of the last 10 steps, show whether training learns).
    """
    import shutil
    from types import SimpleNamespace

    import torch

    from align.fusion.tts_data import MelSettings, PhoneVocabulary, mel_statistics

    torch.set_num_threads(1)
    work = Path(work)
    corpus = work / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for audio in sorted(Path(corpus_dir).glob("*.flac"))[:n_files]:
        for path in (audio, audio.with_suffix(".txt")):
            shutil.copy(path, corpus / path.name)
    settings = MelSettings()
    utterances = load_corpus(work, work / "durations", settings, 0, corpus=corpus)
    train, held_out = split(utterances, "file")
    vocabulary = PhoneVocabulary(p for u in utterances for p in u.phones)
    args = SimpleNamespace(d_model=32, layers=1, batch_size=8, lr=2e-3, smear=4, split="file", steps=steps,
                           fresh=True)
    out = {}
    for source in ("aligner", "uniform"):
        out[source] = run_one(source, 0, train, held_out, vocabulary, mel_statistics(train), args, work)[0]
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--sources", nargs="+", default=list(SOURCES), choices=SOURCES)
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2, help="encoder and decoder layers each")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--smear", type=int, default=4, help="max boundary shift of 'smeared', frames")
    parser.add_argument("--split", choices=("file", "prompt"), default="file")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N utterances (0: all)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: best on a shared 2-core VM)")
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "fusealign-tts-cathy"),
                        help="cache folder: durations, log-mels, checkpoints")
    parser.add_argument("--durations-dir", help="reuse these duration tables (default: <work>/durations)")
    parser.add_argument("--fresh", action="store_true", help="retrain instead of resuming checkpoints")
    parser.add_argument("--out", help="write every run's figures to this JSON file (after each run, atomically)")
    parser.add_argument("--report", metavar="JSON", help="only print the tables of an earlier --out file")
    parser.add_argument("--listen", metavar="DIR", help="write wavs and mel plots of 3 held-out files here "
                        "(the first seed's model of each source)")
    args = parser.parse_args(argv)
    if args.report:
        print(report(json.loads(Path(args.report).read_text())))
        return

    import torch

    from align.fusion.tts_data import MelSettings, PhoneVocabulary, mel_statistics

    torch.set_num_threads(args.threads)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    settings = MelSettings()
    utterances = load_corpus(work, Path(args.durations_dir or work / "durations"), settings, args.limit)
    train, held_out = split(utterances, args.split)
    shared_texts = len({u.text for u in held_out} & {u.text for u in train})
    print(f"{len(train)} training, {len(held_out)} held-out utterances ({shared_texts} held-out texts "
          f"also in training); mel {settings}", file=sys.stderr)
    vocabulary = PhoneVocabulary(p for u in utterances for p in u.phones)
    stats = mel_statistics(train)
    results, first_models = [], {}
    for seed in args.seeds:
        for source in args.sources:
            r, model = run_one(source, seed, train, held_out, vocabulary, stats, args, work)
            print(json.dumps(r), file=sys.stderr)
            results.append(r)
            first_models.setdefault(source, model)
            if args.out:
                _write_json(args.out, results)
    print(f"\n{args.steps} steps, batch {args.batch_size}, lr {args.lr}, d_model {args.d_model}, "
          f"{args.layers}+{args.layers} layers, smear ±{args.smear} frames, split by {args.split}, "
          f"torch threads {args.threads}")
    print(report(results))
    if args.listen:
        listen(first_models, vocabulary, held_out, args.listen)
    return 0


if __name__ == "__main__":
    sys.exit(main())
