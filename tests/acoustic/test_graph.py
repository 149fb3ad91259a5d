"""The utterance graph's cross-word contexts: one edge-phone copy per side of a pause."""

import numpy as np
import pytest

from align.acoustic.graph import build_utterance_graph
from align.speech.transcript import _model

WORDS = [[["S", "OW"]], [["Y", "EH", "S"]]]  # "so yes"


@pytest.fixture(scope="module")
def model():
    return _model()


def _states_of(graph, model, word, phone):
    """States (first of each HMM) of ``word`` whose triphone is model phone ``phone``."""
    first = model.phone_senones[phone][0]
    return [s for s in range(len(graph.state_word))
            if graph.state_word[s] == word and graph.state_in_unit[s] == 0
            and graph.senones[graph.hmm.emission_index[s]] == first]


def _edges(graph):
    """(src, dst) of every edge, from the graph's predecessor CSR."""
    ptr = np.asarray(graph.hmm.pred_ptr)
    dst = np.repeat(np.arange(len(ptr) - 1), np.diff(ptr))
    return np.asarray(graph.hmm.pred_state), dst


def _successors(graph, states):
    src, dst = _edges(graph)
    return set(dst[np.isin(src, list(states))].tolist())


def _predecessors(graph, states):
    src, dst = _edges(graph)
    return set(src[np.isin(dst, list(states))].tolist())


def test_edge_phones_have_a_pause_copy_linked_only_through_the_gap(model):
    graph = build_utterance_graph(model, WORDS)
    ow_direct = model.phone_for("OW", "S", "Y", "e")
    ow_pause = model.phone_for("OW", "S", "SIL", "e")
    y_direct = model.phone_for("Y", "OW", "EH", "b")
    y_pause = model.phone_for("Y", "SIL", "EH", "b")
    assert ow_direct != ow_pause and y_direct != y_pause  # else the test shows nothing
    gap = set(np.flatnonzero(graph.state_word == -1).tolist())
    word1 = set(np.flatnonzero(graph.state_word == 1).tolist())
    n = model.n_emit_state
    (ow_d,), (ow_p,) = _states_of(graph, model, 0, ow_direct), _states_of(graph, model, 0, ow_pause)
    (y_d,), (y_p,) = _states_of(graph, model, 1, y_direct), _states_of(graph, model, 1, y_pause)
    out_d = _successors(graph, range(ow_d, ow_d + n)) - set(range(ow_d, ow_d + n))
    out_p = _successors(graph, range(ow_p, ow_p + n)) - set(range(ow_p, ow_p + n))
    assert out_d and out_d <= word1 and y_d in out_d and y_p not in out_d
    assert out_p and out_p <= gap
    into_p = _predecessors(graph, [y_p]) - {y_p}
    into_d = _predecessors(graph, [y_d]) - {y_d}
    assert into_p and into_p <= gap
    assert into_d and into_d <= set(range(ow_d, ow_d + n))


def test_without_pause_context_one_copy_serves_both_ways(model):
    graph = build_utterance_graph(model, WORDS, pause_context=False)
    with_copies = build_utterance_graph(model, WORDS)
    assert len(graph.state_word) == len(with_copies.state_word) - 2 * model.n_emit_state
    assert _states_of(graph, model, 0, model.phone_for("OW", "S", "SIL", "e")) == []
    (ow,) = _states_of(graph, model, 0, model.phone_for("OW", "S", "Y", "e"))
    out = _successors(graph, range(ow, ow + model.n_emit_state))
    assert out & set(np.flatnonzero(graph.state_word == -1).tolist())  # into the gap
    assert out & set(np.flatnonzero(graph.state_word == 1).tolist())   # and straight on


def test_the_graph_stays_left_to_right(model):
    graph = build_utterance_graph(model, [[["AH"]], [["AH", "M"], ["+SPN+", "M"]], [["AY"]]],
                                  hesitations=[False, True, False], open_end=True)
    src, dst = _edges(graph)
    assert np.all(dst >= src) and graph.hmm.band_width is not None


def test_a_graph_is_the_same_whatever_was_built_before(model):
    """The triphones and topologies remembered across graphs change no graph."""
    from align.acoustic import graph as G

    first = [[["DH", "AH"]], [["K", "AE", "T"]], [["S", "AE", "T"]]]
    other = [[["M", "AE", "T"], ["M", "AA", "T"]], [["AH"]], [["K", "AE", "T", "S"]]]
    G._MODEL_CACHES.clear()
    cold = build_utterance_graph(model, first)
    build_utterance_graph(model, other)
    warm = build_utterance_graph(model, first)
    assert any(G._MODEL_CACHES.values())  # something was remembered
    for a, b in zip(_edges(cold), _edges(warm)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(cold.hmm.pred_logp, warm.hmm.pred_logp)
    np.testing.assert_array_equal(cold.senones, warm.senones)
    np.testing.assert_array_equal(cold.hmm.emission_index, warm.hmm.emission_index)
    np.testing.assert_array_equal(cold.state_unit, warm.state_unit)
    assert cold.units == warm.units


def test_a_pause_can_be_required_or_forbidden_between_two_words(model):
    plain = build_utterance_graph(model, WORDS)
    for pauses in ([True], [False], [None]):
        graph = build_utterance_graph(model, WORDS, pauses=pauses)
        w0 = set(np.flatnonzero(graph.state_word == 0).tolist())
        w1 = set(np.flatnonzero(graph.state_word == 1).tolist())
        assert len(w0) == np.sum(plain.state_word == 0)  # the words themselves are the same
        into_w1 = _predecessors(graph, w1) - w1
        from_gap = into_w1 & set(np.flatnonzero(graph.state_word == -1).tolist())
        direct = into_w1 & w0
        if pauses == [True]:      # only through the gap's fillers
            assert from_gap and not direct
        elif pauses == [False]:   # straight on: no gap between the words at all
            assert direct and not from_gap
            assert not (_successors(graph, w0) - w0 - w1)
        else:
            assert from_gap and direct


def test_a_forced_pause_is_taken_and_a_forbidden_one_is_not():
    """On real speech (a bundled sample), every gap forced, then every gap forbidden."""
    import functools
    from importlib import resources

    import align
    import align.acoustic.graph as graph

    audio = resources.files("align") / "data" / "sample" / "arctic_a0005_1592748459.flac"
    text = audio.with_suffix(".txt").read_text()
    build = graph.build_utterance_graph
    n = len(align.align_transcript(audio, text).words)
    words = {}
    for name, pauses in (("forced", [True] * (n - 1)), ("forbidden", [False] * (n - 1))):
        # align_transcript imports the builder when it aligns a window
        graph.build_utterance_graph = functools.partial(build, pauses=pauses)
        try:
            words[name] = align.align_transcript(audio, text).words
        finally:
            graph.build_utterance_graph = build
    forced, forbidden = words["forced"], words["forbidden"]
    assert all(b.start - a.end >= 0.03 - 1e-9 for a, b in zip(forced, forced[1:]))  # a filler: 3 frames at least
    assert all(abs(b.start - a.end) < 1e-9 for a, b in zip(forbidden, forbidden[1:]))


@pytest.mark.parametrize("pauses", [[True, False], [], ["yes"], [1.5]])
def test_pauses_of_the_wrong_length_or_kind_are_refused(model, pauses):
    from align import ParameterError

    with pytest.raises(ParameterError, match="pauses must hold None, True or False"):
        build_utterance_graph(model, WORDS, pauses=pauses)
