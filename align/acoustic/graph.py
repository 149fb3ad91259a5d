"""The utterance graph: a transcript's words as a chain of triphone HMMs.

Layout of the states, in order (so the graph is left-to-right and the banded
Viterbi kernel applies)::

    [gap 0] word 0 (variant 0 | variant 1 | ...) [gap 1] word 1 ... [gap n]

- Each word contributes one branch per pronunciation variant; a branch is its
  phones' emitting states (3 per phone for the en-us model) in order.
- Each gap is optional: silence (``SIL``) or, where allowed, a noise filler
  (``+NSN+`` breath/noise, ``+SPN+`` untranscribed speech), each a full
  3-state HMM, or nothing. A word therefore never has to swallow a pause, and
  speech that the transcript lacks goes to ``+SPN+`` instead of stretching a
  neighbour. A word made only of fillers (transcript markup such as
  ``[laughter]``) has no gap beside it: it is the pause.
- Triphone contexts: inside a word, the neighbouring phones; across a word
  boundary, the last (first) phone of the neighbour's first pronunciation when
  the path goes straight from one word to the next, and ``SIL`` when it goes
  through the gap's filler: a word's edge phone has one copy per context
  (PocketSphinx's aligner keeps only the first, as if no pause came between).
  ``position`` is b/i/e, s for one-phone words; the model backs off to other
  positions and to the CI phone when a triphone is missing.
- Transition log probabilities come from the model's matrices; leaving a
  phone's last state uses that state's exit probability.

The graph's emission columns are indices into ``UtteranceGraph.senones``: score
exactly those senones (``model.score(features, graph.senones)``) and pass the
result to :func:`align.viterbi`.
"""

from dataclasses import dataclass

import numpy as np

from ..exceptions import ParameterError
from ..hmm.graph import HMMGraph

__all__ = ["GARBAGE", "GapPolicy", "UtteranceGraph", "build_utterance_graph"]

#: A pseudo-phone for transcript markup: one 3-state HMM (SIL's transitions)
#: whose emission is not a senone of the model but a column the caller adds,
#: ``UtteranceGraph.garbage_column`` (the aligner gives it each frame's best
#: context-independent senone score less a penalty: it explains any sound, a
#: cough or a door, a little worse than a phone that fits).
GARBAGE = "+GARBAGE+"


@dataclass(frozen=True)
class GapPolicy:
    """Log weights of what may fill the gap between two words.

    Attributes
    ----------
    silence_logp : float
        Log weight of entering an optional silence between words.
    noise_logp : float
        Log weight of entering an optional filler (``+NSN+``/``+SPN+``); -inf
        switches fillers off.
    edge_silence_logp : float
        Log weight of the leading and trailing silence (usually likely).
    """

    silence_logp: float = np.log(0.3)
    noise_logp: float = np.log(0.02)
    edge_silence_logp: float = np.log(0.9)


@dataclass
class UtteranceGraph:
    """An :class:`align.HMMGraph` plus what each state stands for.

    Attributes
    ----------
    hmm : HMMGraph
        The graph; ``hmm.emission_index`` indexes ``senones``.
    senones : np.ndarray [shape=(K,), int64]
        The model's senone id of each emission column.
    state_word : np.ndarray [shape=(S,), int64]
        Index of the spoken word a state belongs to, -1 for gap fillers.
    state_unit : np.ndarray [shape=(S,), int64]
        Index into ``units`` of the phone (or filler) a state belongs to.
    state_in_unit : np.ndarray [shape=(S,), int64]
        0, 1, 2: the state's place in its HMM.
    units : list of str
        Label of each phone instance (``"AH"``, ``"SIL"``, ``"+SPN+"``).
    garbage_column : int or None
        The emission column of :data:`GARBAGE` states (``len(senones)``: one
        past the senones' columns), None when the graph has none.
    """

    hmm: HMMGraph
    senones: np.ndarray
    state_word: np.ndarray
    state_unit: np.ndarray
    state_in_unit: np.ndarray
    units: list
    garbage_column: int = None


_MODEL_CACHES = {}


