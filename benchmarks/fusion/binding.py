"""Binding tasks: only fusion of aligned streams can win; each with a control where late fusion must tie.

Built from real speech (the CC0 cathy corpus, ../shared/data/speech/cathy): audio
features are 24 log-mel bands at 10 ms; the "visual" stream is driven by the speech
envelope (frame RMS in dB, smoothed over 30 ms, as a mouth opening would follow it) through
a fixed random linear map to 6 dimensions, plus noise (sigma 0.5 per dimension, the
envelope being normalised per file). Windows are 64 frames (0.64 s).

Tasks (binary; chance is 0.5):

- ``offset``: is the visual stream in sync with the audio (k = 0), or shifted by
  k in +-[4, 12] frames (40-120 ms) within the same utterance? Alone, a shifted and an
  unshifted visual stream look the same: only a comparison across the streams frame by
  frame can tell. Control ``offset-control``: is the window louder or quieter than the
  file's median (visible in either stream alone).
- ``pick``: audio plus two visual tracks, one driven by this audio and one by another
  window of speech; which one goes with the audio? Each track alone is a plausible
  speech-driven track. Control ``pick-control``: the distractor is driven by a
  time-reversed envelope of another window, scaled (a track that does not look like
  speech alone, so each track alone gives the answer).

Stated before the runs: **a win is intermediate minus late (decision) >= 0.10 accuracy,
with the paired 95% interval excluding zero; a tie is |difference| < 0.10**.

    python benchmarks/fusion/binding.py                  # 5 seeds, every task
    python benchmarks/fusion/binding.py --quick          # smoke: 1 seed, few steps
"""

import argparse
import datetime
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocol import Settings, Split, build, interval, run_variants, table  # noqa: E402

from align.fusion import count_parameters  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CATHY = ROOT.parent / "shared" / "data" / "speech" / "cathy"
WINDOW = 64
N_MELS = 24
D_VISUAL = 6
WIN_MARGIN = 0.10

VARIANTS = {
    "early (concat, layer 0)": {"fusion": "concat", "fusion_layer": 0},
    "intermediate (concat, layer 1)": {"fusion": "concat", "fusion_layer": 1},
    "intermediate (gated, layer 1)": {"fusion": "gated", "fusion_layer": 1},
    "intermediate (cross_attention, layer 1)": {"fusion": "cross_attention", "fusion_layer": 1},
    "late (embeddings, concat)": {"fusion": "concat", "fusion_layer": 2},
    "late (decision)": {"fusion": "decision"},
}


def file_features(path, cache):
    """(log-mel (T, 24), envelope (T,)) of one file at 10 ms frames, normalised per file."""
    import librosa
    import soundfile as sf

    key = Path(path).stem
    if key in cache:
        return cache[key]
    y, sr = sf.read(path, dtype="float32", always_2d=True)
    y = librosa.resample(y.mean(1), orig_sr=sr, target_sr=16000) if sr != 16000 else y.mean(1)
    mel = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=400, hop_length=160, n_mels=N_MELS)
    logmel = np.log(mel + 1e-6).T
    logmel = (logmel - logmel.mean(0)) / (logmel.std(0) + 1e-6)
    rms = librosa.feature.rms(y=y, frame_length=400, hop_length=160)[0]
    env = 20 * np.log10(rms + 1e-5)
    env = np.convolve(env, np.ones(3) / 3, mode="same")
    env = (env - env.mean()) / (env.std() + 1e-6)
    n = min(len(logmel), len(env))
    cache[key] = (logmel[:n].astype(np.float32), env[:n].astype(np.float32))
    return cache[key]


def load_corpus(n_files, root=CATHY):
    files = sorted(Path(root).glob("*.flac"))[:n_files]
    if not files:
        raise SystemExit(f"no .flac files in {root}")
    cache = {}
    return [file_features(f, cache) for f in files]


def visual_track(env, mapping, rng, noise=0.5):
    """A 'mouth' stream from an envelope window: (T,) -> (T, D_VISUAL)."""
    lagged = np.stack([env, np.roll(env, 1), np.roll(env, 2)], axis=1)
    return (lagged @ mapping + noise * rng.standard_normal((len(env), D_VISUAL))).astype(np.float32)


