"""Folding and identifiers (review/core/text.py)."""
from review.core.text import fold, normalize_doi, short_openalex_id


def test_fold_lowercases_compatibility_letters():
    # NFKD turns mathematical and fullwidth letters into capitals: fold must lower-case after it
    assert fold("𝖠𝖡𝖢 study") == "abc study"
    assert fold("ＡＢＣ") == "abc"
    assert fold(fold("𝖠")) == fold("𝖠")


def test_fold_nordic_and_german_letters():
    assert fold("Ældrepleje i Østjylland") == "aeldrepleje i ostjylland"
    assert fold("Straße") == "strasse"


def test_identifiers():
    assert normalize_doi("https://doi.org/10.1000/ABC") == "10.1000/abc"
    assert short_openalex_id("https://openalex.org/W123") == "W123"
