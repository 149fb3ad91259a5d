import pytest

from align.exceptions import BackendUnavailableError, ParameterError
from align.text import g2p
from align.text.lexicon import Lexicon, default_dictionary_path


@pytest.fixture(scope="module")
def lexicon():
    return Lexicon.load()


def test_default_path_is_pocketsphinx_dict():
    assert default_dictionary_path().endswith("en-us/cmudict-en-us.dict")


def test_size_and_contains(lexicon):
    assert len(lexicon) > 100_000
    assert "hello" in lexicon and "Hello" in lexicon and "zorblax" not in lexicon
    assert 5 not in lexicon


def test_alternates_in_file_order(lexicon):
    assert lexicon.pronounce("read") == [["R", "EH", "D"], ["R", "IY", "D"]]
    assert lexicon.pronounce("the") == [["DH", "AH"], ["DH", "IY"]]
    assert lexicon.pronounce("A") == [["AH"], ["EY"]]


def test_no_stress_and_only_arpabet(lexicon):
    phones = {p for w in ("abandon", "photograph", "zhivago", "boy", "thought") for v in lexicon.pronounce(w) for p in v}
    assert phones <= set(g2p.ARPABET)


def test_dictionary_source(lexicon):
    p = lexicon.lookup("Hello")
    assert p.word == "hello" and p.source == "dictionary" and p.known


def test_stress_digits_stripped_and_case_folded(tmp_path):
    path = tmp_path / "d.dict"
    path.write_text(";;; comment\nHELLO  HH AH0 L OW1\nHELLO(2) HH EH0 L OW1 # a comment\nTOMATO T AH0 M EY1 T OW2\n\n")
    lex = Lexicon.load(path)
    assert lex.pronounce("hello") == [["HH", "AH", "L", "OW"], ["HH", "EH", "L", "OW"]]
    assert lex.pronounce("Tomato") == [["T", "AH", "M", "EY", "T", "OW"]]
    assert len(lex) == 2


def test_bad_phone_in_file(tmp_path):
    path = tmp_path / "d.dict"
    path.write_text("hello HH AX L OW\n")
    with pytest.raises(ParameterError, match=r"d.dict:1: unknown phone\(s\) AX in 'hello HH AX L OW'"):
        Lexicon.load(path)


def test_line_without_phones_in_file(tmp_path):
    path = tmp_path / "d.dict"
    path.write_text("hello HH AH L OW\nworld\n")
    with pytest.raises(ParameterError, match=r"d.dict:2: no phones in 'world'"):
        Lexicon.load(path)


def test_odd_whitespace_reads_as_the_line_parser_reads_it(tmp_path):
    # a form feed or \x85 inside a line is a space (str.split), not a line break
    path = tmp_path / "d.dict"
    path.write_text("hello\x0cHH AH0 L OW1\nyes\x85Y EH1 S\nworld W ER1 L D\n", encoding="utf-8")
    lex = Lexicon.load(path)
    assert lex.get("hello") == [["HH", "AH", "L", "OW"]] and lex.get("yes") == [["Y", "EH", "S"]]
    assert len(lex) == 3
    path.write_text("hello HH AH L OW\u2028world W ER L D\n", encoding="utf-8")
    with pytest.raises(ParameterError, match=r"d.dict:1: unknown phone\(s\) WORLD"):
        Lexicon.load(path)


def test_lazy_read_equals_the_full_parse():
    # the loader splits a word's phones on first lookup; the slow parser splits every line
    from align.text.lexicon import _parse

    path = default_dictionary_path()
    full = _parse(path)
    lazy = Lexicon.load()._entries
    assert len(lazy) == len(full) and set(lazy) == set(full)
    for word in list(full)[::97] + ["read", "the", "a", "tomato"]:
        assert lazy[word] == full[word], word


def test_entries_copies_are_independent(tmp_path):
    path = tmp_path / "d.dict"
    path.write_text("hello HH AH0 L OW1\nhello(2) HH AH0 L OW1\nworld W ER1 L D\n")
    one, two = Lexicon.load(path), Lexicon.load(path)
    assert one.pronounce("hello") == [["HH", "AH", "L", "OW"]]  # a repeated variant once
    one.add("new", "N UW")
    del one._entries["world"]
    assert "world" not in one and len(one) == 2 and sorted(one._entries) == ["hello", "new"]
    assert "world" in two and "new" not in two and len(two) == 2


