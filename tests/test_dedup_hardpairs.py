"""Rules found on the pairs bib-dedupe gets wrong (its FN/FP lists, cut in tests/data/dedup/hardpairs/)."""
from dataclasses import replace
from pathlib import Path

import pytest

from review.core.records import Author, Record
from review.dedup.compare import compare
from review.dedup.group import find_duplicates
from review.dedup.prepare import DUPLICATE, prepare
from review.sources.importers import read_file

PAIRS = Path(__file__).parent / "data" / "dedup" / "hardpairs" / "pairs.csv"


@pytest.fixture(scope="module")
def pairs():
    res = read_file(PAIRS)
    rows = [line.split(",")[:3] for line in PAIRS.read_text(encoding="utf-8").splitlines()[1:]]
    out: dict[str, list] = {}
    for (_set, _kind, case), r in zip(rows, res.records):
        out.setdefault(case, []).append(r)
    return out


def outcome(a, b) -> str:
    return compare(prepare(a), prepare(b)).outcome


def merged(a, b) -> bool:
    return [sorted(g) for g in find_duplicates([a, b]).groups] == [[0, 1]]


def test_embase_names_with_spaced_initials(pairs):
    """cardiac id_0001050: "Diaz R. J.; Zobel C.; Cho H. C." — every initial is cut off the surname."""
    a = prepare(pairs["id_0001050;id_0007203"][0])
    assert a.surnames[:3] == ("diaz", "zobel", "cho")
    bibtex = "Diaz, R.J.; Zobel, C.; Cho, H.C.; Batthish, M.; Hinek, A.; Backx, P.H.; Wilson, G.J."
    assert a.surnames == prepare(Record(id="x", title="t", authors=[Author(n) for n in bibtex.split("; ")])).surnames


def test_isotope_labels_in_brackets_are_title_words(pairs):
    """neuroimaging id_0001510 "[11c]ns2456" / id_0001989 "c 11 ns2456" (WoS writes "C-11"): a label, not a
    translation in brackets; markup written as text ("[&lt;sup&gt;11&lt;/sup&gt;C]") is markup."""
    a, b = pairs["id_0001510;id_0001989"]
    pa, pb = prepare(a), prepare(b)
    assert "ns2456" in pa.title and pa.title_nums == pb.title_nums == {"112456"}
    assert merged(a, b)
    t = prepare(Record(id="x", title="Kinetic analysis and quantification of [&lt;sup&gt;11&lt;/sup&gt;C]Martinostat"))
    assert t.title == prepare(Record(id="y", title="Kinetic analysis and quantification of [11C]Martinostat")).title
    assert t.title.endswith("11cmartinostat")


def test_same_journal_volume_issue_and_page_range_outweigh_a_doi_alias(pairs):
    """cardiac id_0002563 / id_0008451: Basic Res Cardiol 92(6):368-377 as 10.1007/BF00796210 and as
    10.1007/s003950050046 (Springer's two DOIs); neuroimaging id_0001525 / id_0003422: a SICI DOI cut at its
    "&lt;". Not in strict mode (link_related off), and not in another issue or page range."""
    for case in ("id_0002563;id_0008451", "id_0001525;id_0003422"):
        a, b = pairs[case]
        c = compare(prepare(a), prepare(b))
        assert c.outcome == DUPLICATE and "different doi" in c.evidence_against, c.reasons
        assert compare(prepare(a), prepare(b), link_related=False).outcome != DUPLICATE
    a, b = pairs["id_0002563;id_0008451"]
    assert outcome(a, replace(b, pages="378-387")) != DUPLICATE
    assert outcome(a, replace(b, issue="5")) != DUPLICATE


def test_a_shared_doi_and_page_range_outweigh_a_number_lost_from_the_title(pairs):
    """cardiac id_0001050 / id_0007203: "(Kir2.1 and Kir2.2)" vs "(Kir2.2)", same DOI, Circ Res 95(3):325-332."""
    a, b = pairs["id_0001050;id_0007203"]
    c = compare(prepare(a), prepare(b))
    assert c.outcome == DUPLICATE and "different numbers in titles" in c.evidence_against


