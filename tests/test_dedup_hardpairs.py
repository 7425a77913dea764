"""Rules found on the pairs bib-dedupe gets wrong (its FN/FP lists, cut in tests/data/dedup/hardpairs/)."""
from pathlib import Path

import pytest

from review.core.records import Author, Record
from review.dedup.group import find_duplicates
from review.dedup.prepare import prepare
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
