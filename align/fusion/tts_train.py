"""Train :class:`~align.fusion.tts_model.DurationTTS` on a corpus, save and load it, synthesise.

- :func:`train_tts`: align the corpus (or reuse its duration tables), load the log-mels,
  train with AdamW, checkpoint atomically every ``checkpoint_every`` steps and resume
  from the checkpoint when it exists.
- :func:`fit_tts`: the training loop alone, on any :class:`~align.fusion.tts_data.TTSDataset`.
- :func:`load_tts`: a checkpoint back as a :class:`TrainedTTS` (model, vocabulary, mel settings).
- :func:`synthesize`: text -> the aligner's phones -> log-mels -> Griffin-Lim -> a wav file.

Reproducibility: the model is initialised from ``seed``; the batches of step ``s`` and
its dropout draw from ``(seed, s)`` alone, so a run resumed from a checkpoint (which
holds the model, the optimiser state and the step) continues exactly as the
uninterrupted run would have (on the same device and library versions).
"""

import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..exceptions import BackendUnavailableError, ParameterError
from .tts_data import (MelSettings, PhoneVocabulary, TTSDataset, align_for_tts, collate_tts, load_utterances,
                       mel_statistics, mel_to_audio, text_to_phones)
from .tts_model import DurationTTS

__all__ = ["TrainedTTS", "train_tts", "fit_tts", "load_tts", "synthesize", "save_checkpoint",
           "batch_indices", "DURATION_SOURCES"]

CHECKPOINT_FORMAT = "fusealign.tts"
CHECKPOINT_VERSION = 1
DURATION_SOURCES = ("aligner", "uniform")


@dataclass
class TrainedTTS:
    """A model with what it needs to speak: its vocabulary and mel settings.

    Attributes
    ----------
    model : DurationTTS
    vocabulary : PhoneVocabulary
    settings : MelSettings
    step : int
        Optimiser steps taken.
    history : list of dict
        ``{"step", "total", "mel", "duration"}`` per step.
    info : dict
        ``duration_source``, ``seed``, ``utterances_per_second`` of the last run, ...
    """

    model: DurationTTS
    vocabulary: PhoneVocabulary
    settings: MelSettings
    step: int = 0
    history: list = field(default_factory=list)
    info: dict = field(default_factory=dict)


# -- small helpers -----------------------------------------------------------------------


def _device(device):
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ParameterError(f"device {device!r} is not a torch device ('cpu', 'cuda', 'cuda:0')") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise BackendUnavailableError(f"device={device!r} was asked for but torch sees no CUDA device")
    return dev


