"""Transpose a square block of a matrix in registers (8 x 8 float32, 4 x 4 float64).

A transposing copy written as plain loops makes Numba gather one element at a
time (for B = 32 items of 200 x 1,000 float32 it cost more than the search
it fed). This intrinsic loads the block's rows as vectors, transposes them
with LLVM ``shufflevector`` (the unpack / shuffle / lane-permute sequence
every x86 and ARM compiler lowers to a few instructions each) and stores the
columns as vectors.

:func:`transpose_block` works on flat (1-D view, contiguous) arrays with
offsets and row strides in elements; :data:`BLOCK` gives the block's size
for a dtype. Used by :mod:`align.kernels.mas` to sweep the Glow-TTS layout.
"""

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

__all__ = ["transpose_block", "block_size"]


def block_size(itemsize):
    """Rows (and columns) of the block :func:`transpose_block` moves for this item size."""
    return 32 // itemsize


def _shuffle(builder, a, c, mask):
    return builder.shuffle_vector(a, c, ir.Constant(ir.VectorType(ir.IntType(32), len(mask)), mask))


def _transpose8(builder, rows):
    """Eight <8 x float> rows -> eight columns (the AVX unpack, shuffle, permute sequence)."""
    lo = [0, 8, 1, 9, 4, 12, 5, 13]
    hi = [2, 10, 3, 11, 6, 14, 7, 15]
    t = []
    for i in range(0, 8, 2):
        t += [_shuffle(builder, rows[i], rows[i + 1], lo), _shuffle(builder, rows[i], rows[i + 1], hi)]
    pair_lo = [0, 1, 8, 9, 4, 5, 12, 13]
    pair_hi = [2, 3, 10, 11, 6, 7, 14, 15]
    u = []
    for i in (0, 4):  # (t0, t2), (t1, t3) then (t4, t6), (t5, t7)
        u += [_shuffle(builder, t[i], t[i + 2], pair_lo), _shuffle(builder, t[i], t[i + 2], pair_hi),
              _shuffle(builder, t[i + 1], t[i + 3], pair_lo), _shuffle(builder, t[i + 1], t[i + 3], pair_hi)]
    half_lo = [0, 1, 2, 3, 8, 9, 10, 11]
    half_hi = [4, 5, 6, 7, 12, 13, 14, 15]
    cols = [None] * 8
    for k in range(4):
        cols[k] = _shuffle(builder, u[k], u[k + 4], half_lo)
        cols[k + 4] = _shuffle(builder, u[k], u[k + 4], half_hi)
    return cols


def _transpose4(builder, rows):
    """Four <4 x double> rows -> four columns."""
    t0 = _shuffle(builder, rows[0], rows[1], [0, 4, 2, 6])
    t1 = _shuffle(builder, rows[0], rows[1], [1, 5, 3, 7])
    t2 = _shuffle(builder, rows[2], rows[3], [0, 4, 2, 6])
    t3 = _shuffle(builder, rows[2], rows[3], [1, 5, 3, 7])
    return [_shuffle(builder, t0, t2, [0, 1, 4, 5]), _shuffle(builder, t1, t3, [0, 1, 4, 5]),
            _shuffle(builder, t0, t2, [2, 3, 6, 7]), _shuffle(builder, t1, t3, [2, 3, 6, 7])]


@intrinsic
def transpose_block(typingctx, src, src_offset, src_stride, dst, dst_offset, dst_stride):
    """``dst[dst_offset + j * dst_stride + i] = src[src_offset + i * src_stride + j]`` for a block.

    The block is 8 x 8 for float32 arrays and 4 x 4 for float64 ones (both
    arrays of one dtype, contiguous; offsets and strides in elements, no
    bounds check: the caller keeps the block inside both arrays).
    """
    if not (isinstance(src, types.Array) and isinstance(dst, types.Array) and src.dtype == dst.dtype
            and src.dtype in (types.float32, types.float64)):
        return None
    sig = types.void(src, types.intp, types.intp, dst, types.intp, types.intp)
    n = 8 if src.dtype == types.float32 else 4
    scalar = ir.FloatType() if n == 8 else ir.DoubleType()
    vec = ir.VectorType(scalar, n)
    size = 32 // n  # the element's size: loads and stores are aligned to it, no more

    def codegen(context, builder, signature, args):
        s = context.make_array(signature.args[0])(context, builder, args[0])
        d = context.make_array(signature.args[3])(context, builder, args[3])
        rows = []
        for i in range(n):
            at = builder.add(args[1], builder.mul(args[2], ir.Constant(args[2].type, i)))
            p = builder.bitcast(builder.gep(s.data, [at]), vec.as_pointer())
            rows.append(builder.load(p, align=size))
        cols = _transpose8(builder, rows) if n == 8 else _transpose4(builder, rows)
        for j in range(n):
            at = builder.add(args[4], builder.mul(args[5], ir.Constant(args[5].type, j)))
            p = builder.bitcast(builder.gep(d.data, [at]), vec.as_pointer())
            builder.store(cols[j], p, align=size)

    return sig, codegen
