import json
import random
import re

import bibtexparser
import pytest
import rispy
from bibtexparser.middlewares import LatexDecodingMiddleware, SeparateCoAuthors, SplitNameParts

from review.core.errors import ExportError
from review.core.queries import included_ids
from review.core.records import Author, Record, Source
from review.core.store import Store
from review.sources.snapshot import read_records
from review.stages.export import export, select
from review.ui import cli
from review.writers.bibliography import (
    bibtex_fields,
    citation_keys,
    clean,
    entry_type,
    latex_to_text,
    ris_entry,
    store_keys,
    to_bibtex,
    to_csljson,
    to_ris,
)

AWKWARD_TITLE = r"Costs {in} 100% & $5 #1 user_name ~ ^ \LaTeX: <script>alert(1)</script> — Ødegård"


def awkward_records() -> list[Record]:
    return [
        Record(id="W1", title=AWKWARD_TITLE, year=2020, type="journal-article", venue="Journal of A & B",
               volume="12", issue="3", pages="101-120", doi="10.1000/abc_def", url="https://example.org/a?b=1&c=%20",
               abstract="Line one\nline   two\twith 50% {braces} and a backslash \\ here.",
               authors=[Author("Jan Ødegård"), Author("Åsa Ås"), Author("Jürgen Müßig"),
                        Author("Lieke van der Valk"), Author("Martin Luther King Jr.")],
               keywords=["co-production"], topics=["Public services"], concepts=["Co-production", "Welfare"],
               openalex_id="W1", pmid="123"),
        Record(id="W2", title="Samskabelse i kommunerne", year=2021, type="book-chapter", venue="Håndbog",
               authors=[Author("Søren Kierkegaard"), Author("World Health Organization"), Author("Anders and Sons")],
               openalex_id="W2"),
        Record(id="W3", title="Untitled {", year=None, type="dissertation", publisher="Aarhus Universitet",
               authors=[], openalex_id="W3"),
    ]


def parse(text: str, *middlewares):
    lib = bibtexparser.parse_string(text, append_middleware=list(middlewares) or None)
    assert not lib.failed_blocks
    return lib


def test_awkward_names_and_latex_specials_round_trip():
    recs = awkward_records()
    keys = citation_keys(recs)
    text = to_bibtex(recs, keys)
    lib = parse(text)
    assert [e.key for e in lib.entries] == [keys[r.id] for r in recs]
    for rec, entry in zip(recs, lib.entries):
        etype, fields = bibtex_fields(rec)
        assert entry.entry_type == etype
        assert {f.key: f.value for f in entry.fields} == fields  # exactly what we wrote
    first = lib.entries[0].fields_dict
    # the LaTeX specials come back to the original text (whitespace runs are one space in BibTeX)
    assert latex_to_text(first["title"].value) == AWKWARD_TITLE
    assert latex_to_text(first["abstract"].value) == "Line one line two with 50% {braces} and a backslash \\ here."
    assert first["title"].value.startswith(r"Costs \textbraceleft{}in\textbraceright{} 100\% \& \$5 \#1 user\_name")
    # BibTeX itself counts every brace, escaped or not: each value must be balanced
    for entry in lib.entries:
        for f in entry.fields:
            depth = 0
            for ch in f.value:
                depth += {"{": 1, "}": -1}.get(ch, 0)
                assert depth >= 0, (entry.key, f.key)
            assert depth == 0, (entry.key, f.key)
    # Unicode names kept as written
    assert first["author"].value == ("Ødegård, Jan and Ås, Åsa and Müßig, Jürgen and van der Valk, Lieke and "
                                     "King, Jr., Martin Luther")
    assert first["doi"].value == "10.1000/abc_def" and first["url"].value == "https://example.org/a?b=1&c=%20"
    assert first["openalex"].value == "W1" and first["pages"].value == "101--120"
    assert first["keywords"].value == "co-production, Public services, Welfare"  # Co-production folded away


def test_names_as_bibtexparser_splits_them():
    lib = parse(to_bibtex(awkward_records()), SeparateCoAuthors(), SplitNameParts())
    names = lib.entries[0].fields_dict["author"].value
    assert [(n.last, n.von, n.first, n.jr) for n in names] == [
        (["Ødegård"], [], ["Jan"], []), (["Ås"], [], ["Åsa"], []), (["Müßig"], [], ["Jürgen"], []),
        (["Valk"], ["van", "der"], ["Lieke"], []), (["King"], [], ["Martin", "Luther"], ["Jr."])]
    names2 = lib.entries[1].fields_dict["author"].value
    assert len(names2) == 3  # an organisation and a name containing "and" stay one author each
    assert names2[1].last == ["{World Health Organization}"]


