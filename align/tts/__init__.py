"""TTS training data from alignments: durations, monotonic alignment search, alignment
losses (issue 10). Host code only; kernels in ``kernels/``."""
