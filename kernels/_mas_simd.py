"""One block of the text-major MAS sweep in vector registers (float32, 8 tokens x 8 frames).

The Glow-TTS layout stores a token's frames contiguously, but the recurrence's
independent cells are the tokens of one frame. This intrinsic takes a strip of
8 tokens through 8 frames: it loads the 8 x 8 block of values (8 runs along
the tokens' rows), transposes it in registers (:mod:`align.kernels._transpose`'s
shuffles), then for each frame computes the strip's 8 scores at once::

    new[k] = v[x0 + k, y] + max(prev[k], prev[k - 1])    (prev[-1]: token x0 - 1)

where the shift of ``prev`` by one lane is a shuffle that brings in the score of
token ``x0 - 1`` at frame ``y - 1`` (read from the frame-major score buffer,
which the strip below filled earlier). Each frame's scores are stored into the
frame-major buffer ``Q`` (the walk back reads them there) and carried in a
register to the next frame. Cells left of the diagonal (frame < token) are
set to ``-inf`` where a block crosses it, so that the diagonal cell reads
only its advance.

Numba has no vector type, so the block is one intrinsic; the strip's last
scores go in and out through an 8-float array.
"""

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from ._transpose import _transpose8

__all__ = ["strip_block8", "strip_block8_diagonal"]

_F = ir.FloatType()
_V = ir.VectorType(_F, 8)
_I32 = ir.IntType(32)


def _shuffle(builder, a, b, mask):
    return builder.shuffle_vector(a, b, ir.Constant(ir.VectorType(_I32, len(mask)), mask))


def _make(on_diagonal):
    """The block intrinsic; ``on_diagonal`` builds the one for a strip's first block (y0 == x0)."""

    @intrinsic
    def strip_block(typingctx, v, v_offset, v_stride, Q, q_offset, q_stride, prev, has_left):
        sig = types.void(v, types.intp, types.intp, Q, types.intp, types.intp, prev, types.boolean)
        if v.dtype != types.float32:
            # typed for every float so that a caller may branch on the item size at run time;
            # only float32 is ever called (align.kernels.mas checks), anything else does nothing
            return sig, lambda context, builder, signature, args: None

        def codegen(context, builder, signature, args):
            va = context.make_array(signature.args[0])(context, builder, args[0])
            qa = context.make_array(signature.args[3])(context, builder, args[3])
            pa = context.make_array(signature.args[6])(context, builder, args[6])
            v_off, v_stride, q_off, q_stride = args[1], args[2], args[4], args[5]
            has_left = args[7]
            if has_left.type != ir.IntType(1):
                has_left = builder.trunc(has_left, ir.IntType(1))
            ity = v_off.type

            def const(n):
                return ir.Constant(ity, n)

            rows = []
            for k in range(8):
                at = builder.add(v_off, builder.mul(v_stride, const(k)))
                rows.append(builder.load(builder.bitcast(builder.gep(va.data, [at]), _V.as_pointer()), align=4))
            cols = _transpose8(builder, rows)  # cols[j]: the strip's 8 tokens at frame y0 + j
            prev_ptr = builder.bitcast(pa.data, _V.as_pointer())
            p = builder.load(prev_ptr, align=4)
            minus_inf = ir.Constant(_F, float("-inf"))
            for j in range(8):
                row_at = builder.add(q_off, builder.mul(q_stride, const(j)))
                # token x0 - 1 at frame y0 + j - 1 (not read without a left neighbour)
                left_at = builder.select(has_left, builder.sub(builder.sub(row_at, q_stride), const(1)), row_at)
                left = builder.select(has_left, builder.load(builder.gep(qa.data, [left_at]), align=4), minus_inf)
                with_left = builder.insert_element(ir.Constant(_V, ir.Undefined), left, ir.Constant(_I32, 0))
                advance = _shuffle(builder, p, with_left, [8, 0, 1, 2, 3, 4, 5, 6])  # prev[k - 1]
                best = builder.select(builder.fcmp_ordered(">", advance, p), advance, p)  # max(advance, stay)
                new = builder.fadd(cols[j], best)
                if on_diagonal:  # token x0 + k is dead before frame x0 + k
                    dead = ir.Constant(ir.VectorType(ir.IntType(1), 8), [k > j for k in range(8)])
                    new = builder.select(dead, ir.Constant(_V, [float("-inf")] * 8), new)
                builder.store(new, builder.bitcast(builder.gep(qa.data, [row_at]), _V.as_pointer()), align=4)
                p = new
            builder.store(p, prev_ptr, align=4)

        return sig, codegen

    return strip_block


#: ``strip_block8(v, v_offset, v_stride, Q, q_offset, q_stride, prev, has_left)``: tokens
#: ``[x0, x0 + 8)`` through frames ``[y0, y0 + 8)``, a block off the diagonal (y0 >= x0 + 8).
#:
#: - ``v``: the item's values, token ``x0 + k`` at frame ``y0 + j`` is
#:   ``v[v_offset + k * v_stride + j]`` (1-D float32, offsets and strides in elements);
#: - ``Q``: the frame-major scores, cell ``(x0 + k, y0 + j)`` is ``Q[q_offset + j * q_stride + k]``;
#:   with ``has_left`` the cells of token ``x0 - 1`` at frames ``y0 - 1`` to ``y0 + 6`` must
#:   hold their scores, without it token ``x0 - 1`` reads as -inf (``x0 == 0``);
#: - ``prev`` (8 float32): in, the strip's scores at frame ``y0 - 1``; out, at ``y0 + 7``.
strip_block8 = _make(False)
#: The same for a strip's first block (y0 == x0): cells with ``k > j`` (frame before token) are
#: set to -inf, so that a diagonal cell reads only its advance.
strip_block8_diagonal = _make(True)