def _positive_int(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def batch_indices(n_items, batch_size, seed, step):
    """The items of training step ``step``: epochs are seeded permutations, cut in batches.

    Depends on ``(n_items, batch_size, seed, step)`` only, so a resumed run draws the
    same batches. The last batch of an epoch may be smaller.

    Returns
    -------
    np.ndarray [shape=(<= batch_size,), int64]
    """
    per_epoch = math.ceil(n_items / batch_size)
    epoch, k = divmod(step, per_epoch)
    order = np.random.default_rng([seed, epoch]).permutation(n_items)
    return order[k * batch_size:(k + 1) * batch_size]


def _check_schedule(steps, batch_size, lr, checkpoint_every):
    if not (isinstance(lr, (int, float)) and not isinstance(lr, bool) and math.isfinite(lr) and lr > 0):
        raise ParameterError(f"lr must be a positive number, got {lr!r}")
    return (_positive_int("steps", steps, 0), _positive_int("batch_size", batch_size),
            _positive_int("checkpoint_every", checkpoint_every))


def _learning_rate(lr, step, warmup_steps):
    """Linear warm-up over ``warmup_steps``, then constant (depends on the step alone)."""
    return lr * min(1.0, (step + 1) / warmup_steps) if warmup_steps else lr


class _ProgressBar:
    """A one-line progress bar on stderr, redrawn at most a few times a second."""

    def __init__(self, total, *, start=0, desc="training", stream=None, width=24, every=0.25):
        self.total, self.n, self.desc = total, start, desc
        self.stream = sys.stderr if stream is None else stream
        self.width, self.every, self._last = width, every, 0.0

    def update(self, n, note=""):
        self.n = n
        now = time.perf_counter()
        if n < self.total and now - self._last < self.every:
            return
        self._last = now
        filled = int(self.width * n / max(self.total, 1))
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r{self.desc} [{bar}] {n}/{self.total} {note}")
        self.stream.flush()

    def close(self):
        self.stream.write("\n")
        self.stream.flush()


def save_checkpoint(path, payload):
    """``torch.save(payload)`` to ``path`` atomically: a temporary file beside it, then ``os.replace``."""
    from ..io._atomic import atomic_open

    with atomic_open(path, "wb") as fh:
        torch.save(payload, fh)


def _read_checkpoint(path, device="cpu"):
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"no TTS checkpoint at {str(path)!r}")
    try:
        payload = torch.load(path, map_location=device, weights_only=False)
    except Exception as exc:  # torch raises many kinds on a corrupt or foreign file
        raise ParameterError(f"{str(path)!r} is not a readable torch checkpoint: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ParameterError(f"{str(path)!r} is not a fusealign TTS checkpoint")
    if payload.get("version") != CHECKPOINT_VERSION:
        raise ParameterError(f"{str(path)!r} has checkpoint version {payload.get('version')}; "
                             f"this fusealign reads version {CHECKPOINT_VERSION}")
    return payload


# -- the training loop -------------------------------------------------------------------


def fit_tts(model, dataset, checkpoint_path, *, steps, batch_size=16, lr=1e-3, seed=0, device="cpu",
            progress=True, resume=True, checkpoint_every=100, warmup_steps=100, weight_decay=0.01,
            grad_clip=1.0, extra_state=None):
    """Train ``model`` on ``dataset`` with AdamW until step ``steps``, checkpointing as it goes.

    Parameters
    ----------
    model : DurationTTS
    dataset : TTSDataset
    checkpoint_path : str or os.PathLike
        Written atomically every ``checkpoint_every`` steps and at the end (model,
        optimiser, step, history, the model's config, ``extra_state``); when it exists and
        ``resume`` is set, training continues from it.
    steps : int
        Total optimiser steps (a resumed run does ``steps - checkpoint step``).
    batch_size : int
    lr : float
        Peak learning rate (linear warm-up over ``warmup_steps``, then constant).
    seed : int
        Seeds the batches and the dropout of every step (:func:`batch_indices`).
    device : str
    progress : bool
        A progress bar on stderr.
    resume : bool
    checkpoint_every : int
    warmup_steps, weight_decay, grad_clip : float
    extra_state : dict, optional
        Stored in the checkpoint (the vocabulary and mel settings, by :func:`train_tts`);
        on resume it must equal what the checkpoint holds.

    Returns
    -------
    dict
        ``history`` (one dict per step, the resumed steps included), ``step``,
        ``resumed_from`` (0 for a fresh run), ``seconds`` and ``utterances_per_second``
        (of the steps run now).

    Raises
    ------
    ParameterError
        Bad arguments, or a checkpoint made for another model, vocabulary or data.
    """
    steps, batch_size, checkpoint_every = _check_schedule(steps, batch_size, lr, checkpoint_every)
    if len(dataset) == 0:
        raise ParameterError("the dataset is empty")
    dev = _device(device)
    model.to(dev)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    extra_state = dict(extra_state or {})
    history, start = [], 0
    path = Path(checkpoint_path)
    if resume and path.is_file():
        payload = _read_checkpoint(path, dev)
        if payload["model_config"] != model.config:
            raise ParameterError(f"the checkpoint {str(path)!r} holds a model with config {payload['model_config']}, "
                                 f"not {model.config}; pass resume=False or another path")
        for key, value in extra_state.items():
            if payload.get("extra", {}).get(key) != value:
                raise ParameterError(f"the checkpoint {str(path)!r} was trained with another {key}; "
                                     "pass resume=False or another path")
        model.load_state_dict(payload["model_state"])
        optimizer.load_state_dict(payload["optimizer_state"])
        history, start = list(payload["history"]), int(payload["step"])

    def checkpoint(step):
        save_checkpoint(path, {
            "format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "step": step, "seed": seed,
            "model_config": model.config, "model_state": model.state_dict(),
            "optimizer_state": optimizer.state_dict(), "history": history, "extra": extra_state})

    bar = _ProgressBar(steps, start=start) if progress and start < steps else None
    model.train()
    began, n_utterances = time.perf_counter(), 0
    for step in range(start, steps):
        items = [dataset[int(i)] for i in batch_indices(len(dataset), batch_size, seed, step)]
        batch = {k: v.to(dev) for k, v in collate_tts(items).items()}
        torch.manual_seed(seed * 1_000_003 + step)  # this step's dropout
        for group in optimizer.param_groups:
            group["lr"] = _learning_rate(lr, step, warmup_steps)
        out = model(batch["tokens"], batch["token_lengths"], batch["durations"])
        terms = model.loss(out, batch["mels"], batch["mel_lengths"], batch["durations"], batch["token_lengths"])
        optimizer.zero_grad(set_to_none=True)
        terms["total"].backward()
        if grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        n_utterances += len(items)
        history.append({"step": step + 1, **{k: float(v.detach()) for k, v in terms.items()}})
        if (step + 1) % checkpoint_every == 0 or step + 1 == steps:
            checkpoint(step + 1)
        if bar is not None:
            rate = n_utterances / max(time.perf_counter() - began, 1e-9)
            h = history[-1]
            bar.update(step + 1, f"loss {h['total']:.3f} (mel {h['mel']:.3f}, dur {h['duration']:.3f}) "
                                 f"{rate:.1f} utt/s")
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - began
    if start >= steps and not path.is_file():
        checkpoint(start)
    return {"history": history, "step": max(start, steps), "resumed_from": start, "seconds": seconds,
            "utterances_per_second": n_utterances / seconds if n_utterances else 0.0}


def train_tts(corpus_dir, out_path, *, steps=2000, batch_size=16, lr=1e-3, seed=0, device="cpu",
              progress=True, resume=True, durations_dir=None, duration_source="aligner",
              model_options=None, settings=None, jobs=None, checkpoint_every=100, names=None):
    """Align a corpus and train a :class:`~align.fusion.tts_model.DurationTTS` on it.

    Parameters
    ----------
    corpus_dir : str or os.PathLike
        Audio files with same-name ``.txt`` transcripts.
    out_path : str or os.PathLike
        The checkpoint (``.pt``), written every ``checkpoint_every`` steps and at the end;
        an existing one is resumed (``resume=True``).
    steps, batch_size, lr, seed, device, progress, resume, checkpoint_every
        See :func:`fit_tts`.
    durations_dir : str or os.PathLike, optional
        The aligner's duration tables; when missing files there, the corpus is aligned
        into it (finished files are kept). Default: ``<out_path without suffix>.durations/``.
    duration_source : {"aligner", "uniform"}
        Train on the aligner's durations, or on uniform ones (the no-alignment baseline).
    model_options : dict, optional
        Keyword arguments of :class:`DurationTTS` (``d_model``, layers, ``dropout``...).
    settings : MelSettings, optional
        The log-mel settings (default :class:`MelSettings()`: 16 kHz, hop 256, 80 bins).
    jobs : int, optional
        Alignment worker processes.
    names : collection of str, optional
        Train on these utterances only (names relative to the corpus, no extension).

    Returns
    -------
    TrainedTTS
        ``info`` holds ``utterances_per_second``, ``seconds`` and ``n_utterances``.
    """
    if duration_source not in DURATION_SOURCES:
        raise ParameterError(f"duration_source must be one of {DURATION_SOURCES}, got {duration_source!r}")
    _check_schedule(steps, batch_size, lr, checkpoint_every)
    _device(device)
    settings = MelSettings() if settings is None else settings
    out_path = Path(out_path)
    if not out_path.parent.is_dir():
        raise ParameterError(f"cannot write {str(out_path)!r}: the folder {str(out_path.parent)!r} does not exist")
    if durations_dir is None:
        durations_dir = out_path.with_suffix(".durations")
    results = align_for_tts(corpus_dir, durations_dir, settings, jobs=jobs, progress=progress)
    failed = [r for r in results if r.status == "failed"]
    if failed and progress:
        print(f"{len(failed)} file(s) could not be aligned and are left out, e.g. {failed[0].item.audio}: "
              f"{failed[0].error}", file=sys.stderr)
    utterances, _ = load_utterances(corpus_dir, durations_dir, settings, names=names)
    vocabulary = PhoneVocabulary(p for u in utterances for p in u.phones)
    options = dict(model_options or {})
    options.setdefault("n_mels", settings.n_mels)
    torch.manual_seed(seed)
    model = DurationTTS(len(vocabulary), **options)
    model.set_mel_statistics(*mel_statistics(utterances))
    dataset = TTSDataset(utterances, vocabulary, duration_source=duration_source)
    extra = {"vocabulary": vocabulary.to_list(), "mel_settings": settings.to_dict(),
             "duration_source": duration_source}
    run = fit_tts(model, dataset, out_path, steps=steps, batch_size=batch_size, lr=lr, seed=seed, device=device,
                  progress=progress, resume=resume, checkpoint_every=checkpoint_every, extra_state=extra)
    info = {"duration_source": duration_source, "seed": seed, "n_utterances": len(utterances),
            "durations_dir": str(durations_dir), **{k: run[k] for k in ("seconds", "utterances_per_second",
                                                                         "resumed_from")}}
    return TrainedTTS(model.eval(), vocabulary, settings, run["step"], run["history"], info)


def load_tts(path, device="cpu"):
    """A trained model back from its checkpoint.

    Parameters
    ----------
    path : str or os.PathLike
        A checkpoint of :func:`train_tts`.
    device : str

    Returns
    -------
    TrainedTTS
        The model in eval mode.

    Raises
    ------
    ParameterError
        No file, not a fusealign TTS checkpoint, or one without a vocabulary.
    """
    dev = _device(device)
    payload = _read_checkpoint(path, dev)
    extra = payload.get("extra", {})
    if "vocabulary" not in extra or "mel_settings" not in extra:
        raise ParameterError(f"{str(path)!r} holds no vocabulary or mel settings (not made by train_tts)")
    model = DurationTTS(**payload["model_config"])
    model.load_state_dict(payload["model_state"])
    info = {k: v for k, v in extra.items() if k not in ("vocabulary", "mel_settings")}
    info["seed"] = payload.get("seed")
    return TrainedTTS(model.to(dev).eval(), PhoneVocabulary.from_list(extra["vocabulary"]),
                      MelSettings.from_dict(extra["mel_settings"]), int(payload["step"]),
                      list(payload["history"]), info)


def synthesize(model_or_path, text, out_wav=None, *, duration_scale=1.0, n_iter=32, device="cpu"):
    """Speak ``text``: the aligner's phones, predicted durations, log-mels, Griffin-Lim.

    Parameters
    ----------
    model_or_path : TrainedTTS or str or os.PathLike
        A trained model or its checkpoint.
    text : str
    out_wav : str or os.PathLike, optional
        Where to write a 16-bit wav (atomically); ``None`` writes nothing.
    duration_scale : float
        > 1 speaks slower.
    n_iter : int
        Griffin-Lim iterations.
    device : str

    Returns
    -------
    dict
        ``samples`` (n,) float32, ``sample_rate``, ``phones``, ``durations`` (N,) int64,
        ``mel`` (T, n_mels) float32, ``unknown_phones`` (phones the model never saw,
        read as ``<unk>``).
    """
    trained = model_or_path if isinstance(model_or_path, TrainedTTS) else load_tts(model_or_path, device)
    if not isinstance(text, str) or not text.strip():
        raise ParameterError("text must be a non-empty string")
    phones = text_to_phones(text)
    unknown = sorted({p for p in phones if p not in trained.vocabulary.index})
    ids = torch.from_numpy(trained.vocabulary.encode(phones, unknown="unk"))[None]
    model = trained.model
    out = model.infer(ids.to(model.mel_mean.device), torch.tensor([ids.shape[1]]), duration_scale=duration_scale)
    mel = out["mel"][0, : int(out["mel_lengths"][0])].cpu().numpy()
    samples = mel_to_audio(mel, trained.settings, n_iter=_positive_int("n_iter", n_iter))
    if out_wav is not None:
        _write_wav(out_wav, samples, trained.settings.sample_rate)
    return {"samples": samples, "sample_rate": trained.settings.sample_rate, "phones": phones,
            "durations": out["durations"][0].cpu().numpy(), "mel": mel, "unknown_phones": unknown}


def _write_wav(path, samples, sample_rate):
    import soundfile as sf

    from ..io._atomic import atomic_path

    peak = float(np.abs(samples).max()) if samples.size else 0.0
    scaled = samples * (0.9 / peak) if peak > 0.9 else samples
    with atomic_path(os.fspath(path)) as tmp:
        sf.write(tmp, scaled, sample_rate, subtype="PCM_16", format="WAV")
