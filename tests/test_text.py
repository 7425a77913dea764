"""Folding and identifiers (review/core/text.py)."""
from review.core.text import fold, full_last_page, normalize_doi, short_openalex_id


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


def test_dois_glued_to_their_surroundings():
    assert normalize_doi("(doi:10.1000/abc)") == "10.1000/abc"
    assert normalize_doi('<a href="x">10.1000/abc</a>') == "10.1000/abc"
    assert normalize_doi("https://doi.org/10.1000%2Fabc") == "10.1000/abc"
    assert normalize_doi("[10.1000/abc]") == "10.1000/abc"
    # parentheses and angle brackets that belong to the DOI stay
    assert normalize_doi("https://doi.org/10.1016/S0140-6736(20)30183-5") == "10.1016/s0140-6736(20)30183-5"
    assert normalize_doi("10.1002/(SICI)1097-4571(199806)49:8<693::AID-ASI4>3.0.CO;2-0") == \
        "10.1002/(sici)1097-4571(199806)49:8<693::aid-asi4>3.0.co;2-0"


def test_markup_is_stripped():
    from review.core.text import strip_markup

    assert strip_markup("&lt;p&gt;Co-production in &lt;i&gt;elderly&lt;/i&gt; care&lt;/p&gt;") == \
        "Co-production in elderly care"
    assert strip_markup("CO<sub>2</sub> and <jats:italic>in vivo</jats:italic>") == "CO2 and in vivo"
    assert strip_markup("x < 5 and y > 3 &amp; z") == "x < 5 and y > 3 & z"


def test_full_last_page():
    assert full_last_page("1325", "9") == "1329"
    assert full_last_page("123", "45") == "145"
    assert full_last_page("123", "129") == "129"
    assert full_last_page("e123", "4") == "4"  # not a numeric range: as written
    assert full_last_page("12", "") == ""
