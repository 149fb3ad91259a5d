"""PocketSphinx's English acoustic model, read by our own code.

:meth:`SphinxModel.load` reads the model directory that ships inside the
``pocketsphinx`` wheel (``pocketsphinx.get_model_path() + "/en-us/en-us"``):

- ``mdef`` (binary "BMDF" or text): the 42 context-independent (CI) phones, the
  137,053 triphones (base, left, right, word position ``i/b/e/s``), each with a
  senone sequence (3 tied states, "senones") and a transition-matrix id;
- ``means`` / ``variances`` (Sphinx-3 binary parameter files with checksums):
  one codebook of 128 diagonal Gaussians per CI phone and per feature stream
  (PTM, "phonetically tied mixtures": 42 codebooks x 3 streams x 128 x 13);
- ``sendump`` (8-bit quantised mixture weights, one set per senone and stream) or
  ``mixture_weights`` (float weights);
- ``transition_matrices``, ``feat.params`` (front-end settings), ``noisedict``.

The formats were learnt from PocketSphinx 5 (``src/bin_mdef.c``, ``mdef.c``,
``ms_gauden.c``, ``ptm_mgau.c``, ``tmat.c``, ``util/bio.c``); no code copied.

Scoring: a senone ``s`` of base phone ``c`` has, for each stream ``f``, the density
``sum_k w[s, f, k] N(x_f; mu[c, f, k], var[c, f, k])``; its log-likelihood is the
sum over streams of the log of that (natural log). :meth:`SphinxModel.score`
computes it exactly (every Gaussian, no top-N pruning) with
:func:`align.kernels.gmm.score_senones`.

Quantised weights: ``sendump`` stores ``q = -floor(trunc(log_b p) / 1024)`` with
``b = 1.0001``; we decode ``p = b ** (-1024 q)`` as PocketSphinx does (the low end of
the bin, so the weights of a senone sum to a little under 1: 0.90 to 1.0).
``renormalize_weights=True`` rescales each (senone, stream) to sum to 1.
"""

from __future__ import annotations

import dataclasses
import math
import os
import struct
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from ..audio.features import FeatureParams
from ..exceptions import BackendUnavailableError, ParameterError

__all__ = ["SphinxModel", "default_model_path", "WORD_POSITIONS"]

#: Word positions of a triphone, as in PocketSphinx (``WPOS_NAME = "ibesu"``).
WORD_POSITIONS = {"i": 0, "b": 1, "e": 2, "s": 3}
_WPOS_NAMES = "ibes"

_S3_MAGIC = 0x11223344
_BMDF_NATIVE = 0x46444D42  # 'BMDF' read little-endian
_BMDF_SWAPPED = 0x424D4446
_LOG_BASE = 1.0001  # PocketSphinx's default -logbase
_SENSCR_SHIFT = 10  # senone scores and quantised weights drop 10 bits
_VARFLOOR = 1e-4  # -varfloor default
_TMATFLOOR = 1e-4  # -tmatfloor default
_MIXWFLOOR = 1e-7  # -mixwfloor default


def default_model_path():
    """The en-us model directory inside the installed ``pocketsphinx`` package.

    Raises
    ------
    BackendUnavailableError
        If pocketsphinx is not installed.
    """
    try:
        import pocketsphinx
    except ImportError as exc:
        raise BackendUnavailableError(
            "the English acoustic model comes from the pocketsphinx package, which "
            "is not installed; run `pip install pocketsphinx` (or "
            "`pip install fusealign[speech]`), or pass the model directory as path="
        ) from exc
    return os.path.join(pocketsphinx.get_model_path(), "en-us", "en-us")


# ---------------------------------------------------------------------------
# Low-level readers
# ---------------------------------------------------------------------------


def _fail(path, what):
    raise ParameterError(f"{path}: {what}; is this a PocketSphinx model directory?")


def _guarded(reader, path, *args):
    """Run a reader; turn the errors of a short or garbled file into ParameterError."""
    try:
        return reader(path, *args)
    except ParameterError:
        raise
    except (ValueError, IndexError, KeyError, struct.error, UnicodeDecodeError) as exc:
        raise ParameterError(
            f"{path}: truncated or malformed file ({exc}); is this a PocketSphinx model "
            f"directory?"
        ) from exc