def _model_cache(model, name):
    """A dict kept for one model's lifetime across graphs (the model's arrays never change).

    Keyed by the identity of its transition matrices and triphone table; a new
    model (another path) gets new dicts, and only the last few models are kept.
    """
    key = (id(model.log_transitions), id(model.phone_senones), name)
    found = _MODEL_CACHES.get(key)
    if found is None or found[0] is not model.log_transitions or found[1] is not model.phone_senones:
        if len(_MODEL_CACHES) >= 8:
            _MODEL_CACHES.clear()
        found = _MODEL_CACHES[key] = (model.log_transitions, model.phone_senones, {})
    return found[2]


class _Builder:
    """Collects states and edges; keeps the left-to-right order."""

    def __init__(self, model):
        self.model = model
        self.n_emit = model.n_emit_state
        self.senone = []
        self.word = []
        self.unit = []
        self.in_unit = []
        self.units = []
        self.src, self.dst, self.logp = [], [], []
        self._topologies = _model_cache(model, "topologies")

    def _topology(self, tmat_id):
        """One matrix's finite transitions as (sources, targets, logps, [(i, exit logp)]), cached."""
        top = self._topologies.get(tmat_id)
        if top is None:
            tmat = self.model.log_transitions[tmat_id]
            n = self.n_emit
            inner = [(i, j, float(tmat[i, j])) for i in range(n) for j in range(i, n) if np.isfinite(tmat[i, j])]
            exits = [(i, float(tmat[i, n])) for i in range(n) if np.isfinite(tmat[i, n])]
            top = self._topologies[tmat_id] = ([i for i, _, _ in inner], [j for _, j, _ in inner],
                                               [lp for _, _, lp in inner], exits)
        return top

    def add_hmm(self, label, senones, tmat_id, word):
        """Append one phone HMM (transition matrix ``tmat_id``); return (first state, [(state, exit logp)])."""
        first = len(self.senone)
        u = len(self.units)
        self.units.append(label)
        n = self.n_emit
        self.senone += senones[:n]
        self.word += [word] * n
        self.unit += [u] * n
        self.in_unit += range(n)
        sources, targets, logps, exits = self._topology(tmat_id)
        self.src += [first + i for i in sources]
        self.dst += [first + j for j in targets]
        self.logp += logps
        return first, [(first + i, lp) for i, lp in exits]

    def edge(self, a, b, lp):
        self.src.append(a)
        self.dst.append(b)
        self.logp.append(lp)

    def link(self, exits, entry, lp):
        for state, exit_lp in exits:
            self.edge(state, entry, exit_lp + lp)


def _positions(n):
    if n == 1:
        return ["s"]
    return ["b"] + ["i"] * (n - 2) + ["e"]


