"""align.maximum_path against the brute force, monotonic_align (the peer) and its error contract."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import align
from align.exceptions import InfeasibleAlignmentError, ParameterError
from tests.reference.mas import all_monotone_paths, brute_force_best


def tokens_of(path_text_mel):
    """The token of each frame of a 0/1 (T_x, T_y) path, asserting one token per frame."""
    assert (path_text_mel.sum(axis=0) == 1).all()
    return tuple(int(k) for k in path_text_mel.argmax(axis=0))


def test_path_count_of_the_oracle():
    # C(ty - 1, tx - 1) monotone paths
    assert len(list(all_monotone_paths(3, 6))) == 10
    assert list(all_monotone_paths(1, 3)) == [(0, 0, 0)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_optimal_by_brute_force(rng, dtype):
    for _ in range(40):
        tx = int(rng.integers(1, 5))
        ty = int(rng.integers(tx, 8))
        v = rng.standard_normal((tx, ty)).astype(dtype)
        path = align.maximum_path(v[None])[0]
        best, winners = brute_force_best(v.astype(np.float64))
        toks = tokens_of(path)
        assert toks in winners
        assert path.dtype == dtype


def test_ties_keep_the_token_as_monotonic_align(rng):
    # all-equal scores: every path ties; walking back, a token keeps the frame
    # unless the previous one is strictly better, so the path advances as early as it can
    path = align.maximum_path(np.zeros((1, 3, 6), np.float32))[0]
    assert tokens_of(path) == (0, 1, 2, 2, 2, 2)


def test_layouts_agree_and_padding_is_zero(rng):
    v = rng.standard_normal((3, 7, 12)).astype(np.float32)
    tl, ml = np.array([7, 2, 5]), np.array([12, 2, 9])
    a = align.maximum_path(v, text_lengths=tl, mel_lengths=ml)
    b = align.maximum_path(np.ascontiguousarray(v.transpose(0, 2, 1)), text_lengths=tl,
                           mel_lengths=ml, layout="mel_text")
    np.testing.assert_array_equal(a, b.transpose(0, 2, 1))
    for i in range(3):
        assert a[i, tl[i]:].sum() == 0 and a[i, :, ml[i]:].sum() == 0
        # each item equals the same item alone, cut to its lengths
        alone = align.maximum_path(v[i:i + 1, :tl[i], :ml[i]].copy())[0]
        np.testing.assert_array_equal(a[i, :tl[i], :ml[i]], alone)


def test_mask_gives_the_lengths(rng):
    v = rng.standard_normal((2, 4, 9)).astype(np.float32)
    mask = np.zeros((2, 4, 9), np.float32)
    mask[0, :4, :9] = 1
    mask[1, :2, :5] = 1
    want = align.maximum_path(v, text_lengths=[4, 2], mel_lengths=[9, 5])
    np.testing.assert_array_equal(align.maximum_path(v, mask), want)
    np.testing.assert_array_equal(align.maximum_path(v, mask[:, None]), want)  # (B, 1, ., .)


def test_minus_inf_cells_are_avoided():
    v = np.zeros((1, 2, 4))
    v[0, 0, 1] = -np.inf  # token 0 may not take frame 1: token 1 must start there
    assert tokens_of(align.maximum_path(v)[0]) == (0, 1, 1, 1)
    v[0, 1, 1] = -np.inf  # now frame 1 has no token at all
    with pytest.raises(InfeasibleAlignmentError, match="item 0"):
        align.maximum_path(v)


def test_errors():
    v = np.zeros((2, 3, 5), np.float32)
    with pytest.raises(ParameterError, match="item 1 has 3 text tokens but only 2 mel frames"):
        align.maximum_path(v, mel_lengths=[5, 2])
    with pytest.raises(ParameterError, match="3 dimensions"):
        align.maximum_path(v[0])
    with pytest.raises(ParameterError, match="layout"):
        align.maximum_path(v, layout="mel")
    bad = v.copy()
    bad[1, 0, 0] = np.nan
    with pytest.raises(ParameterError, match=r"value\[1\] holds NaN or \+inf"):
        align.maximum_path(bad)
    bad[1, 0, 0] = np.inf
    with pytest.raises(ParameterError, match=r"value\[1\]"):
        align.maximum_path(bad)
    mask = np.ones((2, 3, 5))
    mask[0, 1, 1] = 0  # a hole: not a padding mask
    with pytest.raises(ParameterError, match=r"mask\[0\] is not a padding mask"):
        align.maximum_path(v, mask)
    with pytest.raises(ParameterError, match="only 0 and 1"):
        align.maximum_path(v, mask * 0.5)
    with pytest.raises(ParameterError, match="shape of value"):
        align.maximum_path(v, mask[:, :2])
    with pytest.raises(ParameterError, match="disagree"):
        align.maximum_path(v, np.ones((2, 3, 5)), text_lengths=[3, 2])
    with pytest.raises(ParameterError, match=r"mel_lengths\[0\] = 0"):
        align.maximum_path(v, mel_lengths=[0, 5])


def test_values_outside_the_lengths_are_never_read():
    v = np.zeros((1, 3, 5), np.float32)
    v[0, 2, :] = np.nan
    v[0, :, 4] = np.inf
    path = align.maximum_path(v, text_lengths=[2], mel_lengths=[4])
    assert tokens_of(path[0, :2, :4]) == (0, 1, 1, 1)


def test_the_input_is_not_modified(rng):
    v = rng.standard_normal((2, 3, 6)).astype(np.float32)
    keep = v.copy()
    align.maximum_path(v)
    align.maximum_path(v.transpose(0, 2, 1).copy(), layout="mel_text")
    np.testing.assert_array_equal(v, keep)


def test_torch_in_torch_out(rng):
    torch = pytest.importorskip("torch")
    v = rng.standard_normal((2, 3, 7)).astype(np.float32)
    for dtype in (torch.float32, torch.float64):
        t = torch.from_numpy(v).to(dtype)
        got = align.maximum_path(t)
        assert isinstance(got, torch.Tensor) and got.dtype == dtype and got.device == t.device
        np.testing.assert_array_equal(got.numpy(), align.maximum_path(v))
    # half precision, as mixed-precision training hands it over: bfloat16 has no numpy twin
    for dtype in (torch.float16, torch.bfloat16):
        t = torch.from_numpy(np.round(v, 1)).to(dtype)
        got = align.maximum_path(t)
        assert got.dtype == dtype
        want = align.maximum_path(t.float().numpy())
        np.testing.assert_array_equal(got.float().numpy(), want)


def test_the_output_keeps_the_dtype_of_the_input(rng):
    # float16 and long double are written as the float they widen to, then cast: Numba
    # compiles neither; integers and bools are written as they are
    v = rng.standard_normal((2, 4, 9))
    want = align.maximum_path(v)
    for dtype in (np.float16, np.longdouble, np.float32, np.int16, np.uint8, np.int64):
        x = np.round(v * 3).astype(dtype) if np.dtype(dtype).kind in "iu" else v.astype(dtype)
        got = align.maximum_path(x)
        assert got.dtype == dtype
        ref = align.maximum_path(x.astype(np.float64))
        np.testing.assert_array_equal(got, ref.astype(dtype))
    assert align.maximum_path(v > 0).dtype == np.bool_
    assert set(np.unique(want)) == {0.0, 1.0}


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(0, 6), st.integers(0, 2**31 - 1), st.booleans())
def test_properties(tx, extra, seed, integers):
    ty = tx + extra
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((1, tx, ty))
    if integers:  # many ties
        v = np.round(v)
    p = align.maximum_path(v)[0]
    toks = tokens_of(p)  # one token per frame
    assert toks[0] == 0 and toks[-1] == tx - 1
    assert all(b - a in (0, 1) for a, b in zip(toks, toks[1:]))  # monotone, no skip
    assert set(toks) == set(range(tx))  # every token used
    best, winners = brute_force_best(v[0])
    assert toks in winners


# ---------------------------------------------------------------- the peer


def test_bit_identical_to_monotonic_align(rng):
    torch = pytest.importorskip("torch")
    monotonic_align = pytest.importorskip("monotonic_align")
    for trial in range(30):
        B, tx_max = 4, int(rng.integers(1, 16))
        ty_max = int(rng.integers(tx_max, 50))
        # VITS's layout: (B, T_mel, T_text); half the trials in integers (ties)
        v = rng.standard_normal((B, ty_max, tx_max)).astype(np.float32)
        if trial % 2:
            v = np.round(v * 2)
        tl = rng.integers(1, tx_max + 1, B)
        ml = np.array([rng.integers(t, ty_max + 1) for t in tl])
        mask = np.zeros_like(v)
        for b in range(B):
            mask[b, :ml[b], :tl[b]] = 1
        want = monotonic_align.maximum_path(torch.from_numpy(v), torch.from_numpy(mask))
        got = align.maximum_path(torch.from_numpy(v), torch.from_numpy(mask), layout="mel_text")
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        # Glow-TTS's layout is the transpose
        got_t = align.maximum_path(v.transpose(0, 2, 1).copy(), text_lengths=tl, mel_lengths=ml)
        np.testing.assert_array_equal(got_t.transpose(0, 2, 1), want.numpy())


def test_text_major_equals_the_frame_major_sweep(rng):
    # no peer needed: the Glow-TTS layout (float32: groups of 1-4 strips of 8 tokens in registers, side
    # by side; float64: transposed in 4 x 4 blocks, then swept) against the VITS
    # layout's sweep straight from the input, across block and strip-group edges, with ties and -inf cells, in both dtypes
    for trial in range(60):
        tx = int(rng.choice([1, 2, 7, 8, 9, 15, 16, 17, 18, 31, 32, 33, 47, 57, 65, 97, 130, 250]))
        ty = tx + int(rng.choice([0, 1, 2, 15, 16, 17, 40]))
        dtype = np.float32 if trial % 2 else np.float64
        v = rng.standard_normal((2, tx, ty)).astype(dtype)
        if trial % 3 == 0:
            v = np.round(v)
        if trial % 5 == 0:
            v[rng.random(v.shape) < 0.03] = -np.inf
        tm = align.maximum_path(v, errors="ignore")
        mt = align.maximum_path(np.ascontiguousarray(v.transpose(0, 2, 1)), layout="mel_text",
                                errors="ignore")
        np.testing.assert_array_equal(tm, mt.transpose(0, 2, 1), err_msg=f"{tx} x {ty}")


@pytest.mark.parametrize("tx", [1, 15, 16, 17, 33, 50])
def test_text_major_bit_identical_to_monotonic_align(rng, tx):
    # Glow-TTS's layout is swept in strips of 8 tokens, 8 frames a block (kernels/mas.py): sizes
    # across block edges, mels from the text's length (one path) up, ties included
    torch = pytest.importorskip("torch")
    monotonic_align = pytest.importorskip("monotonic_align")
    for ty in (tx, tx + 1, tx + 5, tx + 20, 3 * tx + 7):
        for ties in (False, True):
            v = rng.standard_normal((2, ty, tx)).astype(np.float32)
            if ties:
                v = np.round(v)
            want = monotonic_align.maximum_path(torch.from_numpy(v), torch.ones(2, ty, tx)).numpy()
            got = align.maximum_path(np.ascontiguousarray(v.transpose(0, 2, 1)))
            np.testing.assert_array_equal(got.transpose(0, 2, 1), want, err_msg=f"{tx} x {ty}")


def test_the_peer_is_silently_wrong_where_we_raise():
    # the report: 12 tokens, 5 frames. The peer returns a path; we refuse.
    torch = pytest.importorskip("torch")
    monotonic_align = pytest.importorskip("monotonic_align")
    v = torch.zeros(1, 5, 12)
    peer = monotonic_align.maximum_path(v, torch.ones(1, 5, 12))
    assert peer.sum() == 5  # some path came back, no error
    with pytest.raises(ParameterError, match="12 text tokens but only 5 mel frames"):
        align.maximum_path(v, layout="mel_text")


def test_errors_ignore_gives_items_without_a_path_a_zero_path(rng):
    v = rng.standard_normal((3, 4, 6)).astype(np.float32)
    v[1, :, 1] = -np.inf  # item 1: frame 1 has no token -> no finite path
    lengths = dict(text_lengths=[4, 4, 4], mel_lengths=[6, 6, 3])  # item 2: text longer than mel
    with pytest.raises(ParameterError, match="item 2 has 4 text tokens"):
        align.maximum_path(v, **lengths)
    with pytest.raises(align.InfeasibleAlignmentError, match="item 1"):
        align.maximum_path(v, text_lengths=[4, 4, 4])
    path = align.maximum_path(v, errors="ignore", **lengths)
    assert path[1].sum() == 0 and path[2].sum() == 0
    np.testing.assert_array_equal(path[0], align.maximum_path(v[:1])[0])
    bad = v.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ParameterError, match="NaN"):
        align.maximum_path(bad, errors="ignore", **lengths)
    with pytest.raises(ParameterError, match="errors"):
        align.maximum_path(v, errors="skip")