def test_missing_dictionary(tmp_path):
    with pytest.raises(ParameterError, match=r"pronunciation dictionary '.*nope.dict' does not exist"):
        Lexicon.load(tmp_path / "nope.dict")


def test_add_is_local(lexicon):
    mine = Lexicon.load()
    mine.add("zorblax", "Z AO1 R B L AE K S")
    assert mine.lookup("zorblax").source == "dictionary"
    assert Lexicon.load().lookup("zorblax").source != "dictionary"
    mine.add("read", ["R", "EH", "D"])  # a repeat is not added twice
    assert len(mine.pronounce("read")) == 2


def test_add_bad_phone(lexicon):
    with pytest.raises(ParameterError, match=r"pronunciation of 'x' must be a non-empty list of ARPAbet "
                                              r"phones, got \['QQ'\] \(unknown: QQ\)"):
        Lexicon.load().add("x", ["QQ"])


def test_bad_g2p_option():
    with pytest.raises(ParameterError, match=r"g2p='neural' is not supported; use one of 'auto', 'espeak', 'rules'"):
        Lexicon({}, g2p="neural")


def test_word_not_a_string(lexicon):
    with pytest.raises(ParameterError, match=r"word must be a str, got NoneType"):
        lexicon.lookup(None)


@pytest.mark.parametrize(
    "word, expected",
    [
        ("fusealign", ["F", "Y", "UW", "S", "IY", "L", "AY", "N"]),
        ("zorblax", ["Z", "AO", "R", "B", "L", "AE", "K", "S"]),
        ("blorptastic", None),
    ],
)
def test_espeak_for_out_of_vocabulary(lexicon, word, expected):
    p = lexicon.lookup(word)
    assert p.source == "espeak" and not p.known
    assert len(p.variants) == 1
    if expected is not None:
        assert p.variants[0] == expected
    else:  # plausible: starts B L AO R P, ends S T IH K, has vowels
        assert p.variants[0][:5] == ["B", "L", "AO", "R", "P"]
        assert p.variants[0][-4:] == ["S", "T", "IH", "K"]


def test_possessives(lexicon):
    assert lexicon.pronounce("o'brien's") == [["OW", "B", "R", "AY", "IH", "N", "Z"]]
    assert lexicon.lookup("cats'").variants == [["K", "AE", "T", "S"]]
    assert lexicon.lookup("jones's").variants[0][-2:] == ["IH", "Z"]  # sibilant + IH Z
    assert lexicon.lookup("o'brien's").known


def test_compound_and_digits(lexicon):
    assert lexicon.lookup("cat-dog").variants == [["K", "AE", "T", "D", "AO", "G"]]
    assert lexicon.lookup("cat-dog").source == "dictionary"
    assert lexicon.lookup("4").variants == [["F", "AO", "R"]]


def test_accents_fall_back_to_plain_letters(lexicon):
    assert lexicon.lookup("naïve").source == "dictionary"


def test_pronounce_words_lists_unknown_once(lexicon):
    prons, unknown = lexicon.pronounce_words(["the", "zorblax", "ate", "Zorblax"])
    assert unknown == ["zorblax"]
    assert len(prons) == 4 and prons[1] == prons[3]


def test_rules_only_lexicon():
    lex = Lexicon({"cat": [["K", "AE", "T"]]}, g2p="rules")
    p = lex.lookup("zorblax")
    assert p.source == "rules" and p.variants == [["Z", "AO", "R", "B", "L", "AE", "K", "S"]]


def test_auto_falls_back_to_rules_without_espeak(monkeypatch):
    def missing(word, voice="en-us"):
        raise BackendUnavailableError("espeak-ng is not available")

    monkeypatch.setattr(g2p, "espeak_arpabet", missing)
    assert Lexicon({}, g2p="auto").lookup("zorblax").source == "rules"
    with pytest.raises(BackendUnavailableError, match="espeak-ng is not available"):
        Lexicon({}, g2p="espeak").lookup("zorblax")


def test_every_word_gets_a_phone(lexicon):
    for word in ["bcdfg", "hmm", "x", "q", "你好", "zzz", "rhythms", "x-y", "mp3"]:
        assert lexicon.pronounce(word)[0], word
    assert lexicon.pronounce("'") == [[]]  # no letter, no sound