def test_the_same_page_range_year_and_authors_outweigh_a_number_mistyped_inside_a_word(pairs):
    """cytology_screening id_0000908 / id_0000909 "p6INK4a" for "p16(INK4a)", Int J Gynecol Cancer 17:1099-1103,
    no issue, no DOI. A number standing alone ("type 1" / "type 2", "week 16" / "week 52", "(1)" / "(2)",
    "1st" / "2nd", "part 1" / "part 2") names another work, whatever else agrees; so do other pages, a first page
    only, a range longer than an article's, other authors, and strict mode. cardiac id_0003264 / id_0008827
    (bib-dedupe's FN list: "i.v." read as "1 v" and as "4") therefore stays for a human."""
    names = [Author("Guedes, A C"), Author("Brenna, S M F"), Author("Coelho, S A S"), Author("Martinez, E Z"),
             Author("Syrjanen, K J"), Author("Zeferino, L C")]
    title = "Expression does not predict the outcome of cervical intraepithelial neoplasia grade 2"
    c = Record(id="c", title="p6INK4a " + title, authors=names, year=2007, pages="1099-1103", volume="17",
               venue="International Journal of Gynecological Cancer")
    d = replace(c, id="d", title="p16(INK4a) " + title, venue="International journal of gynecological cancer : "
                "official journal of the International Gynecological Cancer Society")
    assert merged(c, d)
    assert not merged(c, replace(d, authors=[Author("Smith, John"), Author("Lee, Kim")]))
    assert not merged(c, replace(d, pages="1104-1110"))
    assert not merged(replace(c, pages="1099"), replace(d, pages="1099"))
    assert not merged(replace(c, pages="1001-1103"), replace(d, pages="1001-1103"))  # a supplement's range
    assert not merged(replace(c, pages="1103-1099"), replace(d, pages="1103-1099"))
    assert compare(prepare(c), prepare(d), link_related=False).outcome != DUPLICATE
    base = "Insulin degludec in adults with diabetes: a randomised trial of glycaemic control"
    for x, y in (("type 1", "type 2"), ("at week 16", "at week 52"), ("(1)", "(2)"), ("1st report", "2nd report"),
                 ("part 1", "part 2")):
        e = replace(c, title=f"{base} {x}")
        assert not merged(e, replace(e, id="f", title=f"{base} {y}")), (x, y)
    assert not merged(*pairs["id_0003264;id_0008827"])


def test_a_proceedings_paper_a_year_apart_with_the_same_page_range(pairs):
    """neuroimaging id_0001684 / id_0000209: an IEEE BIBM paper, 2016 (WoS) and 2017 (Scopus), pages 1307-1313,
    no venue on either side. Other pages, or a short title, stay for a human."""
    a, b = pairs["id_0001684;id_0000209"]
    assert {a.year, b.year} == {2016, 2017} and not a.venue and not b.venue
    assert merged(a, b)
    assert outcome(a, replace(b, pages="1314-1320")) != DUPLICATE
    assert outcome(replace(a, title="network fusion"), replace(b, title="network fusion")) != DUPLICATE


def test_a_shared_doi_title_and_page_range_outweigh_a_volume_slip(pairs):
    """cardiac id_0001365 / id_0005154: J Cardiovasc Pharmacol 60(3):276-282 and an Embase record of it with
    volume 26 (its FASEB J meeting abstract's), same DOI. Without the DOI, or with other pages, not merged."""
    a, b = pairs["id_0001365;id_0005154"]
    assert a.doi == b.doi and a.volume != b.volume
    assert merged(a, b)
    assert outcome(a, replace(b, doi=None)) != DUPLICATE
    assert outcome(a, replace(b, pages="283-290")) != DUPLICATE


def test_pages_from_1_a_year_apart_are_not_one_proceedings_paper():
    """Yearly editions of a report and per-paper numbered items ("1-6") all start at page 1: a year apart with
    the same title and authors they stay for a human, in strict mode too."""
    title = "Annual report of the Danish national registry of cardiac arrest in adults"
    a = Record(id="a", title=title, authors=[Author("Jensen, Per")], year=2019, pages="1-40")
    b = replace(a, id="b", year=2020)
    assert not merged(a, b)
    t = "Deep learning for arrhythmia detection from wearable single-lead electrocardiogram signals"
    names = [Author("Smith, John"), Author("Lee, Kim"), Author("Park, Su")]
    c = Record(id="c", title=t, authors=names, year=2019, pages="1-6")
    d = replace(c, id="d", year=2020, venue="2020 IEEE International Conference on Communications")
    assert not merged(c, d)
    assert compare(prepare(c), prepare(d), link_related=False).outcome != DUPLICATE


def test_less_than_and_greater_than_written_as_entities_are_title_text():
    """"&lt;5 years" is not markup: the numbers stay and tell the two studies apart."""
    a = Record(id="a", title="Outcomes in children &lt;5 years and adults &gt;65 years with sepsis in Kenyan "
               "hospitals", authors=[Author("Otieno, Grace"), Author("Mwangi, Paul")], year=2018)
    b = replace(a, id="b", title=a.title.replace("&lt;5", "&lt;2"))
    assert prepare(a).title != prepare(b).title
    assert not merged(a, b)
    tagged = replace(a, title="Striatal [&lt;sup&gt;11&lt;/sup&gt;C]raclopride binding in schizophrenia")
    assert "sup" not in prepare(tagged).title.split()


def test_the_pairs_bib_dedupe_wrongly_merged_stay_apart(pairs):
    """The FP rows of the fixture: different works (bib-dedupe merged them)."""
    rows = [line.split(",")[:3] for line in PAIRS.read_text(encoding="utf-8").splitlines()[1:]]
    fp = sorted({case for _set, kind, case in rows if kind == "FP"})
    assert fp, "the fixture holds FP pairs"
    for case in fp:
        a, b = pairs[case]
        assert not merged(a, b), case
