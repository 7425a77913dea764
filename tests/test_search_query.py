import pytest

from review.core.errors import QueryError
from review.core.search_query import find_terms, matches, parse, term_pattern
from review.core.text import fold


def m(q, text):
    return matches(parse(q), fold(text))


def test_boolean_search_text():
    text = "Co-production of elderly care with voluntary organisations in Denmark"
    assert m('"co-production" AND voluntary', text)
    assert m("coproduction OR voluntary", text)
    assert not m("coproduction", text)  # whole words only: "co production" is not "coproduction"
    assert m('("elderly care" OR refugee*) NOT hospital', text)
    assert not m("denmark NOT voluntary", text)
    assert m("volunt*", text)
    assert not m("volunteer", text)


def test_adjacent_terms_mean_and():
    assert m("elderly denmark", "Elderly people in Denmark")
    assert not m("elderly norway", "Elderly people in Denmark")


@pytest.mark.parametrize("bad", ["", "(a OR b", "a OR", ")"])
def test_bad_search_text(bad):
    with pytest.raises(QueryError):
        parse(bad)


def test_terms_are_accent_and_case_insensitive():
    assert find_terms(["samskabelse", "Koproduktion", "partnerskab*"], "SAMSKABELSE og partnerskaber") == [
        "samskabelse", "partnerskab*"]
    assert term_pattern([]) is None
    assert find_terms(["Ældrepleje"], "aeldrepleje i kommunen") == ["Ældrepleje"]
