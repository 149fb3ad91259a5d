"""The in-register block transpose (kernels/_transpose.py) against numpy's ``.T``."""

import numpy as np
import pytest
from numba import njit

from align.kernels._transpose import block_size, transpose_block
from align.kernels.mas import transpose_into


@njit
def _blocks(a, out, n):
    rows, cols = a.shape
    flat_a = a.reshape(rows * cols)
    flat_out = out.reshape(rows * cols)
    for i in range(0, rows - n + 1, n):
        for j in range(0, cols - n + 1, n):
            transpose_block(flat_a, i * cols + j, cols, flat_out, j * rows + i, rows)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blocks_transpose_as_numpy(rng, dtype):
    n = block_size(np.dtype(dtype).itemsize)
    assert n == (8 if dtype == np.float32 else 4)
    a = rng.standard_normal((3 * n, 5 * n)).astype(dtype)
    out = np.full((5 * n, 3 * n), np.nan, dtype)
    _blocks(a, out, n)
    np.testing.assert_array_equal(out, a.T)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_an_item_transposes_with_ragged_edges_and_padding(rng, dtype):
    # tx, ty across the block size; v is padded beyond them, and only [:tx, :ty] may be read
    for tx, ty in [(1, 1), (3, 5), (8, 8), (9, 17), (16, 40), (13, 13), (7, 64)]:
        v = rng.standard_normal((tx + 3, ty + 5)).astype(dtype)
        v[tx:] = np.nan
        v[:, ty:] = np.nan
        Q = np.empty((ty, tx), dtype)
        transpose_into(v, Q, tx, ty)
        np.testing.assert_array_equal(Q, v[:tx, :ty].T, err_msg=f"{tx} x {ty}")