def test_latex_accents_option_decodes_back():
    recs = awkward_records()
    text = to_bibtex(recs, unicode=False)
    lib = parse(text)
    author = lib.entries[0].fields_dict["author"].value
    assert author.isascii() and r"{\O}deg{\r{a}}rd" in author
    decoded = parse(text, LatexDecodingMiddleware())
    assert decoded.entries[0].fields_dict["author"].value.startswith("Ødegård, Jan and Ås, Åsa and Müßig, Jürgen")
    assert decoded.entries[1].fields_dict["title"].value == "Samskabelse i kommunerne"


def test_entry_types_old_and_new_openalex():
    cases = {"journal-article": "article", "article": "article", "review": "article", "book": "book",
             "monograph": "book", "book-chapter": "incollection", "book-part": "incollection",
             "proceedings-article": "inproceedings", "report": "techreport", "dissertation": "phdthesis",
             "dataset": "misc", "other": "misc", "": "misc", "paratext": "misc"}
    assert {t: entry_type(t) for t in cases} == cases
    assert entry_type("journal-article", "ris") == "JOUR" and entry_type("book-chapter", "csljson") == "chapter"
    _, f = bibtex_fields(awkward_records()[1])
    assert f["booktitle"] == "Håndbog"
    _, f = bibtex_fields(awkward_records()[2])
    assert f["school"] == "Aarhus Universitet"


def test_keys_readable_unique_and_independent_of_order():
    a = Author("Anna Smith")
    recs = [Record(id=f"W{i}", title=t, year=y, authors=[a]) for i, (t, y) in enumerate(
        [("Trust in the state", 2020), ("Trust and co-creation", 2020), ("The trust deficit", 2020),
         ("Trust again", 2019), ("A study", None)])]
    recs.append(Record(id="W9", title="Co-production of welfare", year=2018, authors=[Author("Jan Ødegård")]))
    recs.append(Record(id="W10", title="On 2020 and beyond", year=2021, authors=[]))
    keys = citation_keys(recs)
    assert keys["W9"] == "odegard2018coproduction"
    assert keys["W3"] == "smith2019trust" and keys["W4"] == "smithndstudy" and keys["W10"] == "anon2021beyond"
    # the three 2020 "trust" titles collide: a, b, c in order of (folded) title
    assert [keys["W2"], keys["W1"], keys["W0"]] == ["smith2020trusta", "smith2020trustb", "smith2020trustc"]
    for seed in range(3):
        shuffled = recs[:]
        random.Random(seed).shuffle(shuffled)
        assert citation_keys(shuffled) == keys
    many = [Record(id=f"X{i:03d}", title="Same", year=2000, authors=[a]) for i in range(30)]
    k = citation_keys(many)
    assert len(set(k.values())) == 30 and k["X026"] == "smith2000sameaa"


def test_store_keys_are_kept_when_the_store_grows(tmp_path):
    store = Store(tmp_path / "r.sqlite")
    a = Author("Anna Smith")
    first = [Record(id="W1", title="Trust", year=2020, authors=[a])]
    assert store_keys(store, first) == {"W1": "smith2020trust"}
    later = [Record(id="W0", title="Trust", year=2020, authors=[a]), *first]
    keys = store_keys(store, later)
    assert keys["W1"] == "smith2020trust"  # a key once given never changes
    assert keys["W0"] == "smith2020trusta"
    assert store_keys(store, later) == keys


def test_ris_round_trip_with_rispy():
    recs = awkward_records()
    keys = citation_keys(recs)
    back = rispy.loads(to_ris(recs, keys))
    assert back == [ris_entry(r, keys[r.id]) for r in recs]
    first = back[0]
    assert first["type_of_reference"] == "JOUR" and first["authors"][0] == "Ødegård, Jan"
    assert first["title"] == AWKWARD_TITLE and first["start_page"] == "101" and first["end_page"] == "120"
    assert first["accession_number"] == "W1" and first["doi"] == "10.1000/abc_def"
    assert back[1]["type_of_reference"] == "CHAP" and back[2]["type_of_reference"] == "THES"


# field names and types of the CSL 1.0.2 schema (csl-data.json) that we may write
CSL_FIELDS = {"id", "type", "title", "author", "issued", "container-title", "volume", "issue", "page", "publisher",
              "DOI", "URL", "ISBN", "PMID", "language", "keyword", "abstract", "note"}
CSL_TYPES = {"article", "article-journal", "book", "chapter", "paper-conference", "report", "thesis", "dataset",
             "document"}


