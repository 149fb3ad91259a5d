"""Monotonic alignment search by brute force: every monotone path of a tiny matrix."""

import itertools

import numpy as np


def all_monotone_paths(tx, ty):
    """Every assignment of ty frames to tx tokens in order, each token at least one frame.

    Yields the token of each frame, as a tuple of length ty.
    """
    # choose the tx - 1 frames (out of 1..ty-1) where the next token starts
    for cuts in itertools.combinations(range(1, ty), tx - 1):
        tokens = []
        bounds = (0, *cuts, ty)
        for k in range(tx):
            tokens += [k] * (bounds[k + 1] - bounds[k])
        yield tuple(tokens)


def brute_force_best(value_text_mel):
    """The best score over every monotone path of a (T_x, T_y) matrix, and every path reaching it."""
    tx, ty = value_text_mel.shape
    best, winners = -np.inf, []
    for tokens in all_monotone_paths(tx, ty):
        s = float(sum(value_text_mel[k, y] for y, k in enumerate(tokens)))
        if s > best:
            best, winners = s, [tokens]
        elif s == best:
            winners.append(tokens)
    return best, winners
