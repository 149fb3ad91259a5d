"""The HMM graph: :class:`HMMGraph` and its builders (left-to-right chains, dense
models, concatenation with optional pieces). Decoding lives in
:mod:`align.hmm.decode`.

An :class:`HMMGraph` holds states (each reads one emission column; several
states may share a column, e.g. tied senones), sparse transitions with log
probabilities, and log initial / final weights. :func:`viterbi` finds the best
state sequence, :func:`forward_backward` the state posteriors; both take log
emissions ``(T, K)`` from any acoustic model.

Left-to-right graphs whose predecessors of ``s`` all lie in ``[s - w, s]``
(``w <= 32``: chains with self-loops, skips, optional silences) use a banded
kernel that also prunes states that cannot lie on a complete path (band of
reachable and co-reachable states), and can run in bounded memory with
checkpointing (see :func:`viterbi`). Other graphs use a general CSR kernel.

Tie-break rule (every kernel): on equal scores the predecessor with the lowest
state index wins; at the last frame the lowest final state index wins.
"""

import math
from functools import cached_property
from types import SimpleNamespace

import numpy as np

from .._validation import as_float_array, as_int_array, check_positive_int
from ..exceptions import ParameterError

__all__ = ["HMMGraph", "MAX_BAND_WIDTH"]

LOG_HALF = math.log(0.5)

#: Largest predecessor span ``w`` handled by the banded kernels.
MAX_BAND_WIDTH = 32

def _kernels():
    # imported lazily so ``import align`` does not compile or load Numba code
    from ..kernels import hmm

    return hmm


def _check_logp(arr, name, where="index"):
    if np.isnan(arr).any():
        i = int(np.flatnonzero(np.isnan(arr))[0])
        raise ParameterError(f"{name} must not contain NaN, found NaN at {where} {i}")
    if (arr > 0).any():
        i = int(np.flatnonzero(arr > 0)[0])
        raise ParameterError(
            f"{name} must hold log probabilities <= 0 (or -inf), found {arr[i]} at {where} {i}"
        )


def _csr(keys, other, logp, n):
    """Group edges by ``keys`` (stable, then by ``other`` ascending) into CSR."""
    order = np.lexsort((other, keys))
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(keys, minlength=n), out=ptr[1:])
    return ptr, np.ascontiguousarray(other[order]), np.ascontiguousarray(logp[order])