def test_csljson_uses_csl_schema_names():
    recs = awkward_records()
    items = json.loads(to_csljson(recs))
    keys = citation_keys(recs)
    assert [i["id"] for i in items] == [keys[r.id] for r in recs]
    for item in items:
        assert set(item) <= CSL_FIELDS and item["type"] in CSL_TYPES
        for a in item.get("author", []):
            assert set(a) <= {"family", "given", "suffix", "literal"} and ("family" in a or "literal" in a)
    first = items[0]
    assert first["type"] == "article-journal" and first["issued"] == {"date-parts": [[2020]]}
    assert first["author"][3] == {"family": "van der Valk", "given": "Lieke"}
    assert first["container-title"] == "Journal of A & B" and first["page"] == "101-120"
    assert first["DOI"] == "10.1000/abc_def" and first["title"] == AWKWARD_TITLE
    assert items[1]["author"][1] == {"literal": "World Health Organization"}
    assert "issued" not in items[2]


def test_shipped_corpus_bibtex_round_trip(root):
    recs = [r for r, _ in read_records(root / "bib" / "synergy_openalex.jsonl.gz")]
    assert len(recs) == 3182
    keys = citation_keys(recs)
    lib = parse(to_bibtex(recs, keys))
    assert len(lib.entries) == 3182
    assert len({e.key for e in lib.entries}) == 3182
    assert all(re.fullmatch(r"[a-z0-9]+", e.key) for e in lib.entries)
    by_key = {e.key: e.fields_dict for e in lib.entries}
    dois = {r.id: r.doi for r in recs}
    assert {rid: (by_key[k]["doi"].value if "doi" in by_key[k] else None) for rid, k in keys.items()} == dois
    titles = {rid: latex_to_text(by_key[k]["title"].value) if "title" in by_key[k] else "" for rid, k in keys.items()}
    # BibTeX has one space for any whitespace run; control characters (one title has a stray cp1252 \x96) go
    control = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
    assert titles == {r.id: " ".join(control.sub("", r.title).split()) for r in recs}
    # the same corpus through RIS and CSL-JSON: every record, same DOIs
    sample = recs[::10]
    assert [e.get("doi") for e in rispy.loads(to_ris(sample))] == [r.doi for r in sample]
    assert [i.get("DOI") for i in json.loads(to_csljson(sample))] == [r.doi for r in sample]


# -- selections on a store ------------------------------------------------------------------------------
def small_store(path) -> Store:
    store = Store(path)
    recs = awkward_records()
    for r in recs:
        r.sources = [Source("snapshot", "search:test", r.id)]
    store.add_records(recs)
    store.add_decision("W1", "include", "alice")
    store.add_decision("W1", "exclude", "bob")
    store.add_decision("W1", "include", "reconciled")
    store.add_decision("W2", "include", "alice")
    store.add_decision("W2", "exclude", "bob")  # unresolved conflict: not included
    store.add_decision("W3", "include", "alice")
    return store


def test_included_uses_reconciled_and_full_text(tmp_path):
    store = small_store(tmp_path / "r.sqlite")
    assert included_ids(store) == ["W1", "W3"]
    store.add_decision("W3", "exclude", "alice", stage="full_text", criterion="E1")
    assert included_ids(store) == []  # once full-text decisions exist, they decide
    store.add_decision("W1", "include", "alice", stage="full_text")
    assert included_ids(store) == ["W1"] and included_ids(store, "title_abstract") == ["W1", "W3"]


