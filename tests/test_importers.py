import csv
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from review.core.errors import InputError
from review.core.store import Store
from review.sources.importers import detect_format, read_file, split_authors
from review.stages.search import import_files
from review.ui.cli import main

BAD_ROWS = list(csv.DictReader(open(__import__("pathlib").Path(__file__).parent / "data" / "importers" / "bad"
                                    / "expected.csv", encoding="utf-8")))


@pytest.fixture
def bad_dir(data_dir):
    return data_dir / "importers" / "bad"


@pytest.fixture
def good_dir(data_dir):
    return data_dir / "importers" / "good"


# -- the malformed corpus -----------------------------------------------------------------------
@pytest.mark.parametrize("case", BAD_ROWS, ids=[r["file"] for r in BAD_ROWS])
def test_malformed_file_gives_one_clear_line(case, bad_dir):
    """Strict mode (``--strict``): every case, a bad field too, refuses the file with one line naming the place."""
    path = bad_dir / case["file"]
    with pytest.raises(InputError) as err:
        read_file(path, strict=True)
    msg = str(err.value)
    where = f"{path}:{case['line']}:" if case["line"] else f"{path}:"
    assert msg.startswith(where), msg
    assert case["message"].lower() in msg.lower(), msg
    assert "\n" not in msg and len(msg) < 400


def test_corpus_covers_every_format(bad_dir):
    kinds = {detect_format(bad_dir / r["file"]) for r in BAD_ROWS}
    assert kinds == {"ris", "bibtex", "csv"}
    assert len(BAD_ROWS) >= 36


@pytest.fixture
def review_protocol(tmp_path):
    p = tmp_path / "p.toml"
    p.write_text(f'id = "t"\ntitle = "T"\n\n[source]\nstore = "{(tmp_path / "t.sqlite").as_posix()}"\n\n'
                 '[[searches]]\nname = "s"\nquery = "x"\n')
    assert main(["init", str(p)]) == 0
    return p


@pytest.mark.parametrize("name", ["ris_truncated.ris", "bib_duplicate_key.bib", "csv_extra_field.csv",
                                  "csv_latin1.csv", "bib_empty.bib", "ris_only_junk.ris"])
