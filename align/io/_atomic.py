"""Atomic file writes: a crash or an error mid-write never clobbers earlier output.

Every writer in :mod:`align.io` (and :func:`align.plot.plot_alignment`) goes
through these helpers. The data are written to a temporary file in the *same*
directory as the target (so the final rename never crosses a file system),
flushed and ``fsync``-ed, then moved over the target with :func:`os.replace`,
which is atomic on POSIX and Windows. If anything fails before the rename, the
temporary file is removed and the previous file at ``path`` (if any) is left
exactly as it was.
"""

import contextlib
import os
import stat
import tempfile

from ..exceptions import ParameterError

__all__ = ["atomic_open", "atomic_path", "atomic_write_text", "atomic_write_bytes"]


def _prepare(path):
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ParameterError(
            f"cannot write {path!r}: the directory {directory!r} does not exist; "
            f"create it first"
        )
    if os.path.isdir(path):
        raise ParameterError(f"cannot write {path!r}: it is a directory; give a file name")
    return path, directory


def _umask():
    # Reading the umask with os.umask() briefly sets it to 0 for the whole
    # process, which races with other threads; Linux reports it in /proc.
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(directory):
    # Make the rename itself durable; not possible (nor needed) on Windows.
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success it replaces ``path``.

    For libraries that insist on writing to a file name themselves (praatio).
    The temporary file is fsync-ed before the rename.

    Parameters
    ----------
    path : str or os.PathLike
        The final destination.

    Yields
    ------
    str
        A fresh, empty temporary file name in the same directory.

    Raises
    ------
    ParameterError
        If the destination directory does not exist or ``path`` is a directory.
    """
    path, directory = _prepare(path)
    fd, tmp = tempfile.mkstemp(
        prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory
    )
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        # mkstemp creates files readable by the owner only; keep the mode of the
        # file being replaced, or give a new one what open() would (0o666 & ~umask).
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


@contextlib.contextmanager
def atomic_open(path, mode="w", *, encoding="utf-8", newline=None):
    """Open a temporary file for writing; on a clean exit it replaces ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        The final destination.
    mode : {"w", "wb"}
        Text or binary.
    encoding : str
        Text encoding (text mode only).
    newline : str or None
        Passed to :func:`open` (text mode only).

    Yields
    ------
    file object

    Raises
    ------
    ParameterError
        If ``mode`` is not "w" or "wb", or the directory does not exist.
    """
    if mode not in ("w", "wb"):
        raise ParameterError(f"mode={mode!r} is not supported; use 'w' or 'wb'")
    with atomic_path(path) as tmp:
        if mode == "wb":
            fh = open(tmp, "wb")
        else:
            fh = open(tmp, "w", encoding=encoding, newline=newline)
        with fh:
            yield fh
            fh.flush()


def atomic_write_text(path, text, *, encoding="utf-8"):
    """Write ``text`` to ``path`` atomically (see the module docstring)."""
    with atomic_open(path, "w", encoding=encoding, newline="") as fh:
        fh.write(text)


def atomic_write_bytes(path, data):
    """Write ``data`` to ``path`` atomically (see the module docstring)."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)
