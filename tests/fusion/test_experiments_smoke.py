"""Smoke runs of the fusion experiments in benchmarks/fusion/: they run, and the models learn.

One seed and a little data each (the real runs, with five seeds and intervals, are the
scripts themselves; their tables are in benchmarks/README.md). Only that learning happens
is asserted, never the published figures.
"""

import importlib.util
import sys
from pathlib import Path

from ..conftest import shared_data

EXPERIMENTS = Path(__file__).resolve().parents[2] / "benchmarks" / "fusion"


def _script(name):
    sys.path.insert(0, str(EXPERIMENTS))  # the scripts import their protocol module by name
    try:
        spec = importlib.util.spec_from_file_location(f"fusion_experiment_{name}", EXPERIMENTS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(EXPERIMENTS))


def test_binding_offset_smoke_intermediate_fusion_learns():
    results = _script("binding").smoke(shared_data("data/speech/cathy"))
    accuracy, first, last = results["intermediate (concat, layer 1)"]
    assert last < first
    assert accuracy > 0.7, results  # chance is 0.5
    # late fusion runs too; what it reaches is the experiment's business, not the smoke's
    assert 0.0 <= results["late (decision)"][0] <= 1.0


def test_av_digits_smoke_fusion_learns_in_noise():
    results = _script("av_digits").smoke(shared_data("data/speech/fsdd"))
    assert results["intermediate (concat, layer 1)"] > 0.3, results  # chance is 0.1
    assert all(0.0 <= accuracy <= 1.0 for accuracy in results.values())


def test_tts_cathy_smoke_trains_on_aligned_and_uniform_durations(tmp_path):
    results = _script("tts_cathy").smoke(shared_data("data/speech/cathy"), tmp_path)
    for source, result in results.items():
        assert result["train_mel_l1"] < 0.8 * result["first_train_mel_l1"], (source, result)
        assert 0.0 < result["mcd_tf"] < 50.0 and 0.0 < result["mcd_dtw"] < 50.0, (source, result)
        assert result["duration_error"] >= 0.0