class HMMGraph:
    """A hidden Markov model as an explicit graph of emitting states.

    Parameters
    ----------
    emission_index : array_like [shape=(S,), int]
        The emission column each state reads (``>= 0``; shared columns allowed).
    edges_src, edges_dst : array_like [shape=(E,), int]
        Transition ``edges_src[e] -> edges_dst[e]``; self-loops are ordinary
        edges. At most one edge per (src, dst) pair.
    edges_logp : array_like [shape=(E,), float]
        Log probability of each transition: ``<= 0`` or ``-inf``, never NaN.
        Scores need not be normalised.
    log_initial, log_final : array_like [shape=(S,), float]
        Log weight of starting / ending in each state; ``-inf`` where not
        allowed. At least one finite entry each.
    labels : sequence of length S, optional
        Per-state labels (e.g. phone names), kept as an object array.
    token_of_state : array_like [shape=(S,), int], optional
        For builders: which input token produced each state (-1 for none).

    Attributes
    ----------
    emission_index : np.ndarray [shape=(S,), int64]
    log_initial, log_final : np.ndarray [shape=(S,), float64]
    pred_ptr : np.ndarray [shape=(S+1,), int64]
        CSR by destination: the predecessors of ``s`` are
        ``pred_state[pred_ptr[s]:pred_ptr[s+1]]``, in ascending order.
    pred_state : np.ndarray [shape=(E,), int64]
    pred_logp : np.ndarray [shape=(E,), float64]
    succ_ptr, succ_state, succ_logp : np.ndarray
        The same edges by source (computed on first use).
    labels : np.ndarray [shape=(S,), object] or None
    token_of_state : np.ndarray [shape=(S,), int64] or None
    n_states, n_edges, n_columns : int
        ``S``, ``E`` and ``max(emission_index) + 1``.
    band_width : int or None
        ``w`` if every finite edge goes ``p -> s`` with ``s - w <= p <= s``
        (a left-to-right graph), else None. See :meth:`band_transitions` and
        :meth:`state_bounds` for the banded kernels' inputs.
    min_frames : int
        The fewest frames a complete path needs (states on the shortest
        initial-to-final path); 0 if no final state is reachable.

    Raises
    ------
    ParameterError
        On out-of-range indices, NaN or positive log probabilities, duplicate
        edges, mismatched lengths, or no initial / final state.

    See Also
    --------
    HMMGraph.from_dense, HMMGraph.left_to_right, HMMGraph.from_tokens,
    HMMGraph.concatenate, viterbi, forward_backward

    Examples
    --------
    >>> import numpy as np
    >>> g = HMMGraph([0, 1], [0, 0, 1], [0, 1, 1], np.log([0.5, 0.5, 1.0]),
    ...              [0.0, -np.inf], [-np.inf, 0.0])
    >>> g.n_states, g.n_edges, g.band_width, g.min_frames
    (2, 3, 1, 2)
    """

    def __init__(self, emission_index, edges_src, edges_dst, edges_logp, log_initial,
                 log_final, labels=None, token_of_state=None):
        col = as_int_array(emission_index, "emission_index")
        S = col.shape[0]
        if S == 0:
            raise ParameterError("the graph needs at least one state, got emission_index of length 0")
        if (col < 0).any():
            i = int(np.flatnonzero(col < 0)[0])
            raise ParameterError(f"emission_index must be >= 0, found {col[i]} at state {i}")
        src = as_int_array(edges_src, "edges_src")
        dst = as_int_array(edges_dst, "edges_dst")
        logp = as_float_array(edges_logp, "edges_logp", ndim=1, dtype=np.float64)
        if not (src.shape[0] == dst.shape[0] == logp.shape[0]):
            raise ParameterError(
                "edges_src, edges_dst and edges_logp must have the same length, got "
                f"{src.shape[0]}, {dst.shape[0]} and {logp.shape[0]}"
            )
        for name, arr in (("edges_src", src), ("edges_dst", dst)):
            bad = (arr < 0) | (arr >= S)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ParameterError(
                    f"{name} must hold state indices in [0, {S}), found {arr[i]} at edge {i}"
                )
        _check_logp(logp, "edges_logp", "edge")
        key = src * S + dst
        order = np.argsort(key, kind="stable")
        dup = np.flatnonzero(key[order][1:] == key[order][:-1])
        if dup.size:
            e1, e2 = int(order[dup[0]]), int(order[dup[0] + 1])
            raise ParameterError(
                f"duplicate edge {src[e1]} -> {dst[e1]} (edges {e1} and {e2}); "
                "merge parallel edges into one first"
            )
        ends = []
        for name, arr in (("log_initial", log_initial), ("log_final", log_final)):
            arr = as_float_array(arr, name, ndim=1, dtype=np.float64)
            if arr.shape != (S,):
                raise ParameterError(f"{name} must have shape (S,)=({S},), got {arr.shape}")
            _check_logp(arr, name, "state")
            if not np.isfinite(arr).any():
                raise ParameterError(
                    f"{name} allows no state (all -inf); at least one "
                    f"{name.split('_')[1]} state is needed"
                )
            ends.append(arr)
        if labels is not None:
            labels = np.array(list(labels), dtype=object)
            if labels.shape != (S,):
                raise ParameterError(f"labels must have one entry per state ({S}), got {labels.shape[0]}")
        if token_of_state is not None:
            token_of_state = as_int_array(token_of_state, "token_of_state")
            if token_of_state.shape != (S,):
                raise ParameterError(
                    f"token_of_state must have shape (S,)=({S},), got {token_of_state.shape}"
                )
        self.emission_index = col
        self.log_initial, self.log_final = ends
        self.pred_ptr, self.pred_state, self.pred_logp = _csr(dst, src, logp, S)
        self.labels = labels
        self.token_of_state = token_of_state
        # The kernels get the writable originals (read-only arrays are a
        # different Numba type: one more compile of every kernel); users get
        # read-only views, since the cached properties assume the graph is fixed.
        self._k = SimpleNamespace(
            col=self.emission_index, init=self.log_initial, final=self.log_final,
            pred_ptr=self.pred_ptr, pred_state=self.pred_state, pred_logp=self.pred_logp)
        for name in ("emission_index", "log_initial", "log_final", "pred_ptr", "pred_state",
                     "pred_logp", "token_of_state"):
            arr = getattr(self, name)
            if arr is not None:
                view = arr.view()
                view.flags.writeable = False
                setattr(self, name, view)

    # ------------------------------------------------------------------ basics

    @property
    def n_states(self):
        return self.emission_index.shape[0]

    @property
    def n_edges(self):
        return self.pred_state.shape[0]

    @property
    def n_columns(self):
        return int(self.emission_index.max()) + 1

    def __repr__(self):
        bw = self.band_width
        kind = f"left-to-right, w={bw}" if bw is not None else "general"
        return (f"HMMGraph(n_states={self.n_states}, n_edges={self.n_edges}, "
                f"n_columns={self.n_columns}, {kind})")

    def edges(self):
        """Return the transitions as ``(src, dst, logp)`` arrays, sorted by (dst, src).

        Returns
        -------
        src, dst : np.ndarray [shape=(E,), int64]
        logp : np.ndarray [shape=(E,), float64]
        """
        dst = np.repeat(np.arange(self.n_states), np.diff(self.pred_ptr))
        return self.pred_state.copy(), dst, self.pred_logp.copy()

    @cached_property
    def _succ(self):
        src, dst, logp = self.edges()
        return _csr(src, dst, logp, self.n_states)

    def _kernel_arrays(self):
        """Writable arrays for the kernels: col, pred CSR, succ CSR, init, final."""
        k = self._k
        return (k.col, k.pred_ptr, k.pred_state, k.pred_logp, *self._succ, k.init, k.final)

    @property
    def succ_ptr(self):
        return self._succ[0]

    @property
    def succ_state(self):
        return self._succ[1]

    @property
    def succ_logp(self):
        return self._succ[2]

    @cached_property
    def band_width(self):
        src, dst, logp = self.edges()
        live = logp > -np.inf
        span = dst[live] - src[live]
        if span.size and span.min() < 0:
            return None
        return int(span.max()) if span.size else 0

    @cached_property
    def _distances(self):
        k = _kernels()
        d_init = k.min_steps(self.succ_ptr, self.succ_state, self.succ_logp,
                             self.log_initial > -np.inf)
        d_final = k.min_steps(self._k.pred_ptr, self._k.pred_state, self._k.pred_logp,
                              self.log_final > -np.inf)
        return d_init, d_final

    @cached_property
    def min_frames(self):
        d_init, _ = self._distances
        ok = (d_init >= 0) & (self.log_final > -np.inf)
        return int(d_init[ok].min()) + 1 if ok.any() else 0

    @cached_property
    def _band_trans(self):
        w = self.band_width
        src, dst, logp = self.edges()
        trans = np.full((w + 1, self.n_states), -np.inf)
        live = logp > -np.inf
        trans[dst[live] - src[live], dst[live]] = logp[live]
        return trans

    def band_transitions(self):
        """The transitions as a dense band, for left-to-right graphs.

        Returns
        -------
        np.ndarray [shape=(w+1, S), float64] or None
            ``trans[j, s]`` is the log probability of ``s - j -> s`` (-inf where
            there is no edge), ``w = band_width``; None if the graph has an
            edge going backwards. A copy: the layout the banded kernels take.
        """
        return None if self.band_width is None else self._band_trans.copy()

    def state_bounds(self, T):
        """Per-frame bounds of the states that can lie on a complete path of T frames.

        State ``s`` can be occupied at frame ``t`` of a complete path only if it
        is reachable from an initial state in ``t`` steps and can reach a final
        state in ``T - 1 - t``; every such state lies in ``[lo[t], hi[t]]``.

        Parameters
        ----------
        T : int

        Returns
        -------
        lo, hi : np.ndarray [shape=(T,), int64]
            Inclusive bounds; ``lo[t] > hi[t]`` means no complete path exists.
        """
        lo, hi = self._band(check_positive_int("T", T))
        return lo.copy(), hi.copy()

    def _band(self, T):
        """Inclusive per-frame state bounds ``lo, hi`` (int64 (T,)); see state_bounds."""
        cached = self.__dict__.get("_band_last")
        if cached is not None and cached[0] == T:  # batches and benchmarks repeat T
            return cached[1], cached[2]
        lo, hi = self._band_compute(T)
        self.__dict__["_band_last"] = (T, lo, hi)
        return lo, hi

    def _band_compute(self, T):
        d_init, d_final = self._distances
        S = self.n_states
        states = np.arange(S)
        t = np.arange(T)
        ok = d_init >= 0
        top = np.full(S, -1, np.int64)
        np.maximum.at(top, d_init[ok], states[ok])
        hi = np.maximum.accumulate(top)[np.minimum(t, S - 1)]
        ok = d_final >= 0
        bottom = np.full(S, S, np.int64)
        np.minimum.at(bottom, d_final[ok], states[ok])
        lo = np.minimum.accumulate(bottom)[np.minimum(T - 1 - t, S - 1)]
        return np.ascontiguousarray(lo), np.ascontiguousarray(hi)

    # ---------------------------------------------------------------- builders

    @classmethod
    def from_dense(cls, log_start, log_trans, log_final=None, labels=None):
        """A fully connected HMM, as hmmlearn models it.

        Parameters
        ----------
        log_start : array_like [shape=(S,)]
            Log initial probabilities (``np.log(model.startprob_)``).
        log_trans : array_like [shape=(S, S)]
            ``log_trans[i, j]`` is the log probability of ``i -> j``; ``-inf``
            entries become absent edges.
        log_final : array_like [shape=(S,)], optional
            Default: every state may end with weight 0 (hmmlearn's convention).
        labels : sequence of length S, optional

        Returns
        -------
        HMMGraph
            With ``emission_index = arange(S)``.

        Raises
        ------
        ParameterError
            If the shapes disagree or an entry is NaN or positive.
        """
        log_start = as_float_array(log_start, "log_start", ndim=1, dtype=np.float64)
        log_trans = as_float_array(log_trans, "log_trans", ndim=2, dtype=np.float64)
        S = log_start.shape[0]
        if log_trans.shape != (S, S):
            raise ParameterError(
                f"log_trans.shape={log_trans.shape}, must be (n_states, n_states)={(S, S)}"
            )
        if np.isnan(log_trans).any():
            raise ParameterError("log_trans must not contain NaN")
        src, dst = np.nonzero(log_trans > -np.inf)
        final = np.zeros(S) if log_final is None else log_final
        return cls(np.arange(S), src, dst, log_trans[src, dst], log_start, final, labels=labels)

    @classmethod
    def left_to_right(cls, n_states, *, self_loop_logp=LOG_HALF, advance_logp=LOG_HALF,
                      skip_logp=None, emission_index=None, final_logp=0.0, labels=None):
        """A stay-or-advance chain: start in state 0, end in state ``n_states - 1``.

        Parameters
        ----------
        n_states : int
        self_loop_logp, advance_logp : float
            Log probabilities of ``s -> s`` and ``s -> s + 1`` (default log 0.5).
            ``self_loop_logp=-np.inf`` gives a chain without self-loops.
        skip_logp : float, optional
            If given, adds ``s -> s + 2`` edges with this log probability.
        emission_index : array_like [shape=(n_states,)], optional
            Default ``arange(n_states)``.
        final_logp : float
            Log weight of ending in the last state.
        labels : sequence, optional

        Returns
        -------
        HMMGraph
        """
        n = check_positive_int("n_states", n_states)
        s = np.arange(n)
        src = [s, s[:-1]]
        dst = [s, s[1:]]
        lp = [np.full(n, float(self_loop_logp)), np.full(n - 1, float(advance_logp))]
        if skip_logp is not None:
            src.append(s[:-2])
            dst.append(s[2:])
            lp.append(np.full(max(n - 2, 0), float(skip_logp)))
        init = np.full(n, -np.inf)
        init[0] = 0.0
        final = np.full(n, -np.inf)
        final[-1] = final_logp
        col = s if emission_index is None else emission_index
        return cls(col, np.concatenate(src), np.concatenate(dst), np.concatenate(lp), init, final,
                   labels=labels)

    @classmethod
    def concatenate(cls, pieces, *, optional=None):
        """Chain graphs one after the other.

        Every final state ``f`` of a piece links to every initial state ``s`` of
        the next piece with log probability ``log_final[f] + log_initial[s]``
        (so a piece's final weights are its exit transitions and its initial
        weights its entry transitions). An optional piece may be bypassed: the
        states that could link into it also link past it.

        Parameters
        ----------
        pieces : sequence of HMMGraph
        optional : sequence of bool, optional
            Which pieces may be skipped (default: none).

        Returns
        -------
        HMMGraph
            States of piece ``i`` come after those of piece ``i - 1``;
            ``token_of_state`` holds the piece index of each state; ``labels``
            are concatenated when any piece has them (None elsewhere).

        Raises
        ------
        ParameterError
            If ``pieces`` is empty, holds a non-graph, or ``optional`` has the
            wrong length.
        """
        pieces = list(pieces)
        if not pieces:
            raise ParameterError("concatenate needs at least one piece, got an empty sequence")
        for i, p in enumerate(pieces):
            if not isinstance(p, HMMGraph):
                raise ParameterError(f"pieces[{i}] must be an HMMGraph, got {type(p).__name__}")
        optional = [False] * len(pieces) if optional is None else [bool(o) for o in optional]
        if len(optional) != len(pieces):
            raise ParameterError(
                f"optional must have one flag per piece ({len(pieces)}), got {len(optional)}"
            )
        cols, srcs, dsts, lps, tos = [], [], [], [], []
        S_tot = sum(p.n_states for p in pieces)
        init = np.full(S_tot, -np.inf)
        frontier_s = np.empty(0, np.int64)
        frontier_w = np.empty(0)
        can_start = True
        off = 0
        for i, p in enumerate(pieces):
            src, dst, lp = p.edges()
            cols.append(p.emission_index)
            srcs.append(src + off)
            dsts.append(dst + off)
            lps.append(lp)
            tos.append(np.full(p.n_states, i, np.int64))
            entry = np.flatnonzero(p.log_initial > -np.inf)
            if frontier_s.size:
                srcs.append(np.repeat(frontier_s, entry.size))
                dsts.append(np.tile(entry + off, frontier_s.size))
                lps.append((frontier_w[:, None] + p.log_initial[entry][None, :]).ravel())
            if can_start:
                init[entry + off] = p.log_initial[entry]
            exits = np.flatnonzero(p.log_final > -np.inf)
            if optional[i]:
                frontier_s = np.concatenate([frontier_s, exits + off])
                frontier_w = np.concatenate([frontier_w, p.log_final[exits]])
            else:
                frontier_s = exits + off
                frontier_w = p.log_final[exits]
                can_start = False
            off += p.n_states
        final = np.full(S_tot, -np.inf)
        final[frontier_s] = frontier_w
        labels = None
        if any(p.labels is not None for p in pieces):
            labels = np.concatenate([p.labels if p.labels is not None
                                     else np.full(p.n_states, None, dtype=object) for p in pieces])
        return cls(np.concatenate(cols), np.concatenate(srcs), np.concatenate(dsts),
                   np.concatenate(lps), init, final, labels=labels,
                   token_of_state=np.concatenate(tos))

    @classmethod
    def from_tokens(cls, tokens, n_states_per_token=3, *, columns=None,
                    self_loop_logp=LOG_HALF, advance_logp=LOG_HALF, skip=False,
                    skip_logp=LOG_HALF, word_separator=None, optional_silence=None,
                    silence_logp=0.0, final_logp=0.0):
        """A left-to-right graph for a token sequence (phones, characters, words).

        Each token becomes a chain of ``n_states_per_token`` emitting states
        with self-loops; token ``i``'s last state advances into token
        ``i + 1``'s first. Items of ``tokens`` equal to ``word_separator`` make
        no states of their own; if ``optional_silence`` is given, each one
        becomes an optional silence chain that the path may enter or bypass.
        Put a separator first or last for optional leading / trailing silence.

        Parameters
        ----------
        tokens : sequence
            Token ids (ints) or keys of ``columns``, with optional separators.
        n_states_per_token : int
        columns : mapping, optional
            ``columns[token]`` is either an int ``c`` (states read columns
            ``c, c+1, ..., c+n-1``) or a sequence of ``n`` ints. Default: token
            ``k`` (an int) reads columns ``k * n + j`` for state ``j``.
        self_loop_logp, advance_logp : float
            Log probabilities of staying and of moving to the next state.
        skip : bool
            Add ``j -> j + 2`` edges inside each token (log prob ``skip_logp``),
            so a 3-state token can be crossed in 2 frames.
        skip_logp : float
        word_separator : hashable, optional
            The marker in ``tokens`` for a word boundary.
        optional_silence : hashable, optional
            The token (id or ``columns`` key) whose states are inserted,
            skippable, at each word boundary. It has ``n_states_per_token`` states.
        silence_logp : float
            Log weight added on entering an optional silence (bypassing costs 0).
        final_logp : float
            Log weight of ending in a final state.

        Returns
        -------
        HMMGraph
            ``labels`` holds the token of each state and ``token_of_state`` its
            position in ``tokens`` (silence states: the separator's position).
            Scores are not renormalised (Viterbi alignment does not need it).

        Raises
        ------
        ParameterError
            If there are no tokens, a token has no columns, or a column list
            has the wrong length.

        Examples
        --------
        >>> g = HMMGraph.from_tokens([3, "|", 5], 3, word_separator="|", optional_silence=0)
        >>> g.n_states, g.emission_index.tolist()
        (9, [9, 10, 11, 0, 1, 2, 15, 16, 17])
        """
        n = check_positive_int("n_states_per_token", n_states_per_token)
        tokens = list(tokens)

        def cols_of(tok):
            if columns is None:
                if isinstance(tok, (bool, np.bool_)) or not isinstance(tok, (int, np.integer)) \
                        or tok < 0:
                    raise ParameterError(
                        f"token {tok!r} is not a non-negative int; pass columns= to map "
                        "tokens to emission columns"
                    )
                return np.arange(n) + int(tok) * n
            if tok not in columns:
                raise ParameterError(f"token {tok!r} has no entry in columns")
            c = columns[tok]
            if np.ndim(c) == 0:
                return np.arange(n) + int(c)
            c = np.asarray(c, np.int64)
            if c.shape != (n,):
                raise ParameterError(
                    f"columns[{tok!r}] must list n_states_per_token={n} columns, got {c.shape[0]}"
                )
            return c

        pieces, optional, positions = [], [], []
        for pos, tok in enumerate(tokens):
            is_sep = word_separator is not None and tok == word_separator
            if is_sep and optional_silence is None:
                continue
            label = optional_silence if is_sep else tok
            piece = cls.left_to_right(
                n, self_loop_logp=self_loop_logp, advance_logp=advance_logp,
                skip_logp=skip_logp if skip else None, emission_index=cols_of(label),
                final_logp=advance_logp, labels=[label] * n)
            if is_sep:
                init = piece.log_initial.copy()
                init[0] = silence_logp
                src, dst, lp = piece.edges()
                piece = cls(piece.emission_index, src, dst, lp, init, piece.log_final,
                            labels=piece.labels)
            pieces.append(piece)
            optional.append(is_sep)
            positions.append(pos)
        if not any(not o for o in optional):
            raise ParameterError(
                f"tokens must contain at least one token besides separators, got {tokens!r}"
            )
        g = cls.concatenate(pieces, optional=optional)
        final = g.log_final.copy()
        final[final > -np.inf] = final_logp
        src, dst, lp = g.edges()
        return cls(g.emission_index, src, dst, lp, g.log_initial, final, labels=g.labels,
                   token_of_state=np.asarray(positions, np.int64)[g.token_of_state])