def test_export_selection_and_errors(tmp_path):
    store = small_store(tmp_path / "r.sqlite")
    r = export(store, tmp_path / "inc.bib", "bibtex", "included")
    assert r["n"] == 2
    assert [e.key for e in parse((tmp_path / "inc.bib").read_text()).entries] == [
        store_keys(store, list(store.records(["W1", "W3"])))[i] for i in ("W1", "W3")]
    export(store, tmp_path / "one.json", "csljson", ["W2"])
    assert json.loads((tmp_path / "one.json").read_text())[0]["title"] == "Samskabelse i kommunerne"
    with pytest.raises(ExportError, match="not in the store"):
        export(store, tmp_path / "x.bib", "bibtex", ["W2", "W404"])
    with pytest.raises(ExportError, match="unknown format"):
        export(store, tmp_path / "x.bib", "endnote")
    with pytest.raises(ExportError, match="run the networks stage"):
        select(store, "key-references")
    with pytest.raises(ExportError, match="unknown selection"):
        select(store, "cluster:x")
    refs = [{"id": "W2", "count": 3}, {"id": "W404"}, {"id": "W1"}]
    store.put_artifact("network:cocitation", {"key_references": refs, "clusters": [{"id": 0, "members": ["W9"]}]})
    store.put_artifact("network:coupling",
                       {"clusters": [{"id": 0, "members": ["W3"]}, {"id": 1, "members": ["W1", "W2"]}]})
    assert select(store, "key-references") == ["W2", "W404", "W1"]
    assert select(store, "cluster:1") == ["W1", "W2"] and select(store, "cluster:cocitation:0") == ["W9"]
    with pytest.raises(ExportError, match="no cluster 7"):
        select(store, "cluster:7")
    # the networks stage's own shapes: key references {"cited", "local"}; cluster summaries with top nodes
    # only, the members read from the GraphML export
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from([("W1", {"cluster": 0}), ("W2", {"cluster": 1}), ("W3", {"cluster": 0})])
    nx.write_graphml(g, tmp_path / "citation.graphml")
    store.put_artifact("network:citation", {
        "key_references": {"cited": [{"id": "W3", "citations": 2}], "local": [{"id": "W3"}, {"id": "W1"}]},
        "clusters": [{"cluster": 0, "size": 2, "top_nodes": [{"id": "W1"}]}],
        "files": {"graphml": str(tmp_path / "citation.graphml")}})
    assert select(store, "key-references:citation") == ["W3", "W1"]
    assert select(store, "cluster:citation:0") == ["W1", "W3"]
    # W404 is a cited work outside the corpus: counted, not exported
    r = export(store, tmp_path / "key.bib", "bibtex", "key-references")
    assert (r["n"], r["not_in_store"]) == (2, 1)
    assert [e.fields_dict["openalex"].value for e in parse((tmp_path / "key.bib").read_text()).entries] == ["W2", "W1"]


def test_cli_export(tmp_path, capsys):
    small_store(tmp_path / "r.sqlite").add_protocol("h", 'id = "t"\ntitle = "T"\n')
    out = tmp_path / "inc.ris"
    assert cli.main(["export", "--store", str(tmp_path / "r.sqlite"), "--format", "ris", "--select", "included",
                     "--out", str(out)]) == 0
    assert [e["accession_number"] for e in rispy.loads(out.read_text())] == ["W1", "W3"]
    assert cli.main(["export", "--store", str(tmp_path / "r.sqlite"), "--select", "nope", "--out",
                     str(tmp_path / "x.bib")]) == 2
    assert "unknown selection" in capsys.readouterr().err


def test_clean_removes_control_characters():
    assert clean("a\x00b\x1f c\n\n d") == "ab c d"


def test_stage_settings_are_checked(tmp_path):
    from review.core.protocol import loads
    from review.stages.export import run

    store = small_store(tmp_path / "r.sqlite")
    from review.core.errors import ProtocolError

    with pytest.raises(ProtocolError, match="key 'export.abstracts': unknown key; did you mean 'abstract'"):
        loads('id = "t"\ntitle = "T"\n[export]\nabstracts = false\n')
    with pytest.raises(ProtocolError, match="export.formats"):
        loads('id = "t"\ntitle = "T"\n[export]\nformats = ["endnote"]\n')
    summary = run(store, loads('id = "t"\ntitle = "T"\n[export]\nformats = ["ris"]\nabstract = false\n'),
                  progress=False, out_dir=tmp_path / "o")
    assert (summary["records"], summary["included"]) == (3, 2)
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [
        "included.ris", "prisma.csv", "prisma.png", "prisma.svg", "records.ris", "report.html"]
    assert "abstract" not in rispy.loads((tmp_path / "o" / "records.ris").read_text())[0]


def test_surname_initials_names_keep_the_surname_as_family():
    from review.writers.bibliography import split_name

    assert split_name("Sauvé B") == {"family": "Sauvé", "given": "B."}
    assert split_name("van der Berg JH") == {"family": "van der Berg", "given": "J. H."}
    assert split_name("B. Sauvé") == {"family": "Sauvé", "given": "B."}
    assert split_name("Anne Hansen") == {"family": "Hansen", "given": "Anne"}


def test_imported_types_come_out_as_their_bibtex_types(tmp_path):
    from review.sources.importers import read_file
    from review.writers.bibliography import to_bibtex

    ris = tmp_path / "z.ris"
    ris.write_text("TY  - JOUR\nTI  - An article\nAU  - Sauvé B\nPY  - 2020\nER  - \nTY  - CHAP\nTI  - A chapter\n"
                   "PY  - 2019\nER  - \nTY  - CONF\nTI  - A paper\nPY  - 2018\nER  - \n", encoding="utf-8")
    bib = to_bibtex(read_file(ris).records)
    assert [ln.split("{")[0] for ln in bib.splitlines() if ln.startswith("@")] == ["@article", "@incollection",
                                                                                 "@inproceedings"]
    assert "author = {Sauvé, B.}" in bib
