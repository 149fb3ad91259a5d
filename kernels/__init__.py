"""Compute-only kernels of fusealign, installed as ``align.kernels``.

One algorithm per module; CPU (``@njit``) and CUDA (``@cuda.jit``) variants
side by side with the same signature. No validation, no I/O, no torch: numpy
arrays (or device arrays) in, preallocated arrays out. The public, validating
entry points live in :mod:`align`.
"""
