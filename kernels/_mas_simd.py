"""One block of the text-major MAS sweep in vector registers (float32, 8 frames of up to 4 strips of 8 tokens).

The Glow-TTS layout stores a token's frames contiguously, but the recurrence's
independent cells are the tokens of one frame. This intrinsic takes a group of
``n`` strips (tokens ``[x0, x0 + 8 n)``) through 8 frames: it loads each
strip's 8 x 8 block of values (8 runs along the tokens' rows), transposes it
in registers (:mod:`align.kernels._transpose`'s shuffles), then for each frame
computes every strip's 8 scores at once::

    new[k] = v[x0 + k, y] + max(prev[k], prev[k - 1])    (prev[-1]: token x0 - 1)

The shift of ``prev`` by one token is one shuffle of two registers: a strip's
lowest token takes the score of the top token of the strip below it at the
previous frame, so within a frame the strips are independent and across
frames no score goes through memory (the group's lowest strip reads token
``x0 - 1`` from the frame-major score buffer, which the group below filled
before). Each frame's scores are stored into that buffer ``Q`` (the walk back
reads them there) and carried in registers to the next frame. Cells left of
the diagonal (frame < token) are set to ``-inf`` in the group's first blocks,
so that a diagonal cell reads only its advance.

Against strips of 8 swept one at a time (each strip's block its own call, a
wavefront of 4 strips, the lowest token's neighbour read back from ``Q``):
B = 32, 200 x 1,000 float32, two threads, interleaved in one process, 1.25-1.6
against 1.6-1.95 ms best; one item in the cache, one thread, 44 against 65 us
(the machine's fast state) and 59 against 89 us (its slow one). Groups of 2 or
3 strips measured slower than 4, and 5 or 6 no faster. Software prefetch of the rows ahead
instead of the check pass that reads them first: slower (1.85 against 1.36 ms).

Numba has no vector type, so the block is one intrinsic; the strips' last
scores go in and out through an n x 8 float array.
"""

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from ._transpose import _transpose8

__all__ = ["GROUP_BLOCKS", "STRIPS"]

#: strips of 8 tokens a group: 4 measured faster than 2 or 3, and 5 or 6 no faster
STRIPS = 4

_F = ir.FloatType()
_V = ir.VectorType(_F, 8)
_I32 = ir.IntType(32)


def _shuffle(builder, a, b, mask):
    return builder.shuffle_vector(a, b, ir.Constant(ir.VectorType(_I32, len(mask)), mask))


def _splat(builder, value):
    """An <8 x i32> of ``value``."""
    one = builder.insert_element(ir.Constant(ir.VectorType(_I32, 8), ir.Undefined), value, ir.Constant(_I32, 0))
    return _shuffle(builder, one, one, [0] * 8)


