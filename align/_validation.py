"""Input checks shared by every public entry point.

Each helper raises :class:`align.ParameterError` with a message that names the
argument, says what was expected and what was seen, and suggests a remedy.
Kernels never validate; the API layer calls these first.
"""

import sys

import numpy as np

from .exceptions import ParameterError

__all__ = [
    "is_torch_tensor",
    "as_float_array",
    "as_int_array",
    "check_finite",
    "check_option",
    "check_positive_int",
    "check_errors",
    "renamed",
]


def is_torch_tensor(x):
    """Return True if ``x`` is a ``torch.Tensor`` (without importing torch)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _describe(x):
    shape = getattr(x, "shape", None)
    dtype = getattr(x, "dtype", None)
    if shape is not None:
        return f"{type(x).__name__} of shape {tuple(shape)} and dtype {dtype}"
    return type(x).__name__


def as_float_array(x, name, *, ndim=(1, 2), dtype=None):
    """Coerce ``x`` to a C-contiguous float32 or float64 numpy array.

    Parameters
    ----------
    x : array_like or torch.Tensor
        The input. Torch tensors are moved to the CPU and detached.
    name : str
        The argument's name, used in error messages.
    ndim : int or tuple of int
        The allowed numbers of dimensions.
    dtype : {None, np.float32, np.float64}
        Target dtype. None keeps float32 and float64 as they are and turns
        anything else (ints, float16, bools) into float64.

    Returns
    -------
    np.ndarray [float32 or float64, C-contiguous]

    Raises
    ------
    ParameterError
        If ``x`` is not numeric or has the wrong number of dimensions.
    """
    if is_torch_tensor(x):
        x = x.detach().cpu()
        if str(x.dtype) == "torch.bfloat16":  # no numpy twin: widened (exactly) to float32
            x = x.float()
        x = x.numpy()
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise ParameterError(
            f"{name} must be array-like of numbers, got {_describe(x)}"
        ) from exc
    if arr.dtype.kind not in "biuf":
        raise ParameterError(
            f"{name} must hold real numbers, got dtype {arr.dtype}; "
            f"convert it with np.asarray({name}, dtype=float)"
        )
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if arr.ndim not in allowed:
        raise ParameterError(
            f"{name} must have {' or '.join(map(str, allowed))} dimension(s), "
            f"got shape {arr.shape}"
        )
    if dtype is None:
        dtype = arr.dtype if arr.dtype in (np.float32, np.float64) else np.float64
    return np.ascontiguousarray(arr, dtype=dtype)


def as_int_array(x, name, *, ndim=1):
    """Coerce ``x`` to a C-contiguous int64 array; floats with fractions are refused.

    Raises
    ------
    ParameterError
        If ``x`` is not integer-valued or has the wrong number of dimensions.
    """
    if is_torch_tensor(x):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.dtype.kind == "f" and arr.size and not np.all(np.isfinite(arr) & (arr == np.round(arr))):
        raise ParameterError(f"{name} must hold integers, got dtype {arr.dtype} with fractions")
    if arr.dtype.kind not in "biuf":
        raise ParameterError(f"{name} must hold integers, got dtype {arr.dtype}")
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if arr.ndim not in allowed:
        raise ParameterError(
            f"{name} must have {' or '.join(map(str, allowed))} dimension(s), "
            f"got shape {arr.shape}"
        )
    return np.ascontiguousarray(arr, dtype=np.int64)


def check_finite(arr, name):
    """Raise ParameterError naming the first NaN or inf in ``arr``.

    Raises
    ------
    ParameterError
        If ``arr`` holds a NaN or an infinity.
    """
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        index = tuple(int(i) for i in bad)
        value = arr[index]
        raise ParameterError(
            f"{name} must be finite, found {value} at index {index if len(index) > 1 else index[0]}; "
            f"remove or interpolate NaN/inf values first"
        )


def check_option(name, value, allowed):
    """Check that ``value`` is one of ``allowed`` and return it.

    Raises
    ------
    ParameterError
        Listing the allowed values when ``value`` is not among them.
    """
    if value not in allowed:
        listed = ", ".join(repr(a) for a in allowed)
        raise ParameterError(f"{name}={value!r} is not supported; use one of {listed}")
    return value


def check_positive_int(name, value, *, allow_zero=False, allow_none=False):
    """Check that ``value`` is a (non-negative if allow_zero) integer and return it as int.

    Raises
    ------
    ParameterError
        If ``value`` is not an integer or is out of range.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ParameterError(f"{name} must be an integer, got {value!r}")
    low = 0 if allow_zero else 1
    if value < low:
        raise ParameterError(f"{name} must be >= {low}, got {value}")
    return int(value)


#: what a batch function does with an item that admits no alignment
ERRORS = ("raise", "ignore")


def check_errors(errors):
    """Check the ``errors=`` option of a batch function (``"raise"`` or ``"ignore"``).

    ``"raise"``: the first infeasible item raises :class:`align.InfeasibleAlignmentError`
    naming it. ``"ignore"``: that item's score is ``inf`` (a cost) or ``-inf`` (a
    log-likelihood), its path is absent, and the other items are returned as usual.
    """
    return check_option("errors", errors, ERRORS)


def renamed(function, new, new_value, old, old_value):
    """Resolve an argument that was renamed: ``old`` still works, with a DeprecationWarning.

    Parameters
    ----------
    function, new, old : str
        Names for the messages.
    new_value, old_value : object
        What the caller passed under each name (None: not passed).

    Returns
    -------
    object
        The value to use.

    Raises
    ------
    ParameterError
        If both names were given.
    """
    if old_value is None:
        return new_value
    if new_value is not None:
        raise ParameterError(f"{function}: pass {new}= only ({old}= is its old name), not both")
    import warnings

    warnings.warn(f"{function}: {old}= is now spelled {new}=; {old}= will be removed",
                  DeprecationWarning, stacklevel=3)
    return old_value
