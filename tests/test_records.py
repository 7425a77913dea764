import json

import pytest

from review.core.records import Record, Source
from review.core.text import fold, normalize_doi, normalize_pmid, rebuild_abstract, short_openalex_id, stable_id
from review.sources.openalex_json import from_openalex


@pytest.fixture
def works(data_dir):
    return json.loads((data_dir / "spine" / "works_2023.json").read_text())


def test_from_openalex_2023_schema(works):
    w = works[0]
    rec = from_openalex(w, Source("snapshot", "x", "#0"))
    assert rec.id == rec.openalex_id == "W2560438049"
    assert rec.doi == "10.1186/s13643-016-0384-4"
    assert rec.pmid == "27919275"
    assert rec.title.startswith("Rayyan")
    assert rec.year == 2016
    assert rec.venue == "Systematic Reviews"
    assert rec.publisher == "Springer Science+Business Media"
    assert rec.authors[0].name == "Mourad Ouzzani" and rec.authors[0].openalex_id == "A4350645525"
    assert "QA" in rec.authors[0].countries
    assert rec.referenced_works and all(r.startswith("W") for r in rec.referenced_works)
    assert len(rec.referenced_works) == len(w["referenced_works"])
    assert "Usability" in rec.concepts
    assert rec.topics == [] and rec.keywords == []
    assert rec.abstract.startswith("Synthesis of multiple randomized controlled trials")
    assert rec.sources == [Source("snapshot", "x", "#0")]


def test_from_openalex_current_schema(data_dir):
    w = json.loads((data_dir / "spine" / "work_current_schema.json").read_text())[0]
    rec = from_openalex(w)
    assert rec.venue == "Test Journal" and rec.publisher == "Test Publisher"
    assert rec.language == "en" and rec.type == "article"
    assert rec.topics == ["Systematic Reviews and Meta-Analysis"]
    assert rec.keywords == ["Screening"]
    assert rec.concepts == []


def test_abstract_rebuilt_in_word_order():
    inv = {"world": [1], "hello": [0, 2]}
    assert rebuild_abstract(inv) == "hello world hello"
    assert rebuild_abstract(None) == ""


@pytest.mark.parametrize("value,expected", [
    ("https://doi.org/10.1000/ABC.def", "10.1000/abc.def"),
    ("doi:10.1000/xyz.", "10.1000/xyz"),
    ("http://dx.doi.org/10.1234/a(b)c", "10.1234/a(b)c"),
    ("not a doi", None),
    (None, None),
])
def test_normalize_doi(value, expected):
    assert normalize_doi(value) == expected


def test_ids():
    assert short_openalex_id("https://openalex.org/W123") == "W123"
    assert short_openalex_id("w42") == "W42"
    assert short_openalex_id("https://api.openalex.org/works/W7") == "W7"
    assert short_openalex_id("X12") is None
    assert normalize_pmid("https://pubmed.ncbi.nlm.nih.gov/27919275") == "27919275"
    assert stable_id("a.ris", "3") == stable_id("a.ris", "3") != stable_id("a.ris", "4")


def test_fold_handles_nordic_and_german_letters():
    assert fold("Samskabelse i Ældreplejen – Øst") == "samskabelse i aeldreplejen ost"
    assert fold("Straße, Ko-Produktion!") == "strasse ko produktion"


def test_round_trip_dict(works):
    for w in works[:10]:
        rec = from_openalex(w)
        again = Record.from_dict(json.loads(json.dumps(rec.to_dict())))
        assert again == rec


def test_missing_id_is_an_error():
    with pytest.raises(ValueError, match="without a valid 'id'"):
        from_openalex({"title": "x"})


def test_html_in_openalex_titles_does_not_reach_records(works):
    w = dict(works[0], title="&lt;p&gt;Co-production of &lt;i&gt;welfare&lt;/i&gt;&lt;/p&gt;")
    assert from_openalex(w).title == "Co-production of welfare"
