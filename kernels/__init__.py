"""Compute-only kernels of fusealign, installed as ``align.kernels``.

One algorithm per module; CPU (``@njit``) and CUDA (``@cuda.jit``) variants
side by side (``hmm.py`` / ``hmm_cuda.py``, ...). No validation, no I/O, no
torch: numpy arrays (or device arrays) in, preallocated arrays out. The public,
validating entry points live in :mod:`align`.

The signature rule, which ``tests/kernels/test_twin_signatures.py`` checks for
every CPU/CUDA pair: the inputs, then the outputs, under one name and in one
order on both backends; then what only one backend needs (the CUDA kernels'
scratch and shared-memory switch, the CPU's pruning band or workspace). The
one difference allowed among the inputs is the batch layout of the HMM batch
kernels: ragged stacks with offsets (``E`` (sum T, K), ``t_off``) on the CPU,
where no padding costs memory, and padded arrays with ``lengths`` on the GPU,
where one block reads one padded row. Soft-DTW's pairs have identical
signatures. Where a kernel took 15 or more arrays one by one, related arrays
travel as one tuple: the HMM batch kernels take ``states`` (``col, init,
final, s_off``), ``preds`` (the predecessor CSR and its offsets) and, for
forward-backward, ``succs``; the checkpointed DTW path takes its work arrays as
``scratch``. Numba compiles tuples of arrays on the CPU, and numba-cuda passes a
tuple kernel argument element by element, as if each array were an argument of
its own (``Dispatcher._prepare_args``, ``types.BaseTuple``); the sm_90 PTX test
compiles the HMM kernels with these tuple types, and the simulator runs them.
A kernel of 12-14 arguments keeps them positional.

Each per-cell rule is written once, as plain Python compiled for both targets:
``_steps.py`` (DTW steps and tie-break), ``_softdtw_steps.py``,
``_ctc_steps.py`` (the CTC cell and the live-band walk) and ``_hmm_steps.py``
(the Viterbi predecessor and end-state picks).
"""