def test_cli_import_error_is_one_line_exit_2(name, bad_dir, review_protocol, capsys):
    capsys.readouterr()
    assert main(["import", str(bad_dir / name), "-p", str(review_protocol), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and name in err and "\n" not in err and "Traceback" not in err


def test_lenient_skips_and_lists_every_bad_entry(bad_dir, tmp_path):
    r = read_file(bad_dir / "ris_duplicate_id.ris", lenient=True)
    assert len(r.records) == 1 and [s["locator"] for s in r.skipped] == ["7"]
    assert "duplicate ID 'r1'" in r.skipped[0]["reason"]
    r = read_file(bad_dir / "csv_extra_field.csv", lenient=True)
    assert r.keys == ["c1"] and "6 fields" in r.skipped[0]["reason"]
    r = read_file(bad_dir / "ris_text_outside.ris", lenient=True)
    assert r.keys == ["r1", "r2"] and not r.skipped
    assert [(p["line"], p["action"]) for p in r.problems] == [("7", "line left out")]
    r = read_file(bad_dir / "bib_unbalanced.bib", lenient=True)
    assert r.keys == ["ok1"] and "syntax error" in r.skipped[0]["reason"]


def test_lenient_import_logs_skipped_entries_in_the_store(bad_dir, tmp_path):
    store = Store(tmp_path / "s.sqlite")
    out = import_files(store, [bad_dir / "csv_duplicate_id.csv", bad_dir / "ris_truncated.ris"], lenient=True)
    assert out["records"] == 2 and out["skipped"] == 2
    skipped = [json.loads(e["data"]) for e in store.events("import", "skipped")]
    assert {(s["file"].rsplit("/", 1)[-1], s["locator"]) for s in skipped} == {("csv_duplicate_id.csv", "3"),
                                                                             ("ris_truncated.ris", "7")}
    runs = store.runs("import")
    assert len(runs) == 2 and json.loads(runs[0]["info"])["skipped"] == 1


def test_strict_import_writes_nothing(bad_dir, good_dir, tmp_path):
    store = Store(tmp_path / "s.sqlite")
    with pytest.raises(InputError):
        import_files(store, [good_dir / "zotero.bib", bad_dir / "csv_bad_year.csv"], strict=True)
    assert store.count_records() == 0 and store.runs("import") == []


# -- missing values and one bad cell --------------------------------------------------------------
FIELD_CASES = [r for r in BAD_ROWS if "not a year" in r["message"] or "not a DOI" in r["message"]]


@pytest.mark.parametrize("case", FIELD_CASES, ids=[r["file"] for r in FIELD_CASES])
def test_one_bad_field_is_dropped_and_listed_not_refused(case, bad_dir):
    r = read_file(bad_dir / case["file"])
    assert len(r.records) == 1 and not r.skipped
    [p] = r.problems
    assert p["line"] == case["line"] and p["field"] in ("year", "doi") and case["message"].split("'")[0] in p["reason"]
    assert getattr(r.records[0], p["field"]) is None and r.records[0].title


def _problems(r):
    return [(p["line"], p["record"], p["field"]) for p in r.problems]


def test_csv_from_r_with_na_cells(data_dir):
    """An R export (``write.csv``): unquoted ``NA``, ``NULL``, ``N/A``, ``None``, ``-``; two malformed cells."""
    r = read_file(data_dir / "importers" / "missing" / "r_export.csv")
    assert r.keys == ["1", "2", "3", "4"] and not r.skipped
    assert _problems(r) == [("4", "3", "doi"), ("5", "4", "year")]
    one, two, three, four = r.records
    assert one.doi == "10.1038/nrneph.2010.155" and one.abstract == "" and one.venue == "Nat Rev Nephrol"
    # NA journal: not filled from the 'source' column, which names the database (Medline), not the journal
    assert two.authors == [] and two.venue == "" and two.doi is None and two.abstract == "" and two.year == 2011
    assert three.year is None and three.doi is None and three.abstract == "" and three.venue == "Pediatric Nephrology"
    assert four.year is None and four.doi is None and four.pages == "2539-2542"


def test_ris_with_na_cells(data_dir):
    r = read_file(data_dir / "importers" / "missing" / "pubmed.ris")
    assert r.keys == ["1", "2", "3"] and not r.skipped
    assert _problems(r) == [("21", "2", "doi"), ("27", "3", "year")]  # the lines of the DO and PY tags
    one, two, three = r.records
    assert one.doi is None and one.year == 2011 and one.pages == "23-35"
    assert two.year is None and two.doi is None and two.title == "The treatment of atypical hus"
    assert three.venue == "" and three.year is None and three.volume == "25"


def test_bibtex_with_na_cells(data_dir):
    r = read_file(data_dir / "importers" / "missing" / "zotero.bib")
    assert r.keys == ["zuber2011", "loirat2011", "koehl2010"] and not r.skipped
    assert _problems(r) == [("14", "loirat2011", "year"), ("15", "loirat2011", "doi")]
    zuber, loirat, koehl = r.records
    assert zuber.year is None and zuber.doi is None and loirat.volume == "26"
    assert koehl.year == 2010 and koehl.doi is None and koehl.volume == ""


@pytest.mark.parametrize("name, where", [("r_export.csv", "r_export.csv:4:"), ("pubmed.ris", "pubmed.ris:21:"),
                                         ("zotero.bib", "zotero.bib:14:")])
def test_strict_refuses_a_bad_cell_naming_file_line_and_field(name, where, data_dir):
    with pytest.raises(InputError) as err:
        read_file(data_dir / "importers" / "missing" / name, strict=True)
    msg = str(err.value)
    assert where in msg and "(field " in msg and "--strict" in msg and "\n" not in msg


def test_cli_import_and_dedup_list_every_problem(data_dir, review_protocol, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    files = [str(data_dir / "importers" / "missing" / n) for n in ("r_export.csv", "pubmed.ris", "zotero.bib")]
    capsys.readouterr()
    assert main(["import", *files, "-p", str(review_protocol), "-q"]) == 0
    out = capsys.readouterr().out
    problems = tmp_path / "out" / "t" / "import_problems.csv"
    assert f"10 records read, 6 problems (see {Path('out') / 't' / 'import_problems.csv'})" in out
    rows = list(csv.DictReader(open(problems, encoding="utf-8")))
    assert [(Path(r["file"]).name, r["line"], r["field"], r["action"]) for r in rows] == [
        ("r_export.csv", "4", "doi", "field dropped"), ("r_export.csv", "5", "year", "field dropped"),
        ("pubmed.ris", "21", "doi", "field dropped"), ("pubmed.ris", "27", "year", "field dropped"),
        ("zotero.bib", "14", "year", "field dropped"), ("zotero.bib", "15", "doi", "field dropped")]
    assert main(["dedup", files[0], "--out", str(tmp_path / "d"), "-q"]) == 0
    out = capsys.readouterr().out
    assert f"4 records read, 2 problems (see {tmp_path / 'd' / 'import_problems.csv'})" in out
    assert len(list(csv.DictReader(open(tmp_path / "d" / "duplicate_groups.csv", encoding="utf-8")))) == 4
    assert main(["dedup", files[0], "--out", str(tmp_path / "d2"), "--strict", "-q"]) == 2


# -- real export layouts ------------------------------------------------------------------------
def test_scopus_csv(good_dir):
    r = read_file(good_dir / "scopus.csv")
    assert r.keys == ["2-s2.0-85000000001", "2-s2.0-85000000002"]
    a, b = r.records
    assert [x.name for x in a.authors] == ["Hansen A.", "Berg O."]
    assert (a.year, a.venue, a.volume, a.issue, a.pages, a.doi) == (
        2021, "Public Management Review", "23", "4", "512-530", "10.1080/14719037.2020.1234567")
    assert b.pages == "e12"  # article number when there are no pages
    assert a.sources[0].kind == "csv" and a.sources[0].locator == "2 ID=2-s2.0-85000000001"


def test_web_of_science_tab_delimited(good_dir):
    r = read_file(good_dir / "wos.txt")
    assert r.format == "csv" and r.keys == ["WOS:000600000000001", "WOS:000400000000002"]
    assert r.records[0].pages == "512-530" and r.records[1].pmid == "29012345"
    assert [x.name for x in r.records[0].authors] == ["Hansen, A", "Berg, O"]


def test_asreview_csv(good_dir):
    r = read_file(good_dir / "asreview.csv")
    assert r.keys == ["1", "2"]
    assert r.records[0].doi == "10.1080/14719037.2020.1234567"
    assert r.records[0].keywords == ["co-production", "volunteers"]


def test_bibtex_keys_latex_and_booktitle(good_dir):
    r = read_file(good_dir / "zotero.bib")
    assert r.keys == ["hansen_coproduction_2021", "sorensen_samskabelse_2019"]
    chapter = r.records[1]
    assert chapter.authors[0].name == "Sørensen, Eva" and chapter.title == "Samskabelse i kommunerne"
    assert chapter.venue == "Den nye kommune" and chapter.type == "book-chapter"  # OpenAlex work types
    assert chapter.sources[0].locator == "13 sorensen_samskabelse_2019"


def test_ris_pubmed_and_positions(good_dir):
    r = read_file(good_dir / "pubmed.ris")
    assert r.keys == ["29012345", "2"]  # the ID tag, else the position
    a, b = r.records
    assert a.pmid == "29012345" and a.year == 2018 and a.pages == "77-90" and a.venue == "Voluntas"
    assert "second line of the abstract" in a.abstract
    assert a.keywords == ["co-creation", "volunteering"]
    assert b.venue == "Co-production and co-creation" and b.doi == "10.4324/9781315204956-2"
    assert b.sources[0].locator == "20 #2"


def test_openalex_through_the_snapshot_reader(data_dir):
    r = read_file(data_dir / "spine" / "works_2023.json")
    assert r.format == "openalex" and r.records and all(k.startswith("W") for k in r.keys)
    assert r.keys == [rec.id for rec in r.records]


def test_column_mapping(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("Ref,Name of paper,Published\nA1,Partnerships in welfare,2015\n")
    with pytest.raises(InputError, match="no title or DOI column"):
        read_file(f)
    r = read_file(f, columns={"title": "Name of paper", "year": "Published", "id": "Ref"})
    assert r.keys == ["A1"] and r.records[0].title == "Partnerships in welfare" and r.records[0].year == 2015
    with pytest.raises(InputError, match="no column 'Nope'"):
        read_file(f, columns={"title": "Nope"})


def test_ids_are_stable_and_reimport_adds_nothing(good_dir, tmp_path):
    store = Store(tmp_path / "s.sqlite")
    first = import_files(store, [good_dir / "pubmed.ris", good_dir / "scopus.csv"])
    again = import_files(store, [good_dir / "pubmed.ris"])
    assert first["new"] == 4 and again["new"] == 0 and store.count_records() == 4
    assert len(store.query("SELECT * FROM record_sources")) == 4


def test_cli_import(good_dir, review_protocol, capsys):
    assert main(["import", str(good_dir / "zotero.bib"), str(good_dir / "wos.txt"), "-p", str(review_protocol)]) == 0
    out = capsys.readouterr().out
    assert "zotero.bib: 2 record(s) read (2 new), 0 skipped, 0 problem(s) [bibtex]" in out


@pytest.mark.parametrize("value, names", [
    ("Zuber, J and Le Quintrec, M", ["Zuber, J", "Le Quintrec, M"]),
    ("Hansen A.; Berg O.", ["Hansen A.", "Berg O."]),
    ("Smith J, Lee KM", ["Smith J", "Lee KM"]),
    ("Smith J., Lee K.", ["Smith J.", "Lee K."]),
    ("Sørensen, Eva", ["Sørensen, Eva"]),
    ("Alexion Pharmaceuticals, Inc", ["Alexion Pharmaceuticals, Inc"]),
])
def test_split_authors(value, names):
    assert split_authors(value) == names


# -- properties: any input gives records or one clear InputError --------------------------------
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=TEXT, fmt=st.sampled_from(["ris", "bibtex", "csv", "xml"]), prefix=st.sampled_from(
    ["", "TY  - JOUR\nTI  - ", "@article{k,\n title = {", "ID,title,year\n1,",
     "<?xml version=\"1.0\"?><xml><records><record><titles><title>"]))
def test_parsers_never_crash(body, fmt, prefix, tmp_path):
    f = tmp_path / f"x.{fmt}"
    f.write_text(prefix + body, encoding="utf-8")
    for lenient in (False, True):
        try:
            r = read_file(f, format="endnote" if fmt == "xml" else fmt, lenient=lenient)
        except InputError as e:
            assert str(e).startswith(str(f)) and "\n" not in str(e)
        else:
            assert len(r.records) == len(r.keys) == len(r.raws)
            assert all(rec.sources and rec.sources[0].name == str(f) for rec in r.records)


# -- one vocabulary of work types, keywords, Nordic and German CSV headers -------------------------------
def test_ris_and_bibtex_types_become_openalex_work_types(tmp_path):
    ris = tmp_path / "z.ris"
    ris.write_text("TY  - JOUR\nTI  - An article\nPY  - 2020\nER  - \nTY  - CHAP\nTI  - A chapter\nPY  - 2019\nER  - \n"
                   "TY  - CONF\nTI  - A paper\nPY  - 2018\nER  - \nTY  - THES\nTI  - A thesis\nPY  - 2017\nER  - \n",
                   encoding="utf-8")
    assert [r.type for r in read_file(ris).records] == ["article", "book-chapter", "proceedings-article",
                                                        "dissertation"]
    bib = tmp_path / "z.bib"
    bib.write_text("@Article{a, title={A}, year={2020}}\n@incollection{b, title={B}, year={2019}}\n"
                   "@inproceedings{c, title={C}, year={2018}}\n@techreport{d, title={D}, year={2017}}\n",
                   encoding="utf-8")
    assert [r.type for r in read_file(bib).records] == ["article", "book-chapter", "proceedings-article", "report"]


def test_csv_document_types_of_databases(tmp_path):
    f = tmp_path / "scopus.csv"
    f.write_text("Title,Document Type\nA,Article\nB,Conference Paper\nC,Book Chapter\nD,Review\n"
                 "E,\"Article; Proceedings Paper\"\nF,Something New\n", encoding="utf-8")
    assert [r.type for r in read_file(f).records] == ["article", "proceedings-article", "book-chapter", "review",
                                                      "article", "something new"]


def test_an_imported_journal_article_passes_an_article_type_criterion(tmp_path):
    from review.core.protocol import loads
    from review.screening.rules import rule_matches

    ris = tmp_path / "z.ris"
    ris.write_text("TY  - JOUR\nTI  - Co-production\nPY  - 2020\nER  - \n", encoding="utf-8")
    rec = read_file(ris).records[0]
    p = loads('id = "t"\ntitle = "t"\n[[criteria]]\nname = "type"\nkind = "include"\ntypes = ["article"]\n')
    assert rule_matches(p.criteria[0], rec) is True
    rec.type = "journal-article"  # OpenAlex's 2023 name
    assert rule_matches(p.criteria[0], rec) is True


def test_bibtex_keywords_are_split_on_commas_and_semicolons(tmp_path):
    bib = tmp_path / "k.bib"
    bib.write_text("@article{a, title={A}, year={2020}, keywords={co-production, welfare state, elderly care}}\n"
                   "@article{b, title={B}, year={2020}, keywords={samskabelse; frivillighed, kommuner}}\n",
                   encoding="utf-8")
    a, b = read_file(bib).records
    assert a.keywords == ["co-production", "welfare state", "elderly care"]
    assert b.keywords == ["samskabelse", "frivillighed, kommuner"]  # semicolons separate where both occur


@pytest.mark.parametrize("header,row", [
    ("Titel;Forfatter;År;DOI;Tidsskrift", "Samskabelse i ældreplejen;Hansen A;2021;10.1000/da1;Tidsskrift for Velfærd"),
    ("Tittel;Forfattere;Utgivelsesår;DOI;Tidsskrift", "Samskabelse i ældreplejen;Hansen A;2021;10.1000/da1;"
                                                      "Tidsskrift for Velfærd"),
    ("Titel;Författare;År;DOI;Tidskrift", "Samskabelse i ældreplejen;Hansen A;2021;10.1000/da1;Tidsskrift for Velfærd"),
    ("Titel;Autor;Jahr;DOI;Zeitschrift", "Samskabelse i ældreplejen;Hansen A;2021;10.1000/da1;Tidsskrift for Velfærd"),
])
def test_semicolon_csv_with_nordic_or_german_headers(tmp_path, header, row):
    f = tmp_path / "export.csv"
    f.write_text(header + "\n" + row + "\n", encoding="utf-8")
    res = read_file(f)
    rec = res.records[0]
    assert (rec.title, [a.name for a in rec.authors], rec.year, rec.doi, rec.venue) == (
        "Samskabelse i ældreplejen", ["Hansen A"], 2021, "10.1000/da1", "Tidsskrift for Velfærd")
    assert res.problems == []


def test_records_without_a_title_are_reported(tmp_path):
    f = tmp_path / "export.csv"
    f.write_text("Name;Year;DOI\nCo-production;2020;10.1000/x1\nPartnership;2021;10.1000/x2\n", encoding="utf-8")
    res = read_file(f)
    assert len(res.records) == 2 and all(not r.title for r in res.records)
    [p] = [p for p in res.problems if p["field"] == "title"]
    assert "2 of 2 records have no title" in p["reason"] and "Name" in p["reason"] and "--column title=" in p["reason"]
    ris = tmp_path / "export.ris"  # no columns to name: no CSV hint
    ris.write_text("TY  - JOUR\nDO  - 10.1000/x1\nER  - \n", encoding="utf-8")
    [p] = [p for p in read_file(ris).problems if p["field"] == "title"]
    assert "1 of 1 records have no title" in p["reason"] and "--column" not in p["reason"]


def test_a_tab_separated_sentence_set_imports_with_its_quotes(tmp_path):
    """Labelled sentences as users keep them: no title column, quotes that are text, a language column."""
    f = tmp_path / "sentences.tsv"
    f.write_text('n\tlang\tlabel\tsentence\n1\ten\tC\t"Co-production" is the joint delivery of services.\n'
                 '2\tda\tN\tSamskabelse er "moderne", siger hun.\n', encoding="utf-8")
    res = read_file(f)
    assert [(r.abstract, r.language) for r in res.records] == [
        ('"Co-production" is the joint delivery of services.', "en"), ('Samskabelse er "moderne", siger hun.', "da")]
    assert not res.problems  # no titles by design: no hint to name a title column (test above: other tables)


def test_a_quoted_tab_separated_export_keeps_its_quoting(tmp_path):
    f = tmp_path / "wos.tsv"
    f.write_text('TI\tAU\tPY\n"Co-production; a review"\t"Hansen, A"\t2020\n', encoding="utf-8")
    rec = read_file(f).records[0]
    assert (rec.title, rec.year) == ("Co-production; a review", 2020)


@pytest.mark.parametrize("name", ["ris_empty_reference.ris", "bib_empty_entry.bib", "csv_empty_record.csv"])
def test_an_empty_entry_is_kept_and_listed_not_refused(name, bad_dir):
    """Nothing but an id (or a note): kept, so the output accounts for every input entry, and listed;
    ``--strict`` refuses the file (test_malformed_file_gives_one_clear_line)."""
    r = read_file(bad_dir / name)
    empty = [p for p in r.problems if "empty record" in p["reason"]]
    assert len(empty) == 1 and empty[0]["field"] == "" and not r.skipped
    assert empty[0]["record"] in r.keys
    rec = r.records[r.keys.index(empty[0]["record"])]
    assert not rec.title and not rec.doi and not rec.authors


def test_missing_values_are_the_spellings_tools_write_not_any_case(tmp_path):
    """R's NA, SQL's NULL, pandas' NaN are missing; "Na" (a surname) and "Null" (a word) are values."""
    f = tmp_path / "r.csv"
    f.write_text("title,author,year,journal\n"
                 "Null hypothesis testing in welfare research,Na,2019,NA\n"
                 "NULL,NA,NA,Public Administration\n", encoding="utf-8")
    a, b = read_file(f).records
    assert a.title == "Null hypothesis testing in welfare research" and [x.name for x in a.authors] == ["Na"]
    assert a.year == 2019 and a.venue == ""
    assert b.title == "" and b.authors == [] and b.year is None and b.venue == "Public Administration"


def test_ris_banners_between_references_are_left_out_and_listed(tmp_path, capsys):
    """Some databases write a banner before each reference ("Record #1 of 2", "Provider: …"): by default the
    references are read and every banner line is listed; a tagged line outside a reference (a reference whose TY
    is missing) still stops the import, since a record would be lost."""
    ris = tmp_path / "banners.ris"
    ris.write_text("Record #1 of 2\nProvider: Provider\n1.\nTY  - JOUR\nID  - a1\nTI  - First title\nER  - \n\n"
                   "Record #2 of 2\n2.\nTY  - JOUR\nID  - a2\nTI  - Second title\nER  - \n", encoding="utf-8")
    r = read_file(ris)
    assert r.keys == ["a1", "a2"] and [rec.title for rec in r.records] == ["First title", "Second title"]
    assert [p["line"] for p in r.problems] == ["1", "2", "3", "9", "10"]
    assert all(p["action"] == "line left out" and "text outside a reference" in p["reason"] for p in r.problems)
    assert "Record #1 of 2" in r.problems[0]["reason"]
    assert main(["dedup", str(ris), "--out", str(tmp_path / "out"), "-q"]) == 0
    out = capsys.readouterr().out
    assert "2 records read, 5 problems" in out and f"{ris}:9: line left out: text outside a reference" in out
    rows = list(csv.DictReader(open(tmp_path / "out" / "import_problems.csv", encoding="utf-8")))
    assert [(r["line"], r["action"]) for r in rows][:2] == [("1", "line left out"), ("2", "line left out")]
    loose = tmp_path / "loose.ris"  # one-space tags (a pasted reference): still a reference, never left out
    loose.write_text("TY  - JOUR\nTI  - Good one\nER  - \n\nTY - JOUR\nTI - Pasted\nER - \n", encoding="utf-8")
    with pytest.raises(InputError, match=r"loose.ris:5: text outside a reference: 'TY - JOUR'"):
        read_file(loose)
    missing_ty = tmp_path / "missing_ty.ris"
    missing_ty.write_text("AU  - Smith, J.\nTI  - A reference without its type line\nER  - \n", encoding="utf-8")
    with pytest.raises(InputError, match=r"missing_ty.ris:1: text outside a reference"):
        read_file(missing_ty)


def test_web_of_science_plain_text(good_dir):
    """A Web of Science plain-text export (real records, tests/data/importers/PROVENANCE.md): continuation lines
    join the field above (a title over two lines), one author per line, UT as the record's id."""
    r = read_file(good_dir / "wos_plain.txt")
    assert r.format == "wos" and r.keys == ["WOS:000221807500019", "WOS:000221807500020"]
    a, b = r.records
    assert a.title == ("Interactions stabilizing the structure of the core light-harvesting complex (LHl) of "
                       "photosynthetic bacteria and its subunit (B820)")
    assert [x.name for x in a.authors] == ["Parkes-Loach, PS", "Majeed, AP", "Law, CJ", "Loach, PA"]
    assert (a.year, a.venue, a.volume, a.issue, a.pages, a.doi, a.pmid, a.type) == \
        (2004, "BIOCHEMISTRY", "43", "22", "7003-7016", "10.1021/bi049798f", "15170338", "article")
    assert len(b.authors) == 9 and b.pages == "7017-7027" and b.abstract.startswith("We use laser flash")
    assert not r.problems


def test_pubmed_medline_format(good_dir):
    """PubMed's own format (.nbib; real records, abridged): full author names, the DOI from LID/AID, the year from
    DP, the journal's full name, continuation lines joined; a review's type from its publication types."""
    r = read_file(good_dir / "pubmed.nbib")
    assert r.format == "medline" and r.keys == ["30922926", "36448670"]
    a, b = r.records
    assert [x.name for x in a.authors] == ["Griffin, Darren K", "Larkin, Denis M", "O'Connor, Rebecca E"]
    assert (a.year, a.venue, a.volume, a.issue, a.pages, a.doi, a.pmid, a.type) == \
        (2020, "European journal of medical genetics", "63", "2", "103640", "10.1016/j.ejmg.2019.03.004",
         "30922926", "review")
    assert a.abstract.endswith("genome assemblies of extant species.") and "Dinosaur" in a.keywords
    assert (b.doi, b.year, b.type, b.venue) == ("10.7554/elife.80092", 2022, "article", "eLife")


def test_medline_abbreviated_page_ranges():
    from review.sources.importers import _medline_pages

    assert _medline_pages("123-9") == ("123", "129") and _medline_pages("1021-35") == ("1021", "1035")
    assert _medline_pages("e0815") == ("e0815", "") and _medline_pages("45-52, 60") == ("45", "52")
    assert _medline_pages("1021-35; quiz 1036") == ("1021", "1035")


def test_tagged_files_report_bad_cells_and_truncation(tmp_path):
    wos = tmp_path / "savedrecs.txt"
    wos.write_text("FN Clarivate Analytics Web of Science\nVR 1.0\nPT J\nAU Hansen, A\nTI Co-production\nPY NA\n"
                   "DI not-a-doi\nUT WOS:1\nER\n\nPT J\nAU Berg, O\nTI Samskaping\nUT WOS:2\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"savedrecs.txt:11: file ends inside this record"):
        read_file(wos)
    r = read_file(wos, lenient=True)
    assert r.keys == ["WOS:1"] and r.records[0].year is None and r.records[0].doi is None
    assert [(p["line"], p["field"]) for p in r.problems] == [("7", "doi")]  # "NA" is a missing year, not a problem
    with pytest.raises(InputError, match=r"savedrecs.txt:7: .*doi"):
        read_file(wos, strict=True)
    nbib = tmp_path / "pubmed.nbib"
    nbib.write_text("PMID- 1\nTI  - A title\n      over two lines\nDP  - NULL\n\nhello\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"pubmed.nbib:6: not a tagged line: .hello."):
        read_file(nbib)
    r = read_file(nbib, lenient=True)
    assert r.records[0].title == "A title over two lines" and r.records[0].year is None
    inside = tmp_path / "inside.nbib"
    inside.write_text("PMID- 1\nTI  - A title\nstray text\nAB  - An abstract\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"inside.nbib:3: not a tagged line"):
        read_file(inside)
    r = read_file(inside, lenient=True)
    assert r.records[0].abstract == "An abstract" and not r.skipped
    assert [(p["line"], p["action"]) for p in r.problems] == [("3", "line left out")]


def test_tagged_records_keep_their_own_fields_and_whole_raw_text(good_dir, tmp_path):
    """A PMID without the blank line before it starts a record (nothing mixed into the one above); the stored raw
    text ends with the record's last continuation line; MEDLINE's year from DEP when DP is missing, a DOI problem on
    the line of the value it came from; WoS group and anonymous authors, a journal record without DT."""
    r = read_file(good_dir / "pubmed.nbib")
    assert r.raws[0].endswith("      2019 Mar 25.") and r.raws[1].endswith("doi: 10.7554/eLife.80092.")
    nbib = tmp_path / "two.nbib"
    nbib.write_text("PMID- 100\nTI  - Letter without DOI\nDP  - 2021\nPT  - Letter\n"
                    "PMID- 200\nTI  - Research article\nDEP - 20190325\nLID - S0000 [pii]\nAB  - x\n"
                    "AID - not/a-doi [doi]\nFAU - Berg, Olav\n", encoding="utf-8")
    r = read_file(nbib)
    assert r.keys == ["100", "200"] and r.records[0].doi is None and not r.records[0].authors
    assert (r.records[0].type, r.records[1].year, r.records[1].authors[0].name) == ("letter", 2019, "Berg, Olav")
    assert [(p["line"], p["field"]) for p in r.problems] == [("10", "doi")]
    wos = tmp_path / "savedrecs.txt"
    wos.write_bytes(b"PT J\r\nAU [Anonymous]\r\nCA WHO Study Group\r\nTI Report\r\nEA JAN 2021\r\nUT WOS:9\r\n"
                    b"ER\r\n\r\nEF\r\n")
    r = read_file(wos)
    assert r.format == "wos" and [a.name for a in r.records[0].authors] == ["WHO Study Group"]
    assert (r.records[0].type, r.records[0].year) == ("article", 2021)
    txt = tmp_path / "pubmed-export.txt"
    txt.write_text("PMID- 300\nTI  - A title\n", encoding="utf-8")
    assert read_file(txt).format == "medline"


# -- EndNote XML ------------------------------------------------------------------------------------------
def test_endnote_xml_exports(good_dir):
    """Real EndNote XML (JabRef's test files, MIT; see PROVENANCE.md): formatting runs inside a field joined, the
    pretty-printer's line breaks collapsed, the PMID from the accession number of a PubMed record, the DOI from
    electronic-resource-num, the ISSN in ``isbn`` kept only for a book, the record number as the record's key."""
    r = read_file(good_dir / "endnote_pubmed.xml")
    assert r.format == "endnote" and r.keys == ["2954"] and not r.problems
    a = r.records[0]
    assert a.title == "Trends in the lifetime risk of developing cancer in Great Britain: comparison of risk for " \
                      "those born from 1930 to 1960"
    assert [x.name for x in a.authors] == ["Ahmad, AS", "Ormiston-Smith, N", "Sasieni, PD"]
    assert (a.year, a.venue, a.volume, a.issue, a.pages, a.doi, a.pmid, a.type, a.isbn) == \
        (2015, "Br J Cancer", "112", "5", "943-7", "10.1038/bjc.2014.606", "25647015", "article", "")
    assert a.keywords[:3] == ["Age Factors", "Aged", "Aged, 80 and over"] and a.abstract == "test abstract"
    assert a.sources[0].locator == "4 rec-number=2954"
    r = read_file(good_dir / "endnote_ecology.xml")
    assert r.keys == ["13264", "13265", "650"]
    article, book, skua = r.records
    assert (article.pmid, article.isbn, article.venue, article.pages, article.language) == \
        (None, "", "Ecology", "93-105", "English")  # "ISI:000200148800007" is not a PMID
    assert (book.type, book.isbn) == ("book", "0012-9658")
    assert skua.title == "A demographic study of the south polar skua Catharacta maccormicki at Cape Crozier"
    assert [x.name for x in skua.authors] == ["Ainley, D.G.", "Ribic, C.A.", "Wodd, R.C."]


def test_endnote_xml_is_recognised_by_name_and_content(good_dir, tmp_path):
    assert detect_format(good_dir / "endnote_ecology.xml") == "endnote"
    f = tmp_path / "export"
    f.write_bytes((good_dir / "endnote_pubmed.xml").read_bytes())
    assert detect_format(f) == "endnote" and read_file(f).keys == ["2954"]


def test_endnote_xml_bad_cells_and_a_truncated_file(good_dir, tmp_path):
    """A DOI that is not a DOI is dropped and listed with the record's number; ``NA`` is missing; a file cut short
    names its line, and ``lenient`` keeps the records before the break."""
    text = (good_dir / "endnote_ecology.xml").read_text(encoding="utf-8")
    text = text.replace("<style face=\"normal\" font=\"default\" size=\"100%\">1990</style>",
                        "<style face=\"normal\" font=\"default\" size=\"100%\">NA</style>")
    text = text.replace("<label>", "<electronic-resource-num>S0140-6736(05)1</electronic-resource-num><label>")
    f = tmp_path / "cells.xml"
    f.write_text(text, encoding="utf-8")
    r = read_file(f)
    assert len(r.records) == 3 and r.records[2].year is None and r.records[2].doi is None
    assert [(p["record"], p["field"]) for p in r.problems] == [("650", "doi")]
    with pytest.raises(InputError, match=r"cells.xml:174: .*doi"):
        read_file(f, strict=True)
    cut = tmp_path / "cut.xml"
    cut.write_text(text[:text.index("<rec-number>650")], encoding="utf-8")
    with pytest.raises(InputError, match=r"cut.xml:\d+: not well-formed XML .*truncated"):
        read_file(cut)
    r = read_file(cut, lenient=True)
    assert r.keys == ["13264", "13265"] and len(r.skipped) == 1
    broken = tmp_path / "broken.xml"  # a break inside the file, after two whole records: each of them once
    broken.write_text(text.replace("<rec-number>650", "<rec-number>650</wrong>"), encoding="utf-8")
    r = read_file(broken, lenient=True)
    assert r.keys == ["13264", "13265"] and [s["reason"][:22] for s in r.skipped] == ["not well-formed XML (m"]


@pytest.mark.parametrize("doc", [
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
    '<xml><records><record><titles><title>&d;&d;&d;&d;&d;</title></titles></record></records></xml>',
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
    '<xml><records><record><titles><title>&secret;</title></titles></record></records></xml>',
])
def test_endnote_xml_with_entity_declarations_is_refused(doc, tmp_path):
    """Entities expand a small file in memory ("billion laughs") or read other files: no export declares them."""
    f = tmp_path / "hostile.xml"
    f.write_text(doc, encoding="utf-8")
    for lenient in (False, True):
        with pytest.raises(InputError, match=r"hostile.xml:1: the XML declares entities"):
            read_file(f, lenient=lenient)


@pytest.mark.parametrize("doc, message", [
    # a default attribute given to every <x>: a 1 MB file that took 3 GB before it was refused
    ('<!DOCTYPE xml [<!ATTLIST x a CDATA "' + "A" * 1000 + '">]><xml><records><record><titles><title>t</title>'
     "</titles><x/></record></records></xml>", r"hostile.xml:1: the XML declares entities or attributes"),
    ("<xml><records><record>" + "<a>x" * 40 + "</a>" * 40 + "</record></records></xml>",
     r"hostile.xml:1: elements nested deeper than 12 levels"),  # quadratic time and memory before
    ('<!DOCTYPE xml SYSTEM "x.dtd"><xml><records><record><titles><title>Alpha &mdash; beta</title></titles>'
     "</record></records></xml>", r"hostile.xml:1: the XML uses the entity &mdash; from an external"),
    ('<?xml version="1.0" encoding="Shift_JIS"?><xml><records><record><titles><title>t</title></titles>'
     "</record></records></xml>", r"hostile.xml: multi-byte encodings are not supported; save the file as UTF-8"),
    ('<?xml version="1.0"?><PubmedArticleSet><PubmedArticle><PMID>1</PMID></PubmedArticle></PubmedArticleSet>',
     r"hostile.xml: no <record> elements: not an EndNote XML export \(its root element is <PubmedArticleSet>\)"),
])
def test_endnote_xml_that_no_export_writes_gets_a_clear_refusal(doc, message, tmp_path):
    f = tmp_path / "hostile.xml"
    f.write_text(doc, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        read_file(f, lenient=True)


def test_endnote_xml_types_lists_and_identifiers(tmp_path):
    """EndNote's own type names; lists in one field split at its line breaks (&#xD;); a month alone is no year;
    an Embase accession number is not a PMID even when the database name also says MEDLINE; a record without
    a number is located by its position."""
    def record(ref: str, inner: str) -> str:
        return f'<record><ref-type name="{ref}">17</ref-type><titles><title>A title</title></titles>{inner}</record>'

    f = tmp_path / "types.xml"
    f.write_text("<xml><records>" + "".join([
        record("Electronic Article", "<rec-number>1</rec-number><keywords><keyword>Humans&#xD;Male</keyword>"
               "</keywords><urls><related-urls><url>http://a.org/x&#xD;http://b.org/y</url></related-urls></urls>"
               "<electronic-resource-num>10.1000/abc.1&#xD;10.1000/abc.2</electronic-resource-num>"
               "<dates><pub-dates><date>Jan</date></pub-dates></dates>"),
        record("Electronic Book Section", "<rec-number>2</rec-number><accession-num>PMID: 25647015</accession-num>"
               "<remote-database-name>PubMed</remote-database-name><dates><pub-dates><date>2015 Mar 3</date>"
               "</pub-dates></dates>"),
        record("Unpublished Work", "<accession-num>612345678</accession-num>"
               "<remote-database-name>Embase and MEDLINE</remote-database-name>"),
    ]) + "</records></xml>", encoding="utf-8")
    r = read_file(f)
    a, b, c = r.records
    assert (a.type, a.keywords, a.url, a.doi, a.year) == ("article", ["Humans", "Male"], "http://a.org/x",
                                                          "10.1000/abc.1", None)
    assert (b.type, b.pmid, b.year) == ("book-chapter", "25647015", 2015)
    assert (c.type, c.pmid, c.sources[0].locator) == ("preprint", None, "1 #3")
    assert not r.problems


def test_endnote_xml_reads_a_labelled_set_as_its_csv_does(data_dir, tmp_path):
    """The haematology cut (real records) written as EndNote writes XML (one line, each value in a style run): the
    same fields as from the CSV, and deduplication finds the same groups."""
    from xml.sax.saxutils import escape

    from review.dedup.group import find_duplicates

    src = read_file(data_dir / "dedup" / "haematology" / "records.csv")
    run = lambda v: f'<style face="normal" font="default" size="100%">{escape(v)}</style>'  # noqa: E731
    rows = list(csv.DictReader(open(data_dir / "dedup" / "haematology" / "records.csv", encoding="utf-8")))
    parts = []
    for n, row in enumerate(rows, 1):
        authors = "".join(f"<author>{run(a)}</author>" for a in split_authors(row["author"]))
        parts.append(f'<record><rec-number>{n}</rec-number><ref-type name="Journal Article">17</ref-type>'
                     f"<contributors><authors>{authors}</authors></contributors><titles><title>{run(row['title'])}"
                     f"</title><secondary-title>{run(row['journal'])}</secondary-title></titles>"
                     f"<pages>{run(row['pages'])}</pages><volume>{run(row['volume'])}</volume>"
                     f"<number>{run(row['number'])}</number><dates><year>{run(row['year'])}</year></dates></record>")
    f = tmp_path / "haematology.xml"
    f.write_text('<?xml version="1.0" encoding="UTF-8" ?><xml><records>' + "".join(parts) + "</records></xml>",
                 encoding="utf-8")
    xml = read_file(f)
    assert len(xml.records) == len(src.records) == len(rows)
    fields = lambda r: (r.title, [a.name for a in r.authors], r.year, r.venue, r.volume, r.issue, r.pages)  # noqa
    assert [fields(r) for r in xml.records] == [fields(r) for r in src.records]
    assert find_duplicates(xml.records).groups == find_duplicates(src.records).groups