def _make(n_strips, edge):
    """The block intrinsic for ``n_strips`` strips; ``edge``: with the diagonal's mask."""

    @intrinsic
    def group_block(typingctx, v, v_offset, v_stride, Q, q_offset, q_stride, prev, has_left, d):
        sig = types.void(v, types.intp, types.intp, Q, types.intp, types.intp, prev, types.boolean, types.intp)
        if v.dtype != types.float32:
            # typed for every float so that a caller may branch on the item size at run time;
            # only float32 is ever called (align.kernels.mas checks), anything else does nothing
            return sig, lambda context, builder, signature, args: None

        def codegen(context, builder, signature, args):
            va = context.make_array(signature.args[0])(context, builder, args[0])
            qa = context.make_array(signature.args[3])(context, builder, args[3])
            pa = context.make_array(signature.args[6])(context, builder, args[6])
            v_off, v_stride, q_off, q_stride, d = args[1], args[2], args[4], args[5], args[8]
            has_left = args[7]
            if has_left.type != ir.IntType(1):
                has_left = builder.trunc(has_left, ir.IntType(1))
            ity = v_off.type

            def const(n):
                return ir.Constant(ity, n)

            cols, p, prev_ptrs = [], [], []
            for k in range(n_strips):
                rows = []
                for i in range(8):
                    at = builder.add(v_off, builder.mul(v_stride, const(8 * k + i)))
                    rows.append(builder.load(builder.bitcast(builder.gep(va.data, [at]), _V.as_pointer()), align=4))
                cols.append(_transpose8(builder, rows))  # cols[k][j]: strip k's 8 tokens at frame y0 + j
                prev_ptrs.append(builder.bitcast(builder.gep(pa.data, [const(8 * k)]), _V.as_pointer()))
                p.append(builder.load(prev_ptrs[k], align=4))
            minus_inf = ir.Constant(_F, float("-inf"))
            all_minus_inf = ir.Constant(_V, [float("-inf")] * 8)
            lanes = ir.Constant(ir.VectorType(_I32, 8), list(range(8)))
            d32 = builder.trunc(d, _I32)
            for j in range(8):
                row_at = builder.add(q_off, builder.mul(q_stride, const(j)))
                # token x0 - 1 at frame y0 + j - 1, from the group below (not read without one)
                left_at = builder.select(has_left, builder.sub(builder.sub(row_at, q_stride), const(1)), row_at)
                left = builder.select(has_left, builder.load(builder.gep(qa.data, [left_at]), align=4), minus_inf)
                with_left = builder.insert_element(ir.Constant(_V, ir.Undefined), left, ir.Constant(_I32, 0))
                new = []
                for k in range(n_strips):
                    # prev[k - 1]: the strip's own scores one token down, its lowest from the strip below
                    below = with_left if k == 0 else p[k - 1]
                    advance = _shuffle(builder, p[k], below, [15 if k else 8, 0, 1, 2, 3, 4, 5, 6])
                    best = builder.select(builder.fcmp_ordered(">", advance, p[k]), advance, p[k])  # max(advance, stay)
                    q = builder.fadd(cols[k][j], best)
                    if edge:  # token x0 + 8 k + lane is dead before frame y0 + j: lane > d + j - 8 k
                        threshold = _splat(builder, builder.add(d32, ir.Constant(_I32, j - 8 * k)))
                        q = builder.select(builder.icmp_signed(">", lanes, threshold), all_minus_inf, q)
                    at = builder.add(row_at, const(8 * k))
                    builder.store(q, builder.bitcast(builder.gep(qa.data, [at]), _V.as_pointer()), align=4)
                    new.append(q)
                p = new
            for k in range(n_strips):
                builder.store(p[k], prev_ptrs[k], align=4)

        return sig, codegen

    return group_block


#: ``GROUP_BLOCKS[n][edge](v, v_offset, v_stride, Q, q_offset, q_stride, prev, has_left, d)``:
#: tokens ``[x0, x0 + 8 n)`` (``n`` strips, 1 to :data:`STRIPS`) through frames ``[y0, y0 + 8)``.
#:
#: - ``v``: the item's values, token ``x0 + i`` at frame ``y0 + j`` is
#:   ``v[v_offset + i * v_stride + j]`` (1-D float32, offsets and strides in elements);
#: - ``Q``: the frame-major scores, cell ``(x0 + i, y0 + j)`` is ``Q[q_offset + j * q_stride + i]``;
#:   with ``has_left`` the cells of token ``x0 - 1`` at frames ``y0 - 1`` to ``y0 + 6`` must
#:   hold their scores, without it token ``x0 - 1`` reads as -inf (``x0 == 0``);
#: - ``prev`` (n x 8 float32, contiguous): in, the strips' scores at frame ``y0 - 1``; out, at ``y0 + 7``;
#: - ``d = y0 - x0`` (>= 0): with ``edge`` (needed while ``d < 8 n``), the cells before the
#:   diagonal (token after frame) are set to -inf.
GROUP_BLOCKS = {n: (_make(n, False), _make(n, True)) for n in range(1, STRIPS + 1)}
