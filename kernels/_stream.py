"""Non-temporal ("streaming") stores for kernels that write large outputs once.

A plain store to a cache line that is not cached first reads the line from
memory (write-allocate), so an output written once costs twice its size in
memory traffic. A non-temporal store skips that read and the cache. Numba has
no such store, so these are LLVM intrinsics:

- :func:`stream_store32` copies 32 bytes with one ``vmovntps`` (x86-64); on
  other machines it is a plain 32-byte copy.
- :func:`store_fence` (``sfence``) orders those stores before the caller's
  later ones; call it once a thread has finished writing.
- :func:`address_of` gives an array's data address, to find where 32-byte
  alignment (which ``vmovntps`` needs) starts.

Measured use: :mod:`align.kernels.mas` writes its 0/1 path with them.

Numba's on-disk cache keys a function on its own module's source only: after
editing this module, clear the callers' cached code (``__pycache__``) too.
"""

import platform

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

__all__ = ["stream_store32", "store_fence", "address_of", "STREAMING"]

#: whether this machine gets real non-temporal stores (x86-64) or plain copies
STREAMING = platform.machine().lower() in ("x86_64", "amd64")

_VEC = ir.VectorType(ir.FloatType(), 8)  # 32 bytes, whatever the arrays' dtype


@intrinsic
def stream_store32(typingctx, dst, dst_index, src, src_index):
    """Copy the 32 bytes at ``&src[src_index]`` to ``&dst[dst_index]``, bypassing the cache.

    ``&dst[dst_index]`` must be 32-byte aligned on x86-64 (the store faults
    otherwise); both arrays are 1-D, contiguous, of any dtype.
    """
    sig = types.void(dst, types.intp, src, types.intp)

    def codegen(context, builder, signature, args):
        d = context.make_array(signature.args[0])(context, builder, args[0])
        s = context.make_array(signature.args[2])(context, builder, args[2])
        to = builder.bitcast(builder.gep(d.data, [args[1]]), _VEC.as_pointer())
        frm = builder.bitcast(builder.gep(s.data, [args[3]]), _VEC.as_pointer())
        value = builder.load(frm, align=1)
        if STREAMING:
            store = builder.store(value, to, align=32)
            store.set_metadata("nontemporal", builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)]))
        else:
            builder.store(value, to, align=1)

    return sig, codegen


@intrinsic
def store_fence(typingctx):
    """Order every earlier non-temporal store before later stores (``sfence``; a no-op elsewhere)."""
    sig = types.void()

    def codegen(context, builder, signature, args):
        if STREAMING:
            fn = builder.module.declare_intrinsic("llvm.x86.sse.sfence", fnty=ir.FunctionType(ir.VoidType(), []))
            builder.call(fn, [])

    return sig, codegen


@intrinsic
def address_of(typingctx, arr):
    """The address of ``arr``'s first element, as an integer."""
    sig = types.intp(arr)

    def codegen(context, builder, signature, args):
        a = context.make_array(signature.args[0])(context, builder, args[0])
        return builder.ptrtoint(a.data, context.get_value_type(types.intp))

    return sig, codegen