def _read_s3(path):
    """Sphinx-3 binary file: text header, byte-order magic. Returns (args, endian, body)."""
    with open(path, "rb") as fh:
        data = fh.read()
    if not data.startswith(b"s3\n"):
        _fail(path, "not a Sphinx-3 binary file (no 's3' header)")
    end = data.find(b"endhdr\n")
    if end < 0:
        _fail(path, "header has no 'endhdr' line")
    args = {}
    for line in data[3:end].decode("latin-1").splitlines():
        parts = line.split()
        if len(parts) >= 2 and not parts[0].startswith("#"):
            args[parts[0]] = parts[1]
    pos = end + len(b"endhdr\n")
    (magic,) = struct.unpack_from("<I", data, pos)
    if magic == _S3_MAGIC:
        endian = "<"
    elif struct.unpack_from(">I", data, pos)[0] == _S3_MAGIC:
        endian = ">"
    else:
        _fail(path, f"bad byte-order marker {magic:#010x}")
    return args, endian, data[pos + 4 :]


@njit(cache=True)
def _checksum_kernel(words):  # pragma: no cover - compiled
    mask = np.int64(0xFFFFFFFF)
    total = np.int64(0)
    for i in range(words.size):
        total = ((((total << 20) | (total >> 12)) & mask) + np.int64(words[i])) & mask
    return total


def _s3_checksum(words):
    """Sphinx-3 checksum of native uint32 words: rotate left 20, add (mod 2**32).

    Sequential by nature (the carry of each addition feeds the next rotation), so
    it is compiled rather than vectorised.
    """
    return int(_checksum_kernel(np.ascontiguousarray(words, dtype=np.uint32)))


