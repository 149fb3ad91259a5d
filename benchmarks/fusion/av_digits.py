"""Audio-visual digits (issue 11): spoken digits paired with handwritten digit images, in noise.

MultiBench's AV-MNIST idea (Liang et al. 2021) built from real speech: every clip of the
Free Spoken Digit Dataset (``../shared/data/speech/fsdd``, 3,000 clips at 8 kHz, 6
speakers, CC BY-SA) is paired with a random image of the same digit from scikit-learn's
handwritten digits (``load_digits()``, 1,797 8x8 images). The task is the digit (10
classes, chance 0.10).

- Audio: 13 MFCC (librosa; n_fft 256, hop 200 = 25 ms at 8 kHz, 40 mel bands), mean
  normalised per utterance, then divided by the training set's per-coefficient standard
  deviation; at most ``MAX_FRAMES`` frames (1.0 s; longer clips are cut). White Gaussian
  noise is added to the waveform at the SNR asked for (``clean``, ``0``, ``-10`` dB).
- Image: a sequence of its 8 rows (T = 8, d = 8), scaled to [0, 1]; always clean. For
  the model it is put on the audio clock with
  :func:`align.fusion.data.resample_to_clock` (``method="previous"``; the 8 rows get
  times spread evenly over the clip's kept duration), so both streams have the same
  padded length and valid frames per item, as the frame-wise operators need. Every
  fusion variant sees this same view, so they differ only in where and how they fuse.
  The image-only baseline sees the 8 rows themselves (trained once: the image does not
  depend on the audio's SNR).
- Splits by FSDD file index, speaker dependent: index 0-4 test, 5-9 validation, 10-49
  train (300 / 300 / 2,400 clips). The image pool is split disjointly per digit (20% test,
  20% validation, 60% train, fixed rng), so no test image is seen in training; each clip
  is paired with one image of its split and digit (fixed rng).

Variants: audio only, image only, early concat (layer 0), intermediate (layer 1 of 2) for
every operator, late (pooled embeddings, concat at layer 2), late (decision). Widths by
:func:`protocol.matched_d_model` to the parameter count of intermediate concat at
d_model 32. The protocol: see ``protocol.py``.

    python benchmarks/fusion/av_digits.py                       # 5 seeds, clean / 0 / -10 dB
    python benchmarks/fusion/av_digits.py --snr clean -10       # fewer noise levels
    python benchmarks/fusion/av_digits.py --quick               # smoke: 1 seed, 100 steps, 300 clips

Features are cached in ``/tmp/av_digits_cache.npz``.
"""

import argparse
import datetime
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocol import Settings, Split, build, run_variants, table  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FSDD = ROOT.parent / "shared" / "data" / "speech" / "fsdd"
CACHE = Path("/tmp/av_digits_cache.npz")
SR = 8000
N_FFT = 256
HOP = 200  # 25 ms
N_MFCC = 13
N_MELS = 40
MAX_FRAMES = 40  # 1.0 s
IMAGE_SPLIT = (0.2, 0.2)  # test, validation fractions of each digit's images
PAIR_SEED = 11
NOISE_SEED = 12
REFERENCE = "late (decision)"
TARGET = ("intermediate (concat, layer 1)", 32)  # the parameter target: this variant at this width


def variants():
    """Name -> FusionClassifier options, in table order (image only is run apart, see module doc)."""
    from align.fusion import OPERATORS

    out = {"audio only": {"only": ["audio"]},
           "early (concat, layer 0)": {"fusion": "concat", "fusion_layer": 0}}
    for op in OPERATORS:
        out[f"intermediate ({op}, layer 1)"] = {"fusion": op, "fusion_layer": 1}
    out["late (embeddings, concat, layer 2)"] = {"fusion": "concat", "fusion_layer": 2}
    out[REFERENCE] = {"fusion": "decision"}
    return out


IMAGE_ONLY = {"image only": {"only": ["image"]}}


def chosen_variants(args):
    """The table's variants, filtered by ``--variants``, plus the ``--modality-dropout`` ones."""
    table = variants()
    if args.modality_dropout:
        p = args.modality_dropout
        for name in ("intermediate (concat, layer 1)", REFERENCE):
            table[f"{name} + modality dropout {p}"] = {**table[name], "modality_dropout": p}
    if args.variants:
        unknown = set(args.variants) - set(table)
        if unknown:
            raise SystemExit(f"unknown variants {sorted(unknown)}; known: {list(table)}")
        keep = set(args.variants) | {REFERENCE} | {k for k in table if "modality dropout" in k}  # + the reference
        table = {k: v for k, v in table.items() if k in keep}
    return table


