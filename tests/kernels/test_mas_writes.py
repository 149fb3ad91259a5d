"""The MAS kernel writes every output element once (streamed stores) and checks the whole block.

``kernels/mas.py`` writes each item's output block in one ordered pass, the
32-byte-aligned middle with non-temporal stores and the head and tail with
plain ones (``kernels/_stream.py``). These tests put the output at every byte
offset, in every dtype size, over junk, and compare it with a path marked by
plain numpy from the kernel's own scores' walk (the brute-force oracle of
tests/reference/mas.py on the smallest items).
"""

import numpy as np
import pytest
from numba import njit

from align.kernels._stream import address_of
from align.kernels.mas import maximum_path_batch
from tests.reference.mas import brute_force_best


@njit
def _address(a):
    return address_of(a)


def _run(value, tl, ml, text_major, out):
    score = np.empty(len(tl))
    work = np.empty((2, int((tl * ml).max())), value.dtype)
    maximum_path_batch(value, tl, ml, text_major, out, score, work)
    return score


def _misaligned(shape, dtype, offset_bytes):
    """A C-contiguous array of ``shape`` whose data starts ``offset_bytes`` past a 64-byte boundary."""
    itemsize = np.dtype(dtype).itemsize
    n = int(np.prod(shape))
    raw = np.full(n * itemsize + 128, 0x5A, np.uint8)  # junk the kernel must overwrite
    start = (-raw.ctypes.data) % 64 + offset_bytes
    return raw[start:start + n * itemsize].view(dtype).reshape(shape)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32, np.float64, np.int64])
@pytest.mark.parametrize("text_major", [True, False])
@pytest.mark.parametrize("value_dtype", [np.float32, np.float64])
def test_every_element_is_written_at_any_alignment(rng, dtype, text_major, value_dtype):
    B, T_text, T_mel = 5, 9, 23
    tl = np.array([9, 2, 3, 9, 1])
    ml = np.array([23, 6, 8, 17, 1])
    value = rng.standard_normal((B, T_text, T_mel)).astype(value_dtype)
    if not text_major:
        value = np.ascontiguousarray(value.transpose(0, 2, 1))
    want = np.zeros(value.shape, dtype)
    for b in range(B):
        item = value[b, :tl[b], :ml[b]] if text_major else value[b, :ml[b], :tl[b]].T
        if tl[b] <= 3:  # small enough for the oracle: every monotone path enumerated
            _, (tokens,) = brute_force_best(item.astype(np.float64))  # random values: one winner
            for y, x in enumerate(tokens):
                if text_major:
                    want[b, x, y] = 1
                else:
                    want[b, y, x] = 1
    # every byte offset: those that are not a multiple of the item size cannot reach 32-byte
    # alignment, so the kernel must write all of them with plain stores
    outs = []
    for offset in range(32):
        out = _misaligned(value.shape, dtype, offset)
        assert _address(out) == out.ctypes.data and _address(out) % 32 == offset
        _run(value, tl, ml, text_major, out)
        outs.append(out.copy())
    for out in outs[1:]:
        np.testing.assert_array_equal(out, outs[0])
    out = outs[0]
    assert set(np.unique(out)) <= {0, 1}
    for b in range(B):
        block = out[b, :tl[b], :ml[b]] if text_major else out[b, :ml[b], :tl[b]].T
        assert block.sum() == ml[b] and (block.sum(axis=0) == 1).all()  # one token per frame
        assert out[b].sum() == ml[b]  # padding all zero
        if tl[b] <= 3:
            np.testing.assert_array_equal(out[b], want[b])


@pytest.mark.parametrize("text_major", [True, False])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_bad_value_in_a_cell_no_path_reaches_still_counts(text_major, bad):
    # (token 0, last frame) and (last token, frame 0) lie inside the text x mel block but on no path
    for x, y in [(0, 7), (2, 0)]:
        value = np.zeros((1, 3, 8), np.float32)
        value[0, x, y] = bad
        if not text_major:
            value = np.ascontiguousarray(value.transpose(0, 2, 1))
        out = np.full(value.shape, 9, np.float32)
        score = _run(value, np.array([3]), np.array([8]), text_major, out)
        assert np.isnan(score[0]) and not out.any()


@pytest.mark.parametrize("where", ["in a vector chunk", "below the band", "in the tail", "past the band"])
def test_a_bad_value_anywhere_in_a_vits_row_counts(where):
    tx, ty = 19, 40  # 19 tokens: two 8-wide chunks and a tail of 3 in the rows past the diagonal
    x, y = {"in a vector chunk": (5, 30), "below the band": (0, 39), "in the tail": (17, 30),
            "past the band": (18, 2)}[where]
    for value_dtype in (np.float32, np.float64):
        for bad in (np.nan, np.inf):
            value = np.zeros((1, ty, tx), value_dtype)
            value[0, y, x] = bad
            out = np.full(value.shape, 9, np.float32)
            score = _run(value, np.array([tx]), np.array([ty]), False, out)
            assert np.isnan(score[0]) and not out.any()