def _read_gaussians(path, verify):
    """means/variances: (n_mgau, n_feat, n_density, veclen) float32."""
    args, endian, body = _read_s3(path)
    ints = np.dtype(endian + "i4")
    n_mgau, n_feat, n_density = (int(v) for v in np.frombuffer(body, ints, 3))
    veclen = np.frombuffer(body, ints, n_feat, offset=12).astype(np.int64)
    off = 12 + 4 * n_feat
    (count,) = np.frombuffer(body, ints, 1, offset=off)
    off += 4
    if count != n_mgau * n_density * int(veclen.sum()):
        _fail(path, f"{count} values do not match {n_mgau} x {n_density} x {int(veclen.sum())}")
    if len(set(veclen.tolist())) != 1:
        _fail(path, f"feature streams of unequal length {veclen.tolist()} are not supported")
    values = np.frombuffer(body, np.dtype(endian + "f4"), int(count), offset=off)
    rest = len(body) - off - 4 * int(count)
    if "chksum0" in args:
        if rest != 4:
            _fail(path, f"expected a 4-byte checksum after the data, found {rest} bytes")
        if verify:
            words = np.frombuffer(body, np.dtype(endian + "u4"), (off + 4 * int(count)) // 4)
            (stored,) = np.frombuffer(body, np.dtype(endian + "u4"), 1, offset=off + 4 * int(count))
            if _s3_checksum(words) != int(stored):
                _fail(path, "checksum mismatch (file damaged)")
    elif rest != 0:
        _fail(path, f"{rest} unexpected bytes after the data")
    shape = (n_mgau, n_feat, n_density, int(veclen[0]))
    return values.astype(np.float32).reshape(shape)


def _read_tmat(path, verify):
    """transition_matrices: (n_tmat, n_state, n_state + 1) float32 counts or probabilities."""
    args, endian, body = _read_s3(path)
    ints = np.dtype(endian + "i4")
    n_tmat, n_src, n_dst, count = (int(v) for v in np.frombuffer(body, ints, 4))
    if n_dst != n_src + 1 or count != n_tmat * n_src * n_dst:
        _fail(path, f"bad transition matrix header {n_tmat} x {n_src} x {n_dst} ({count})")
    values = np.frombuffer(body, np.dtype(endian + "f4"), count, offset=16)
    if "chksum0" in args and verify:
        words = np.frombuffer(body, np.dtype(endian + "u4"), 4 + count)
        (stored,) = np.frombuffer(body, np.dtype(endian + "u4"), 1, offset=16 + 4 * count)
        if _s3_checksum(words) != int(stored):
            _fail(path, "checksum mismatch (file damaged)")
    return values.astype(np.float64).reshape(n_tmat, n_src, n_dst)


def _read_mixw(path, verify):
    """mixture_weights (float): (n_sen, n_feat, n_density) probabilities (floored, normalised)."""
    args, endian, body = _read_s3(path)
    ints = np.dtype(endian + "i4")
    n_sen, n_feat, n_comp, count = (int(v) for v in np.frombuffer(body, ints, 4))
    if count != n_sen * n_feat * n_comp:
        _fail(path, f"bad mixture weight header {n_sen} x {n_feat} x {n_comp} ({count})")
    values = np.frombuffer(body, np.dtype(endian + "f4"), count, offset=16)
    if "chksum0" in args and verify:
        words = np.frombuffer(body, np.dtype(endian + "u4"), 4 + count)
        (stored,) = np.frombuffer(body, np.dtype(endian + "u4"), 1, offset=16 + 4 * count)
        if _s3_checksum(words) != int(stored):
            _fail(path, "checksum mismatch (file damaged)")
    w = values.astype(np.float64).reshape(n_sen, n_feat, n_comp)
    # PocketSphinx: normalise, floor at -mixwfloor, normalise, then quantise.
    sums = w.sum(axis=2, keepdims=True)
    w = np.where(sums > 0, w / np.where(sums > 0, sums, 1.0), w)
    w = np.maximum(w, _MIXWFLOOR)
    w /= w.sum(axis=2, keepdims=True)
    # Same quantisation as PocketSphinx, clipped at 159 (MAX_NEG_MIXW).
    q = -(np.trunc(np.log(w) / math.log(_LOG_BASE)).astype(np.int64) >> _SENSCR_SHIFT)
    q = np.clip(q, 0, 159)
    return q.astype(np.uint8)


def _read_sendump(path, n_feat, n_density, n_sen):
    """sendump: quantised weights as uint8 (n_sen, n_feat, n_density)."""
    with open(path, "rb") as fh:
        data = fh.read()
    (n,) = struct.unpack_from("<i", data, 0)
    endian = "<"
    if not 1 <= n <= 999:
        (n,) = struct.unpack_from(">i", data, 0)
        endian = ">"
        if not 1 <= n <= 999:
            _fail(path, "sendump title length out of range")
    pos = 0
    strings = []
    while True:
        (n,) = struct.unpack_from(endian + "i", data, pos)
        pos += 4
        if n == 0:
            break
        strings.append(data[pos : pos + n].rstrip(b"\0").decode("latin-1"))
        pos += n
    n_clust, n_bits = 0, 8
    for line in strings[2:]:
        key, _, value = line.partition(" ")
        if key == "feature_count":
            n_feat = int(value)
        elif key == "mixture_count":
            n_density = int(value)
        elif key == "model_count":
            n_sen = int(value)
        elif key == "cluster_count":
            n_clust = int(value)
        elif key == "cluster_bits":
            n_bits = int(value)
    rows, cols = n_density, n_sen
    if n_clust == 0:
        rows, cols = struct.unpack_from(endian + "ii", data, pos)
        pos += 8
    if rows != n_density or cols != n_sen:
        _fail(path, f"sendump is {rows} x {cols}, expected {n_density} x {n_sen}")
    codebook = None
    if n_clust:
        if n_clust == 15:
            n_clust = 16
        codebook = np.frombuffer(data, np.uint8, n_clust, offset=pos)
        pos += n_clust
    step = cols if n_bits == 8 else (cols + 1) // 2
    raw = np.frombuffer(data, np.uint8, n_feat * rows * step, offset=pos)
    raw = raw.reshape(n_feat, rows, step)
    if n_bits == 4:
        # Two 4-bit cluster ids per byte: the low nibble for even senones, the high
        # one for odd senones (s2_semi_mgau.c; ptm_mgau.c tests the byte's low bit
        # instead, which looks like a slip; no shipped PTM model is 4-bit).
        lo = raw & 0x0F
        hi = raw >> 4
        ids = np.empty((n_feat, rows, 2 * step), dtype=np.uint8)
        ids[:, :, 0::2] = lo
        ids[:, :, 1::2] = hi
        q = codebook[ids[:, :, :cols]]
    elif codebook is not None:
        q = codebook[raw]
    else:
        q = raw
    return np.ascontiguousarray(q.transpose(2, 0, 1))


def _read_text_mdef(path):
    """Text mdef (version 0.3): returns the same tables as the binary reader."""
    with open(path, encoding="latin-1") as fh:
        lines = [ln.split() for ln in fh if ln.strip() and not ln.startswith("#")]
    if not lines or lines[0][0] != "0.3":
        _fail(path, "unknown mdef format")
    head = {}
    i = 1
    while i < len(lines) and len(lines[i]) == 2 and lines[i][0].isdigit():
        head[lines[i][1]] = int(lines[i][0])
        i += 1
    rows = lines[i:]
    n_base = head["n_base"]
    names = [r[0] for r in rows[:n_base]]
    ci = {p: k for k, p in enumerate(names)}
    n_phone = len(rows)
    base = np.empty(n_phone, np.int64)
    left = np.full(n_phone, -1, np.int64)
    right = np.full(n_phone, -1, np.int64)
    wpos = np.full(n_phone, -1, np.int64)
    tmat = np.empty(n_phone, np.int64)
    filler = np.zeros(n_base, bool)
    states = []
    for k, r in enumerate(rows):
        base[k] = ci[r[0]]
        if k >= n_base:
            left[k], right[k], wpos[k] = ci[r[1]], ci[r[2]], WORD_POSITIONS[r[3]]
        else:
            filler[k] = r[4] == "filler"
        tmat[k] = int(r[5])
        states.append(tuple(int(v) for v in r[6:] if v != "N"))
    sseq_of = {}
    ssid = np.empty(n_phone, np.int64)
    for k, st in enumerate(states):
        ssid[k] = sseq_of.setdefault(st, len(sseq_of))
    sseq = np.array(list(sseq_of), dtype=np.int64)
    return dict(ciphones=tuple(names), filler=filler, base=base, left=left, right=right,
                wpos=wpos, ssid=ssid, tmat=tmat, sseq=sseq, n_ci_sen=head["n_tied_ci_state"],
                n_sen=head["n_tied_state"], n_tmat=head["n_tied_tmat"])


def _read_mdef(path):
    """Binary (BMDF) or text mdef."""
    with open(path, "rb") as fh:
        data = fh.read()
    if len(data) < 4:
        _fail(path, "file too short")
    (magic,) = struct.unpack_from("<I", data, 0)
    if magic == _BMDF_NATIVE:
        e = "<"
    elif magic == _BMDF_SWAPPED:
        e = ">"
    else:
        return _read_text_mdef(path)
    version, desc_len = struct.unpack_from(e + "ii", data, 4)
    pos = 12 + desc_len
    (n_ci, n_phone, n_emit, n_ci_sen, n_sen, n_tmat, n_sseq, n_ctx, n_cd_tree, sil) = (
        struct.unpack_from(e + "10i", data, pos))
    pos += 40
    if n_emit <= 0:
        _fail(path, "phones with different numbers of states are not supported")
    names = []
    for _ in range(n_ci):
        end = data.index(b"\0", pos)
        names.append(data[pos:end].decode("latin-1"))
        pos = end + 1
    start = 12 + desc_len + 40
    pos = start + ((pos - start + 3) & ~3)
    tree_dt = np.dtype([("ctx", e + "i2"), ("n_down", e + "i2"), ("down", e + "i4")])
    tree = np.frombuffer(data, tree_dt, n_cd_tree, offset=pos)
    pos += tree_dt.itemsize * n_cd_tree
    phone_dt = np.dtype([("ssid", e + "i4"), ("tmat", e + "i4"), ("info", "u1", (4,))])
    phones = np.frombuffer(data, phone_dt, n_phone, offset=pos)
    pos += phone_dt.itemsize * n_phone
    (sseq_size,) = struct.unpack_from(e + "i", data, pos)
    pos += 4
    if sseq_size != n_sseq * n_emit:
        _fail(path, f"senone sequence table has {sseq_size} entries, expected {n_sseq * n_emit}")
    sseq = np.frombuffer(data, np.dtype(e + "u2"), sseq_size, offset=pos).astype(np.int64)
    info = phones["info"].astype(np.int64)
    base = np.arange(n_phone, dtype=np.int64)
    base[n_ci:] = info[n_ci:, 1]
    left = np.full(n_phone, -1, np.int64)
    right = np.full(n_phone, -1, np.int64)
    wpos = np.full(n_phone, -1, np.int64)
    left[n_ci:] = info[n_ci:, 2]
    right[n_ci:] = info[n_ci:, 3]
    wpos[n_ci:] = info[n_ci:, 0]
    return dict(ciphones=tuple(names), filler=info[:n_ci, 0].astype(bool), base=base,
                left=left, right=right, wpos=wpos,
                ssid=phones["ssid"].astype(np.int64), tmat=phones["tmat"].astype(np.int64),
                sseq=sseq.reshape(n_sseq, n_emit), n_ci_sen=n_ci_sen, n_sen=n_sen,
                n_tmat=n_tmat, n_cd_tree=n_cd_tree, tree=tree, header_sil=sil)


def _read_noisedict(path):
    out = {}
    if not os.path.exists(path):
        return out
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 2:
                out[parts[0]] = tuple(parts[1:])
    return out


# ---------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SphinxModel:
    """A PocketSphinx PTM/continuous acoustic model, in numpy arrays.

    Build it with :meth:`SphinxModel.load`. Indices: CI phone ids are positions in
    ``ciphones`` (sorted, as PocketSphinx requires); senone ids are PocketSphinx's.

    Attributes
    ----------
    path : str
        The model directory.
    ciphones : tuple of str
        The CI phones (42 for en-us: ``+NSN+``, ``+SPN+``, ``AA`` ... ``SIL`` ... ``ZH``), sorted.
    filler : np.ndarray [shape=(n_ciphones,), bool]
        True for filler phones (``SIL``, ``+NSN+``, ``+SPN+``).
    silence : int
        CI id of ``SIL``.
    noise_words : dict of str to tuple of str
        ``noisedict``: filler word -> phones (``<sil>``: ``SIL``, ``[NOISE]``: ``+NSN+``).
    n_emit_state : int
        Emitting states per phone (3).
    n_senones, n_ci_senones : int
        Senones in all (5126) and of the CI phones (126, the first ones).
    phone_base, phone_left, phone_right, phone_position : np.ndarray [shape=(n_phones,), int64]
        Per phone (CI phones first, then triphones): base CI id, left and right
        context CI ids and word position (0 i, 1 b, 2 e, 3 s); -1 for CI phones.
    phone_senones : np.ndarray [shape=(n_phones, n_emit_state), int64]
        Senone id of each emitting state.
    phone_tmat : np.ndarray [shape=(n_phones,), int64]
        Transition matrix id of each phone (that of its base phone).
    senone_codebook : np.ndarray [shape=(n_senones,), int64]
        Codebook (Gaussian set) of each senone: its base CI phone for PTM models.
    log_transitions : np.ndarray [shape=(n_tmat, n_emit_state, n_emit_state + 1), float64]
        Natural-log transition probabilities; the last column is the exit
        (non-emitting final state); ``-inf`` where forbidden. Normalised and floored
        (``-tmatfloor 1e-4``) as PocketSphinx does.
    means, variances : np.ndarray [shape=(n_codebooks, n_streams, n_density, veclen), float32]
        Gaussian parameters; variances floored at ``1e-4`` (``-varfloor``).
    mixture_weights : np.ndarray [shape=(n_senones, n_streams, n_density), float32]
        Mixture weights in probability space.
    feature_params : FeatureParams
        The front end the model was trained with (from ``feat.params``).
    """

    path: str
    ciphones: tuple
    filler: np.ndarray
    silence: int
    noise_words: dict
    n_emit_state: int
    n_senones: int
    n_ci_senones: int
    phone_base: np.ndarray
    phone_left: np.ndarray
    phone_right: np.ndarray
    phone_position: np.ndarray
    phone_senones: np.ndarray
    phone_tmat: np.ndarray
    senone_codebook: np.ndarray
    log_transitions: np.ndarray
    means: np.ndarray
    variances: np.ndarray
    mixture_weights: np.ndarray
    feature_params: FeatureParams
    _triphone_table: np.ndarray = field(repr=False)
    _scoring: dict = field(default_factory=dict, repr=False)

    # --- construction --------------------------------------------------
    @classmethod
    def load(cls, path=None, *, renormalize_weights=False, verify_checksums=True):
        """Read a model directory.

        Parameters
        ----------
        path : str or os.PathLike or None
            The directory holding ``mdef``, ``means``, ``variances``, ``sendump`` or
            ``mixture_weights``, ``transition_matrices``, ``feat.params``. None: the
            en-us model shipped in the ``pocketsphinx`` package.
        renormalize_weights : bool
            Rescale the dequantised mixture weights of each senone and stream to
            sum to 1 (default False: PocketSphinx's values).
        verify_checksums : bool
            Check the Sphinx-3 checksums of the binary files.

        Returns
        -------
        SphinxModel

        Raises
        ------
        BackendUnavailableError
            If ``path`` is None and pocketsphinx is not installed.
        ParameterError
            If the directory or a file is missing or malformed.
        """
        if path is None:
            path = default_model_path()
        path = os.fspath(path)
        if not os.path.isdir(path):
            raise ParameterError(
                f"acoustic model directory {path!r} does not exist; pass the folder "
                f"holding mdef, means, variances and sendump (or path=None for the "
                f"pocketsphinx en-us model)"
            )
        for name in ("mdef", "means", "variances", "transition_matrices"):
            if not os.path.exists(os.path.join(path, name)):
                raise ParameterError(f"acoustic model file {name!r} is missing from {path!r}")
        md = _guarded(_read_mdef, os.path.join(path, "mdef"))
        ciphones = md["ciphones"]
        n_ci = len(ciphones)
        means = _guarded(_read_gaussians, os.path.join(path, "means"), verify_checksums)
        variances = _guarded(_read_gaussians, os.path.join(path, "variances"), verify_checksums)
        if means.shape != variances.shape:
            _fail(path, f"means {means.shape} and variances {variances.shape} differ in shape")
        n_mgau, n_feat, n_density, veclen = means.shape
        variances = np.maximum(variances, np.float32(_VARFLOOR))

        n_sen = int(md["n_sen"])
        sseq = md["sseq"]
        phone_senones = sseq[md["ssid"]]
        # Codebook of each senone: the base phone of the phones that use it
        # (PocketSphinx's sen2cimap), 0 for a single-codebook (semi-continuous) model.
        sen2ci = np.full(n_sen, -1, np.int64)
        flat_sen = phone_senones.reshape(-1)
        flat_ci = np.repeat(md["base"], phone_senones.shape[1])
        sen2ci[flat_sen[::-1]] = flat_ci[::-1]  # first phone wins
        if n_mgau == n_ci:
            codebook = sen2ci
        elif n_mgau == 1:
            codebook = np.zeros(n_sen, np.int64)
        elif n_mgau == n_sen:
            codebook = np.arange(n_sen, dtype=np.int64)
        else:
            _fail(path, f"{n_mgau} codebooks fit neither PTM ({n_ci}), semi (1) "
                        f"nor continuous ({n_sen}) models")
        if (codebook < 0).any():
            _fail(path, "some senones are used by no phone")

        sendump = os.path.join(path, "sendump")
        mixw_file = os.path.join(path, "mixture_weights")
        if os.path.exists(sendump):
            q = _guarded(_read_sendump, sendump, n_feat, n_density, n_sen)
        elif os.path.exists(mixw_file):
            q = _guarded(_read_mixw, mixw_file, verify_checksums)
        else:
            raise ParameterError(
                f"acoustic model {path!r} has neither 'sendump' nor 'mixture_weights'"
            )
        if q.shape != (n_sen, n_feat, n_density):
            _fail(path, f"mixture weights of shape {q.shape}, expected {(n_sen, n_feat, n_density)}")
        log_w = -q.astype(np.float64) * ((1 << _SENSCR_SHIFT) * math.log(_LOG_BASE))
        weights = np.exp(log_w)
        if renormalize_weights:
            weights /= weights.sum(axis=2, keepdims=True)

        counts = _guarded(_read_tmat, os.path.join(path, "transition_matrices"), verify_checksums)
        sums = counts.sum(axis=2, keepdims=True)
        probs = counts / np.where(sums > 0, sums, 1.0)
        probs = np.where((probs != 0) & (probs < _TMATFLOOR), _TMATFLOOR, probs)
        probs /= np.where(probs.sum(axis=2, keepdims=True) > 0, probs.sum(axis=2, keepdims=True), 1.0)
        with np.errstate(divide="ignore"):
            log_trans = np.log(probs)

        fp_path = os.path.join(path, "feat.params")
        params = FeatureParams.from_file(fp_path) if os.path.exists(fp_path) else FeatureParams()
        if params.svspec is not None:
            expected = tuple(tuple(range(f * veclen, (f + 1) * veclen)) for f in range(n_feat))
            if params.svspec != expected:
                _fail(path, f"feature streams {params.svspec} are not contiguous blocks")
        if n_feat * veclen != params.n_features:
            _fail(path, f"Gaussians of {n_feat} x {veclen} dims do not fit "
                        f"{params.n_features}-dim features")

        try:
            silence = ciphones.index("SIL")
        except ValueError:
            silence = -1
        # Dense lookup: (position, base, left, right) -> phone id, -1 if absent.
        table = np.full((4, n_ci, n_ci, n_ci), -1, dtype=np.int32)
        tri = np.arange(n_ci, len(md["base"]))
        # Keep the first phone of any duplicate, as the tree search does.
        table[md["wpos"][tri[::-1]], md["base"][tri[::-1]], md["left"][tri[::-1]],
              md["right"][tri[::-1]]] = tri[::-1]
        return cls(
            path=path, ciphones=ciphones, filler=np.asarray(md["filler"], bool),
            silence=silence, noise_words=_read_noisedict(os.path.join(path, "noisedict")),
            n_emit_state=int(sseq.shape[1]), n_senones=n_sen,
            n_ci_senones=int(md["n_ci_sen"]), phone_base=md["base"],
            phone_left=md["left"], phone_right=md["right"], phone_position=md["wpos"],
            phone_senones=phone_senones, phone_tmat=md["tmat"], senone_codebook=codebook,
            log_transitions=log_trans, means=np.ascontiguousarray(means),
            variances=np.ascontiguousarray(variances),
            mixture_weights=weights.astype(np.float32), feature_params=params,
            _triphone_table=table,
        )

    # --- sizes ---------------------------------------------------------
    @property
    def n_phones(self):
        """CI phones plus triphones."""
        return int(self.phone_base.size)

    @property
    def n_codebooks(self):
        return int(self.means.shape[0])

    @property
    def n_streams(self):
        return int(self.means.shape[1])

    @property
    def n_density(self):
        return int(self.means.shape[2])

    # --- phones --------------------------------------------------------
    def phone_id(self, name):
        """CI phone id of ``name`` (e.g. ``"AH"``).

        Raises
        ------
        ParameterError
            If the model has no such phone.
        """
        try:
            return self.ciphones.index(name)
        except ValueError:
            raise ParameterError(
                f"phone {name!r} is not in the acoustic model; it has "
                f"{', '.join(self.ciphones)}"
            ) from None

    def _ci(self, p, what):
        if p is None:
            return -1
        if isinstance(p, str):
            return self.phone_id(p)
        if isinstance(p, (int, np.integer)) and not isinstance(p, bool):
            if -1 <= p < len(self.ciphones):
                return int(p)
        raise ParameterError(
            f"{what} must be a phone name or a CI phone id in [0, {len(self.ciphones)}) "
            f"(or None/-1 for no context), got {p!r}"
        )

    def _exact(self, b, l, r, pos):
        if self.silence >= 0:
            if self.filler[l]:
                l = self.silence
            if self.filler[r]:
                r = self.silence
        return int(self._triphone_table[pos, b, l, r])

    def phone_for(self, base, left=None, right=None, position="i"):
        """Phone id of a triphone with PocketSphinx's back-off (``bin_mdef_phone_id_nearest``).

        Parameters
        ----------
        base, left, right : str or int or None
            Phone names or CI ids; None (or -1) for an unknown context, which
            gives the CI phone.
        position : {"i", "b", "e", "s"} or int
            Word position: internal, beginning, end, single-phone word.

        Returns
        -------
        int
            The triphone's id, or the CI phone id ``base`` when no triphone fits.

        Notes
        -----
        Back-off order: the exact triphone (filler contexts read as ``SIL``); the
        same context in the other word positions (i, b, e, s order); with the left
        context replaced by ``SIL`` if it is a filler or the phone begins a word
        (b, s) and the right one if it is a filler or ends a word (e, s), in this
        position then the others; finally the CI phone.
        """
        b = self._ci(base, "base")
        if b < 0:
            raise ParameterError("base must be a phone, got None")
        l = self._ci(left, "left")
        r = self._ci(right, "right")
        if isinstance(position, str):
            if position not in WORD_POSITIONS:
                raise ParameterError(
                    f"position={position!r} is not a word position; use one of 'i' "
                    f"(internal), 'b' (begin), 'e' (end), 's' (single)"
                )
            pos = WORD_POSITIONS[position]
        elif isinstance(position, (int, np.integer)) and 0 <= position < 4:
            pos = int(position)
        else:
            raise ParameterError(f"position must be 'i', 'b', 'e', 's' or 0-3, got {position!r}")
        if l < 0 or r < 0:
            return b
        p = self._exact(b, l, r, pos)
        if p >= 0:
            return p
        for other in range(4):
            if other != pos:
                p = self._exact(b, l, r, other)
                if p >= 0:
                    return p
        if self.silence >= 0:
            nl, nr = l, r
            if self.filler[l] or pos in (1, 3):
                nl = self.silence
            if self.filler[r] or pos in (2, 3):
                nr = self.silence
            if (nl, nr) != (l, r):
                p = self._exact(b, nl, nr, pos)
                if p >= 0:
                    return p
                for other in range(4):
                    if other != pos:
                        p = self._exact(b, nl, nr, other)
                        if p >= 0:
                            return p
        return b

    def senones_for(self, base, left=None, right=None, position="i"):
        """Senone ids of a triphone's emitting states, with PocketSphinx's back-off.

        Parameters
        ----------
        base, left, right, position
            As in :meth:`phone_for`.

        Returns
        -------
        np.ndarray [shape=(n_emit_state,), int64]
        """
        return self.phone_senones[self.phone_for(base, left, right, position)].copy()

    def tmat_for(self, base):
        """Transition matrix id of a phone (name or CI id)."""
        return int(self.phone_tmat[self._ci(base, "base")])

    def phone_name(self, phone):
        """Readable name of a phone id: ``"AH"`` or ``"AH(B,T) i"``."""
        p = int(phone)
        b = self.ciphones[self.phone_base[p]]
        if p < len(self.ciphones):
            return b
        return (f"{b}({self.ciphones[self.phone_left[p]]},"
                f"{self.ciphones[self.phone_right[p]]}) {_WPOS_NAMES[self.phone_position[p]]}")

    # --- scoring -------------------------------------------------------
    def _prepared(self):
        # Kernel layout (C, F, D, K): the K Gaussians of a codebook are contiguous. Each
        # part is made when missing, so a copy with new means only (speaker adaptation)
        # can start from the variances' parts of its parent.
        prep = self._scoring
        if "means" not in prep:
            prep["means"] = np.ascontiguousarray(self.means.transpose(0, 1, 3, 2), dtype=np.float32)
        if "half_inv_vars" not in prep:
            var = self.variances.astype(np.float64)
            prep["half_inv_vars"] = np.ascontiguousarray(
                (0.5 / var).transpose(0, 1, 3, 2), dtype=np.float32)
            prep["log_consts"] = np.ascontiguousarray(
                -0.5 * np.log(2.0 * np.pi * var).sum(axis=3), dtype=np.float32)
        return prep

    def with_means(self, means):
        """A copy of the model with other Gaussian means (same shape); the rest is shared.

        Parameters
        ----------
        means : np.ndarray [shape=(n_codebooks, n_streams, n_density, veclen)]

        Returns
        -------
        SphinxModel
        """
        means = np.asarray(means, dtype=self.means.dtype)
        if means.shape != self.means.shape:
            raise ParameterError(f"means must have shape {self.means.shape}, got {means.shape}")
        parent = self._prepared()
        scoring = {k: parent[k] for k in ("half_inv_vars", "log_consts")}
        return dataclasses.replace(self, means=means, _scoring=scoring)

    def score(self, features, senones=None):
        """Log-likelihoods ``log p(x_t | senone)`` (natural log) of every frame.

        Parameters
        ----------
        features : np.ndarray [shape=(T, 39)]
            Output of :func:`align.audio.features.sphinx_features` with
            ``self.feature_params``.
        senones : array_like of int [shape=(S,)] or None
            The senones to score (e.g. those of one utterance's graph); None for all.

        Returns
        -------
        np.ndarray [shape=(T, S), float32]
            Column ``j`` is senone ``senones[j]``. Exact mixture sums over all
            Gaussians (PocketSphinx keeps only the top 4 per codebook and
            quantises to 0.1 nat).

        Raises
        ------
        ParameterError
            If ``features`` has the wrong width or non-finite values, or a senone
            id is out of range.

        See Also
        --------
        align.kernels.gmm.score_senones : the kernel.
        """
        from .._validation import as_float_array, as_int_array, check_finite
        from ..kernels.gmm import score_senones

        x = as_float_array(features, "features", ndim=2, dtype=np.float32)
        width = self.n_streams * self.means.shape[3]
        if x.shape[1] != width:
            raise ParameterError(
                f"features must have shape (T, {width}) (sphinx_features output), got {x.shape}"
            )
        check_finite(x, "features")
        if senones is None:
            sen = np.arange(self.n_senones, dtype=np.int64)
        else:
            sen = as_int_array(senones, "senones", ndim=1)
            if sen.size and (sen.min() < 0 or sen.max() >= self.n_senones):
                bad = sen[(sen < 0) | (sen >= self.n_senones)][0]
                raise ParameterError(
                    f"senones must be ids in [0, {self.n_senones}), found {bad}"
                )
        prep = self._prepared()
        out = np.empty((x.shape[0], sen.size), dtype=np.float32)
        if x.shape[0] == 0 or sen.size == 0:
            return out
        cb = self.senone_codebook[sen]
        order = np.argsort(cb, kind="stable")
        cb_sorted = cb[order]
        cb_ptr = np.searchsorted(cb_sorted, np.arange(self.n_codebooks + 1)).astype(np.int64)
        weights = np.ascontiguousarray(self.mixture_weights[sen[order]])
        score_senones(x, prep["means"], prep["half_inv_vars"], prep["log_consts"],
                      weights, cb_ptr, order.astype(np.int64), out)
        if not np.isfinite(out).all():
            raise ParameterError(
                "features gave non-finite senone scores; are they sphinx_features output?"
            )
        return out