def make_task(task, files, n_items, seed):
    """Items of a task from these files: features dict, lengths dict, labels."""
    rng = np.random.default_rng(seed)
    mapping = np.random.default_rng(1234).standard_normal((3, D_VISUAL)) / np.sqrt(3)
    audio, tracks, labels = [], ([], []), []
    medians = [np.median(e) for _, e in files]
    usable = [i for i, (m, _) in enumerate(files) if len(m) > WINDOW + 40]
    while len(labels) < n_items:
        f = usable[rng.integers(len(usable))]
        logmel, env = files[f]
        start = int(rng.integers(14, len(env) - WINDOW - 14))
        a = logmel[start:start + WINDOW]
        if task in ("offset", "offset-control"):
            if task == "offset":
                label = int(rng.integers(2))
                shift = 0 if label else int(rng.choice([-1, 1]) * rng.integers(4, 13))
            else:
                shift = 0
                label = int(env[start:start + WINDOW].mean() > medians[f])
            v = visual_track(env[start + shift:start + shift + WINDOW], mapping, rng)
            audio.append(a)
            tracks[0].append(v)
            labels.append(label)
        else:
            g = usable[rng.integers(len(usable))]
            other = files[g][1]
            o = int(rng.integers(0, len(other) - WINDOW))
            distractor_env = other[o:o + WINDOW]
            if task == "pick-control":
                distractor_env = 2.5 * distractor_env[::-1]
            true = visual_track(env[start:start + WINDOW], mapping, rng)
            false = visual_track(np.ascontiguousarray(distractor_env), mapping, rng)
            label = int(rng.integers(2))  # which track is the true one
            pair = (true, false) if label == 0 else (false, true)
            audio.append(a)
            tracks[0].append(pair[0])
            tracks[1].append(pair[1])
            labels.append(label)
    features = {"audio": torch.from_numpy(np.stack(audio)), "track_a": torch.from_numpy(np.stack(tracks[0]))}
    if tracks[1]:
        features["track_b"] = torch.from_numpy(np.stack(tracks[1]))
    n = len(labels)
    lengths = {m: torch.full((n,), WINDOW) for m in features}
    return Split(features, lengths, torch.tensor(labels))


def splits_for(task, files, n_train, seed=0):
    """Train/validation/test items from disjoint files (80/10/10 by file)."""
    n = len(files)
    train_files, valid_files, test_files = files[: int(0.8 * n)], files[int(0.8 * n): int(0.9 * n)], files[int(0.9 * n):]
    return (make_task(task, train_files, n_train, seed), make_task(task, valid_files, n_train // 4, seed + 1),
            make_task(task, test_files, n_train // 2, seed + 2))


def verdict(results):
    diff, half = interval(np.subtract(results["intermediate (concat, layer 1)"]["acc"],
                                      results["late (decision)"]["acc"]))
    if diff >= WIN_MARGIN and diff - half > 0:
        word = "intermediate wins"
    elif abs(diff) < WIN_MARGIN:
        word = "tie"
    else:
        word = "neither a win nor a tie"
    return f"intermediate (concat) minus late (decision): {diff:+.3f} ± {half:.3f} -> {word}"


def smoke(root=CATHY, *, n_files=24, n_items=600, steps=120, seed=0):
    """A CI-sized run of the offset task: (accuracy, first loss, last loss) per variant.

    Intermediate concat and late decision, one seed, a little data; well under a minute.
    """
    from protocol import accuracy, train

    torch.set_num_threads(1)
    files = load_corpus(n_files, root)
    settings = Settings(steps=steps, eval_every=40)
    splits = splits_for("offset", files, n_items, seed)
    inputs = {m: x.shape[2] for m, x in splits[0].features.items()}
    out = {}
    for name in ("intermediate (concat, layer 1)", "late (decision)"):
        torch.manual_seed(seed)
        model, info = train(build(inputs, 2, VARIANTS[name], 32, settings), splits[0], splits[1], settings, seed)
        out[name] = (accuracy(model, splits[2]), info["first_loss"], info["last_loss"])
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--files", type=int, default=400, help="cathy files to cut windows from")
    parser.add_argument("--items", type=int, default=4000, help="training windows per task")
    parser.add_argument("--tasks", nargs="+", default=["offset", "offset-control", "pick", "pick-control"])
    parser.add_argument("--quick", action="store_true", help="1 seed, 150 steps, 60 files, 1,000 items")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "fusion_binding.md"))
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.steps, args.files, args.items = 1, 150, 60, 1000
    torch.set_num_threads(1)
    settings = Settings(steps=args.steps)
    files = load_corpus(args.files)
    report = [f"# Binding tasks (issue 11)\n\n`python benchmarks/fusion/binding.py --seeds {args.seeds} "
              f"--steps {args.steps} --files {args.files} --items {args.items}`, {datetime.date.today()}, "
              f"2 shared cores, torch threads 1. Settings: {settings}. Win margin stated beforehand: "
              f"{WIN_MARGIN:.2f}.\n"]
    for task in args.tasks:
        print(f"task {task}", flush=True)
        splits = splits_for(task, files, args.items)
        inputs = {m: x.shape[2] for m, x in splits[0].features.items()}
        target = count_parameters(build(inputs, 2, VARIANTS["intermediate (concat, layer 1)"], 32, settings))
        results = run_variants(VARIANTS, inputs, 2, splits, settings, range(args.seeds), target)
        report.append(f"## {task}\n\n{table(results, reference='late (decision)')}\n\n{verdict(results)}\n")
        print(report[-1], flush=True)
    tmp = Path(args.out).with_suffix(".tmp")
    tmp.write_text("\n".join(report))
    tmp.replace(args.out)  # atomic: an interrupted run leaves the last table whole
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
