"""The common protocol of the fusion experiments (after MultiBench, Liang et al. 2021).

Every variant of an experiment is trained the same way:

- the same optimiser (AdamW, lr 2e-3, weight decay 1e-2), batch size, number of steps;
- early stopping on a validation split: the checkpoint with the best validation
  accuracy (checked every ``eval_every`` steps) is the one tested;
- parameters matched within 10%: :func:`matched_d_model` picks each variant's width so
  its parameter count is nearest a common target (and says when it cannot get within 10%);
- at least five seeds; a seed fixes the model's initialisation, the batches and dropout
  (the data split is fixed per experiment);
- the figure is the test accuracy's mean and its 95% interval (Student's t over seeds);
  a difference between two variants is given as the mean of the per-seed differences
  (paired: same seed, same batches) with its 95% interval.

Run from the repository root; each experiment script prints a Markdown table.
"""

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats

from align.fusion import FusionClassifier, count_parameters


@dataclass
class Split:
    """One split of a data set: ``features``/``lengths`` dicts of tensors, ``labels`` (N,)."""

    features: dict
    lengths: dict
    labels: torch.Tensor

    def __len__(self):
        return len(self.labels)

    def take(self, index, modalities=None):
        """Items ``index`` of the modalities given (default all): (features, lengths, labels)."""
        names = modalities or list(self.features)
        return ({m: self.features[m][index] for m in names}, {m: self.lengths[m][index] for m in names},
                self.labels[index])


@dataclass
class Settings:
    steps: int = 600
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-2
    eval_every: int = 50
    n_layers: int = 2
    n_heads: int = 2
    dropout: float = 0.1


def build(inputs, n_classes, variant, d_model, settings):
    """A FusionClassifier for ``variant`` (a dict of its options) at width ``d_model``.

    A variant with ``"only": [names]`` sees only those modalities (a unimodal baseline).
    """
    options = dict(variant)
    only = options.pop("only", None)
    if only:
        inputs = {m: inputs[m] for m in only}
    return FusionClassifier(inputs, n_classes, d_model=d_model, n_layers=settings.n_layers,
                            n_heads=settings.n_heads, dropout=settings.dropout, **options)


def matched_d_model(inputs, n_classes, variant, target, settings, widths=range(8, 129, 2)):
    """The width (a multiple of ``n_heads``) whose parameter count is nearest ``target``.

    Returns ``(d_model, n_params, within_10_percent)``.
    """
    best = None
    for d in widths:
        if d % settings.n_heads:
            continue
        n = count_parameters(build(inputs, n_classes, variant, d, settings))
        if best is None or abs(n - target) < abs(best[1] - target):
            best = (d, n)
    return best[0], best[1], abs(best[1] - target) <= 0.1 * target


@torch.no_grad()
def accuracy(model, split, batch_size=256):
    model.eval()
    correct = 0
    for start in range(0, len(split), batch_size):
        index = torch.arange(start, min(start + batch_size, len(split)))
        features, lengths, labels = split.take(index, model.modalities)
        correct += int((model(features, lengths).argmax(1) == labels).sum())
    return correct / len(split)


def train(model, train_split, valid_split, settings, seed):
    """Train with the common settings; returns (model at its best validation step, log dict)."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    optimiser = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    best_state, best_valid, best_step = None, -1.0, 0
    losses = []
    start = time.perf_counter()
    for step in range(1, settings.steps + 1):
        model.train()
        index = torch.randint(len(train_split), (settings.batch_size,), generator=generator)
        features, lengths, labels = train_split.take(index, model.modalities)
        loss = model.loss(features, lengths, labels)["total"]
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
        if step % settings.eval_every == 0 or step == settings.steps:
            valid = accuracy(model, valid_split)
            if valid > best_valid:
                best_valid, best_step = valid, step
                best_state = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    return model, {"best_valid": best_valid, "best_step": best_step, "first_loss": np.mean(losses[:10]),
                   "last_loss": np.mean(losses[-10:]), "seconds": time.perf_counter() - start}


def interval(values):
    """Mean and half-width of the 95% Student-t interval of ``values``."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return float(values.mean()), math.nan
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    return float(values.mean()), float(half)


def run_variants(variants, inputs, n_classes, splits, settings, seeds, target_params, *, log=print):
    """Train every variant for every seed; returns ``{name: dict(acc=[...], params=, d_model=)}``.

    ``variants`` maps a name to the FusionClassifier options of that variant (plus
    ``"only"``, see :func:`build`).
    """
    train_split, valid_split, test_split = splits
    results = {}
    for name, variant in variants.items():
        d_model, n_params, ok = matched_d_model(inputs, n_classes, variant, target_params, settings)
        accs, seconds = [], []
        for seed in seeds:
            torch.manual_seed(seed)
            model = build(inputs, n_classes, variant, d_model, settings)
            model, info = train(model, train_split, valid_split, settings, seed)
            accs.append(accuracy(model, test_split))
            seconds.append(info["seconds"])
        results[name] = {"acc": accs, "params": n_params, "d_model": d_model, "matched": ok,
                         "seconds": float(np.mean(seconds))}
        mean, half = interval(accs)
        log(f"  {name:28s} d={d_model:3d} params={n_params:7d}{'' if ok else ' (NOT within 10%)'} "
            f"acc={mean:.3f} ± {half:.3f}  ({np.mean(seconds):.1f} s/run)")
    return results


def table(results, *, reference=None):
    """Markdown rows: variant, parameters, test accuracy mean ± 95%, and (paired) the difference
    from ``reference`` with its interval."""
    lines = ["| variant | d_model | parameters | test accuracy (mean ± 95%) |"
             + (f" minus {reference} (paired, 95%) |" if reference else ""),
             "|---|---:|---:|---:|" + ("---:|" if reference else "")]
    for name, r in results.items():
        mean, half = interval(r["acc"])
        row = f"| {name} | {r['d_model']} | {r['params']:,}{'' if r['matched'] else ' (unmatched)'} | " \
              f"{mean:.3f} ± {half:.3f} |"
        if reference:
            diff, dhalf = interval(np.subtract(r["acc"], results[reference]["acc"]))
            row += f" {diff:+.3f} ± {dhalf:.3f} |"
        lines.append(row)
    return "\n".join(lines)