def build_utterance_graph(model, pronunciations, *, gaps=GapPolicy(), fillers=True, open_end=False,
                          hesitations=None, pause_context=True, pauses=None):
    """Build the left-to-right graph of a transcript's spoken words.

    Parameters
    ----------
    model : align.acoustic.sphinx_model.SphinxModel
        The acoustic model (phones, senones, transition matrices).
    pronunciations : list of list of list of str
        ``pronunciations[w]`` lists the variants of spoken word ``w``, each a
        list of ARPAbet phones (the model's CI phone names).
    gaps : GapPolicy
        Log weights of the optional silence and fillers.
    fillers : bool
        Offer ``+NSN+`` and ``+SPN+`` in the gaps besides ``SIL``.
    open_end : bool
        Let a path end after any word (or the gap after it), not only after the
        last one: used to align a window of a long recording with more words
        than it holds.
    hesitations : sequence of bool, optional
        Which spoken words are filled pauses ("uh", "um"): the gaps beside them
        offer no ``+SPN+``, so the hum of a held hesitation stays in the word
        (:mod:`align.acoustic.hesitations`).
    pause_context : bool
        Give a word's edge phone a second copy with ``SIL`` as its cross-word
        context, taken when the gap beside it holds a pause; False: the
        neighbour's phone always, as if no pause came between.
    pauses : sequence of {None, True, False}, optional
        One entry per gap between two words (``len(pronunciations) - 1``):
        True makes the gap hold a pause (a filler, usually ``SIL``), False
        forbids one, None leaves it optional (the default for every gap).
        For pause positions known beforehand, and for measuring how much of
        an aligner's error is its pause decisions
        (``benchmarks/oracle_pauses.py``).

    Returns
    -------
    UtteranceGraph

    Raises
    ------
    ParameterError
        If there are no words, a word has no pronunciation, or a phone is not
        one of the model's.
    """
    if not pronunciations:
        raise ParameterError("the transcript has no words to align")
    known = set(model.ciphones) | {GARBAGE}
    for w, variants in enumerate(pronunciations):
        if not variants or any(len(v) == 0 for v in variants):
            raise ParameterError(f"spoken word {w} has an empty pronunciation")
        for v in variants:
            for p in v:
                if p not in known:
                    raise ParameterError(
                        f"phone {p!r} of spoken word {w} is not in the acoustic model; "
                        f"known phones: {', '.join(sorted(known))}"
                    )
    b = _Builder(model)
    sil = "SIL"
    filler_labels = [sil] + ([p for p in ("+NSN+", "+SPN+") if p in known] if fillers else [])

    senone_lists = _model_cache(model, "senone lists")
    triphones = _model_cache(model, "triphones")

    def triphone(base, left, right, position):
        """model.phone_for, remembered: a corpus asks for the same few thousand triphones."""
        key = (base, left, right, position)
        found = triphones.get(key)
        if found is None:
            found = triphones[key] = model.phone_for(base, left, right, position)
        return found

    def phone_hmm(base, phone, word):
        """Append the HMM of model phone ``phone`` (-1: the garbage model, SIL's transitions)."""
        if phone == -1:
            return b.add_hmm(GARBAGE, [-1] * model.n_emit_state, model.phone_tmat[model.phone_id(sil)], word)
        return b.add_hmm(base, senones_of(phone), model.phone_tmat[phone], word)

    def senones_of(phone):
        """The senone ids of a phone's states, as a list (cached: phones repeat)."""
        found = senone_lists.get(phone)
        if found is None:
            found = senone_lists[phone] = model.phone_senones[phone].tolist()
        return found

    def gap(is_edge, beside_hesitation=False):
        """Append the optional fillers of one gap; return [(entry, entry logp, exits)]."""
        out = []
        for label in filler_labels:
            if beside_hesitation and label == "+SPN+":
                continue
            if label == sil:
                lp = gaps.edge_silence_logp if is_edge else gaps.silence_logp
            else:
                lp = gaps.noise_logp
            if not np.isfinite(lp):
                continue
            ci = model.phone_id(label)
            first, exits = b.add_hmm(label, senones_of(ci), model.phone_tmat[ci], -1)
            out.append((first, lp, exits))
        return out

    n_words = len(pronunciations)
    filler_set = {sil, "+NSN+", "+SPN+", GARBAGE}
    # A word made only of fillers (transcript markup such as "[laughter]") is
    # itself the pause: no optional gap next to it, so it takes the non-speech.
    is_filler = [all(p in filler_set for v in variants for p in v) for variants in pronunciations]
    hesitant = list(hesitations) if hesitations is not None else [False] * n_words
    if len(hesitant) != n_words:
        raise ParameterError(f"hesitations has {len(hesitant)} entries for {n_words} words")
    pause_at = list(pauses) if pauses is not None else [None] * (n_words - 1)
    if len(pause_at) != n_words - 1 or any(p not in (None, True, False) for p in pause_at):
        raise ParameterError(f"pauses must hold None, True or False for each of the {n_words - 1} gaps "
                             f"between words, got {len(pause_at)} entries")

    def gap_after(w):
        """Whether an optional gap follows word w (the last word's is the trailing edge)."""
        return not (is_filler[w] or (w + 1 < n_words and is_filler[w + 1]))

    starts = []          # (state, log weight) allowed at t = 0
    # (exits, extra logp) waiting to link into the next word: straight from the
    # previous word ("direct") or out of the gap's fillers ("pause")
    pending = {"direct": [], "pause": []}
    first_gap = [] if is_filler[0] else gap(True, hesitant[0])
    for entry, lp, exits in first_gap:
        starts.append((entry, lp))
        pending["pause"].append((exits, 0.0))
    word_start_weight = np.log1p(-sum(np.exp(lp) for _, lp, _ in first_gap)) if first_gap else 0.0
    ends = []            # (exits, extra logp) allowed at t = T - 1
    for w, variants in enumerate(pronunciations):
        is_last = w + 1 == n_words
        # Cross-word contexts: the neighbour's edge phone when no pause comes
        # between, SIL when the gap between is taken (pause_context).
        left_ctx = {"direct": pronunciations[w - 1][0][-1] if w > 0 else sil}
        if w > 0 and pause_context and gap_after(w - 1):
            left_ctx["pause"] = sil
        right_ctx = {"direct": pronunciations[w + 1][0][0] if not is_last else sil}
        if not is_last and pause_context and gap_after(w):
            right_ctx["pause"] = sil
        word_exits = {"direct": [], "pause": []}
        for v in variants:
            n = len(v)
            pos = _positions(n)
            # states entered from each side, and each phone's exits, built left to right
            entries = {}
            exits = None
            for k, base in enumerate(v):
                lefts = left_ctx if k == 0 else {"inner": v[k - 1]}
                rights = right_ctx if k == n - 1 else {"inner": v[k + 1]}
                made = {}   # phone id -> (first state, exits): one HMM per distinct triphone
                copies = []
                for lside, left in lefts.items():
                    for rside, right in rights.items():
                        phone = -1 if base == GARBAGE else triphone(base, left, right, pos[k])
                        if phone not in made:
                            made[phone] = phone_hmm(base, phone, w)
                        copies.append((lside, rside, phone))
                exit_sides = set()
                for lside, rside, phone in copies:
                    first, phone_exits = made[phone]
                    if k == 0:
                        entries.setdefault(lside, set()).add(first)
                    if k == n - 1 and (rside, phone) not in exit_sides:
                        exit_sides.add((rside, phone))
                        word_exits[rside] += phone_exits
                if exits is not None:
                    for first, _ in made.values():
                        b.link(exits, first, 0.0)
                exits = [e for _, phone_exits in made.values() for e in phone_exits]
            for side, firsts in entries.items():
                for first in sorted(firsts):
                    if w == 0 and side == "direct":
                        starts.append((first, word_start_weight))
                    sources = pending["direct"] + pending["pause"] if len(left_ctx) == 1 else pending[side]
                    for ex, extra in sources:
                        b.link(ex, first, extra)
        if len(right_ctx) == 1:  # one context serves both ways out
            word_exits = {"direct": word_exits["direct"] + word_exits["pause"],
                          "pause": word_exits["direct"] + word_exits["pause"]}
        beside = hesitant[w] or (not is_last and hesitant[w + 1])
        g = gap(is_last, beside) if gap_after(w) else []
        if not is_last and pause_at[w] is False:
            g = []
        skip = np.log1p(-sum(np.exp(lp) for _, lp, _ in g)) if g else 0.0
        if not is_last and pause_at[w]:
            # the gap must be taken: fillers even beside markup, and no edge around them
            g = g or gap(False, beside)
            skip = -np.inf
        pending = {"direct": [(word_exits["direct"], skip)] if skip > -np.inf else [], "pause": []}
        for entry, lp, exits in g:
            b.link(word_exits["pause"], entry, lp)
            pending["pause"].append((exits, 0.0))
        if open_end or is_last:
            ends += pending["direct"] + pending["pause"]
    S = len(b.senone)
    log_initial = np.full(S, -np.inf)
    for state, lp in starts:
        log_initial[state] = np.logaddexp(log_initial[state], lp)
    log_final = np.full(S, -np.inf)
    for exits, extra in ends:
        for state, lp in exits:
            log_final[state] = np.logaddexp(log_final[state], lp + extra)
    senone_ids = np.asarray(b.senone, dtype=np.int64)
    real = senone_ids >= 0
    senones, real_columns = np.unique(senone_ids[real], return_inverse=True)
    columns = np.full(len(senone_ids), len(senones), dtype=np.int64)
    columns[real] = real_columns
    garbage_column = None if real.all() else len(senones)
    labels = [b.units[u] for u in b.unit]
    hmm = HMMGraph(columns, b.src, b.dst, b.logp, log_initial, log_final, labels=labels)
    return UtteranceGraph(
        hmm=hmm,
        senones=senones,
        state_word=np.asarray(b.word, dtype=np.int64),
        state_unit=np.asarray(b.unit, dtype=np.int64),
        state_in_unit=np.asarray(b.in_unit, dtype=np.int64),
        units=b.units,
        garbage_column=garbage_column,
    )