# -- data --------------------------------------------------------------------------------

def parse_name(path):
    digit, speaker, index = re.fullmatch(r"(\d)_([A-Za-z]+)_(\d+)", Path(path).stem).groups()
    return int(digit), speaker, int(index)


def split_of(index):
    """FSDD's convention, speaker dependent: 0-4 test, 5-9 validation, the rest train."""
    return "test" if index < 5 else "valid" if index < 10 else "train"


def list_clips(root, n_clips=None):
    """Sorted clip paths; with ``n_clips`` a subset keeping the split proportions per
    (digit, speaker): the first indices of each split's range."""
    files = sorted(Path(root).glob("*.flac"), key=lambda p: parse_name(p))
    if not files:
        raise SystemExit(f"no .flac files in {root}")
    if n_clips is None or n_clips >= len(files):
        return files
    per = max(3, n_clips // len({parse_name(f)[:2] for f in files}))
    held = max(1, round(0.1 * per))
    keep = set(range(held)) | set(range(5, 5 + held)) | set(range(10, 10 + per - 2 * held))
    return [f for f in files if parse_name(f)[2] in keep]


def noisy(y, snr_db, rng):
    """``y`` plus white Gaussian noise at ``snr_db`` (relative to the clip's mean power)."""
    if snr_db is None:
        return y
    power = float(np.mean(y ** 2)) + 1e-12
    return (y + rng.standard_normal(len(y)) * np.sqrt(power / 10 ** (snr_db / 10))).astype(np.float32)


def mfcc_features(files, snr_db):
    """(N, MAX_FRAMES, 13) float32 MFCC (mean normalised per utterance, zero padded), lengths (N,)."""
    import librosa
    import soundfile as sf

    out = np.zeros((len(files), MAX_FRAMES, N_MFCC), np.float32)
    lengths = np.zeros(len(files), np.int64)
    for i, f in enumerate(files):
        y, sr = sf.read(f, dtype="float32", always_2d=True)
        y = y.mean(1)
        if sr != SR:
            y = librosa.resample(y, orig_sr=sr, target_sr=SR)
        # the noise of a clip depends on the clip only (its name), not on the subset or the level
        rng = np.random.default_rng([NOISE_SEED, *map(ord, Path(f).stem)])
        m = librosa.feature.mfcc(y=noisy(y, snr_db, rng), sr=SR, n_mfcc=N_MFCC, n_fft=N_FFT, hop_length=HOP,
                                 n_mels=N_MELS).T[:MAX_FRAMES]
        out[i, :len(m)] = m - m.mean(0)
        lengths[i] = len(m)
    return out, lengths


def snr_key(snr_db):
    return "clean" if snr_db is None else f"{snr_db:g}dB"


def cached_mfcc(files, snr_db, cache):
    """MFCC of ``files`` at ``snr_db``, from the cache when it holds every file at this level."""
    key = snr_key(snr_db)
    names = np.array([Path(f).stem for f in files])
    store = {}
    if cache is not None and Path(cache).exists():
        with np.load(cache) as z:
            store = {k: z[k] for k in z.files}
        if f"{key}/names" in store:
            where = {n: i for i, n in enumerate(store[f"{key}/names"])}
            if all(n in where for n in names):
                idx = np.array([where[n] for n in names])
                return store[f"{key}/mfcc"][idx], store[f"{key}/lengths"][idx]
    mfcc, lengths = mfcc_features(files, snr_db)
    if cache is not None:
        store.update({f"{key}/names": names, f"{key}/mfcc": mfcc, f"{key}/lengths": lengths})
        tmp = Path(cache).with_name(Path(cache).stem + ".tmp.npz")
        np.savez(tmp, **store)
        tmp.replace(cache)
    return mfcc, lengths


def image_pools(seed=PAIR_SEED):
    """scikit-learn's digits as (images (1797, 8, 8) in [0, 1], labels, split of each image)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)
    rng = np.random.default_rng(seed)
    split = np.empty(len(images), dtype=object)
    for d in range(10):
        idx = rng.permutation(np.flatnonzero(digits.target == d))
        n_test, n_valid = (int(round(f * len(idx))) for f in IMAGE_SPLIT)
        split[idx[:n_test]] = "test"
        split[idx[n_test:n_test + n_valid]] = "valid"
        split[idx[n_test + n_valid:]] = "train"
    return images, digits.target, split


def pair_images(files, seed=PAIR_SEED):
    """For each clip, the index of a random image of its digit from its split's pool."""
    images, targets, split = image_pools(seed)
    rng = np.random.default_rng(seed + 1)
    out = []
    for f in files:
        digit, _, index = parse_name(f)
        pool = np.flatnonzero((targets == digit) & (split == split_of(index)))
        out.append(int(rng.choice(pool)))
    return images, np.array(out)


def image_on_clock(image, n_frames):
    """The 8 rows of ``image`` on the audio clock: (MAX_FRAMES, 8), the first ``n_frames`` valid."""
    from align.fusion.data import frame_times, resample_to_clock

    target_times = frame_times(n_frames, sample_rate=SR, hop_length=HOP)  # frame centres (librosa, center=True)
    # row i starts at i / 8 of the kept duration; computed as frame_times computes a frame's
    # time (samples / rate), so a row starting exactly on a frame centre is held from that frame
    times = (np.arange(image.shape[0]) * (n_frames * HOP / image.shape[0])) / SR
    rows = resample_to_clock(torch.from_numpy(image), times, target_times, method="previous")
    out = torch.zeros(MAX_FRAMES, image.shape[1])
    out[:n_frames] = torch.as_tensor(rows, dtype=torch.float32)
    return out


def make_splits(files, snr_db, cache, *, image_view="clock"):
    """(train, valid, test) Splits with modalities ``audio`` and ``image``.

    ``image_view="clock"``: the image rows on the audio clock (same length and valid
    frames as the audio); ``"rows"``: the 8 rows themselves (T = 8).
    """
    mfcc, lengths = cached_mfcc(files, snr_db, cache)
    images, which = pair_images(files)
    labels = np.array([parse_name(f)[0] for f in files])
    splits = np.array([split_of(parse_name(f)[2]) for f in files])
    train = splits == "train"
    # global scale per coefficient from the training frames (after per-utterance mean removal)
    valid_frames = np.arange(MAX_FRAMES)[None, :] < lengths[:, None]
    scale = mfcc[train][valid_frames[train]].std(0) + 1e-6
    audio = torch.from_numpy(mfcc / scale)
    if image_view == "clock":
        image = torch.stack([image_on_clock(images[j], int(n)) for j, n in zip(which, lengths)])
        image_lengths = torch.from_numpy(lengths)
    else:
        image = torch.from_numpy(images[which])
        image_lengths = torch.full((len(files),), images.shape[1])
    out = []
    for name in ("train", "valid", "test"):
        m = torch.from_numpy(splits == name)
        out.append(Split({"audio": audio[m], "image": image[m]},
                         {"audio": torch.from_numpy(lengths)[m], "image": image_lengths[m]},
                         torch.from_numpy(labels)[m]))
    return tuple(out)


def parse_snr(text):
    return None if str(text).lower() == "clean" else float(text)


def target_params(inputs, settings):
    from align.fusion import count_parameters

    name, width = TARGET
    return count_parameters(build(inputs, 10, variants()[name], width, settings))


# -- smoke -------------------------------------------------------------------------------

def smoke(data_dir=FSDD, *, n_clips=300, steps=150, snr_db=-10.0, seed=0):
    """A quick end-to-end check: a few hundred clips, one seed, three variants.

    Returns ``{variant: test accuracy}`` for audio only, intermediate (concat, layer 1) and
    late (decision). No cache is read or written.
    """
    torch.set_num_threads(1)
    files = list_clips(data_dir, n_clips)
    splits = make_splits(files, snr_db, None)
    settings = Settings(steps=steps)
    inputs = {m: x.shape[2] for m, x in splits[0].features.items()}
    chosen = {k: v for k, v in variants().items()
              if k in ("audio only", "intermediate (concat, layer 1)", REFERENCE)}
    results = run_variants(chosen, inputs, 10, splits, settings, [seed], target_params(inputs, settings),
                           log=lambda *a: None)
    return {name: r["acc"][0] for name, r in results.items()}


# -- main --------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--snr", nargs="+", default=["clean", "0", "-10"], help="levels in dB, or clean")
    parser.add_argument("--clips", type=int, default=None, help="a subset of the clips (default all)")
    parser.add_argument("--data", default=str(FSDD))
    parser.add_argument("--quick", action="store_true", help="1 seed, 100 steps, 300 clips")
    parser.add_argument("--variants", nargs="+", help="run only these variants (names as in the table)")
    parser.add_argument("--modality-dropout", type=float, default=0.0,
                        help="also run intermediate concat and late decision with this modality dropout")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "fusion_av_digits.md"))
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.steps, args.clips = 1, 100, 300
    torch.set_num_threads(1)
    settings = Settings(steps=args.steps)
    seeds = range(args.seeds)
    levels = [parse_snr(s) for s in args.snr]
    start = time.perf_counter()
    files = list_clips(args.data, args.clips)
    cache = None if args.clips else CACHE

    print(f"{len(files)} clips; image only (8 rows, SNR-independent)", flush=True)
    row_splits = make_splits(files, None, cache, image_view="rows")
    inputs = {m: x.shape[2] for m, x in row_splits[0].features.items()}
    target = target_params(inputs, settings)
    image_only = run_variants(IMAGE_ONLY, inputs, 10, row_splits, settings, seeds, target)

    command = " ".join(["python benchmarks/fusion/av_digits.py", f"--seeds {args.seeds}", f"--steps {args.steps}",
                        "--snr " + " ".join(args.snr)] + ([f"--clips {args.clips}"] if args.clips else [])
                       + ([f"--modality-dropout {args.modality_dropout}"] if args.modality_dropout else [])
                       + (["--variants " + " ".join(repr(v) for v in args.variants)] if args.variants else []))
    sizes = "/".join(str(len(s)) for s in row_splits)
    report = [f"# Audio-visual digits (issue 11)\n\n`{command}`, {datetime.date.today()}, 2 shared CPU cores, "
              f"torch threads 1. Settings: {settings}; seeds 0..{args.seeds - 1}. Clips train/valid/test "
              f"{sizes} (FSDD index 10-49 / 5-9 / 0-4, speaker dependent), each paired with an 8x8 "
              f"scikit-learn digit of the same label from a disjoint image pool (60/20/20% per digit). "
              f"Audio: 13 MFCC, 25 ms hop, at most {MAX_FRAMES} frames, white noise at the SNR given; "
              f"image: its 8 rows, clean, put on the audio clock (resample_to_clock, previous) for every "
              f"fusion variant; image only sees the 8 rows (one run, shared by every SNR). Widths matched "
              f"to {target:,} parameters ({TARGET[0]} at d_model {TARGET[1]}). Chance 0.100.\n"]
    for snr in levels:
        print(f"SNR {snr_key(snr)}", flush=True)
        splits = make_splits(files, snr, cache, image_view="clock")
        inputs = {m: x.shape[2] for m, x in splits[0].features.items()}
        results = run_variants(chosen_variants(args), inputs, 10, splits, settings, seeds, target)
        ordered = {}
        for name, r in results.items():
            ordered[name] = r
            if name == "audio only":
                ordered.update(image_only)
        if "image only" not in ordered:
            ordered = {**image_only, **ordered}
        per_run = np.mean([r["seconds"] for r in ordered.values()])
        report.append(f"## SNR {snr_key(snr)}\n\n{table(ordered, reference=REFERENCE)}\n\n"
                      f"Mean training time per run: {per_run:.1f} s.\n")
        print(report[-1], flush=True)
        tmp = Path(args.out).with_suffix(".tmp")
        tmp.write_text("\n".join(report) + f"\nTotal wall time so far: {(time.perf_counter() - start) / 60:.1f} min.\n")
        tmp.replace(args.out)  # atomic: an interrupted run leaves the last tables whole
    total = (time.perf_counter() - start) / 60
    report.append(f"Total wall time: {total:.1f} min.\n")
    tmp = Path(args.out).with_suffix(".tmp")
    tmp.write_text("\n".join(report))
    tmp.replace(args.out)
    print(f"total {total:.1f} min; wrote {args.out}")


if __name__ == "__main__":
    main()
