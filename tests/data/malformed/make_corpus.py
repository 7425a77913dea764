"""Write the malformed-input corpus and its manifest ``cases.toml``.

Run from anywhere: ``python tests/data/malformed/make_corpus.py``. Every file is synthetic
(written here, no third-party data). Each case says which command reads it and what the
one-line error must contain: the file name with the place (``:line``) and the problem.

Commands (``{file}`` is the case file, ``{proto}`` a valid protocol in a temporary folder):
protocol → ``review init {file}``; snapshot → ``review search {proto} --snapshot {file}``;
import → ``review import {file} --protocol {proto}``; store → ``review status --store {file}``;
labels → ``review simulate {file}``; dedup → ``review dedup {file} --out OUT``; stage → ``review run
{file} --stages STAGE``; fulltext → ``review fulltext add W1 {file}`` (a store holding W1).
"""
from __future__ import annotations

import gzip
import io
import json
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES: list[dict] = []


def case(name: str, data: bytes | str, command: str, expect: list[str], why: str, **extra: str) -> None:
    """``extra``: ``stage`` (for command ``stage``), ``xfail`` (a known bug, reported to the module's owner)."""
    CASES.append({"file": name, "command": command, "expect": expect, "why": why, **extra,
                  "data": data.encode("utf-8") if isinstance(data, str) else data})


# -- protocols (TOML) --------------------------------------------------------------------------------
OK = 'id = "demo"\ntitle = "Co-production"\n'
C = "protocol"
case("protocol/truncated.toml", OK + '[[searches]]\nname = "s1"\nquery = "co-produc', C,
     ["truncated.toml:5", "TOML syntax error"], "file cut inside a string")
case("protocol/latin1.toml", (OK + 'questions = ["Hvordan samskaber kommuner og frivillige?"]\n'
                              '[concepts.samskabelse]\nterms.da = ["samskabelse", "frivillig forening", "tværsektoriel"]\n'
                              ).encode("latin-1"), C, ["latin1.toml:5", "not UTF-8"], "Latin-1 bytes (æ ø å)")
case("protocol/utf16.toml", (OK + 'questions = ["Hvordan?"]\n').encode("utf-16"), C, ["utf16.toml:1", "not UTF-8"],
     "UTF-16 with BOM")
case("protocol/binary.toml", bytes(range(256)) * 4, C, ["binary.toml:", "not UTF-8"], "not text at all")
case("protocol/nul_byte.toml", OK + 'questions = ["a\x00b"]\n', C, ["nul_byte.toml:3", "TOML syntax error"],
     "NUL character in a string")
case("protocol/empty.toml", "", C, ["empty.toml", "'id'", "required"], "empty file")
case("protocol/missing_id.toml", 'title = "T"\n', C, ["missing_id.toml", "'id'", "required"], "no id")
case("protocol/missing_title.toml", 'id = "x"\n', C, ["missing_title.toml", "'title'", "required"], "no title")
case("protocol/id_number.toml", 'id = 17\ntitle = "T"\n', C, ["id_number.toml:1", "'id'", "expected a string"],
     "wrong type")
case("protocol/id_path.toml", 'id = "../../etc/cron.d/x"\ntitle = "T"\n', C, ["id_path.toml:1", "'id'", "letters"],
     "id names the store file: no path characters")
case("protocol/duplicate_key.toml", OK + 'title = "again"\n', C, ["duplicate_key.toml:3", "TOML syntax error"],
     "the same key twice")
case("protocol/duplicate_table.toml", OK + '[concepts.a]\nterms.en = ["x"]\n[concepts.a]\nterms.da = ["y"]\n', C,
     ["duplicate_table.toml:5", "TOML syntax error"], "the same table twice")
case("protocol/unknown_key.toml", OK + 'serches = []\n', C, ["unknown_key.toml:3", "'serches'", "unknown key"],
     "typo in a top-level key")
case("protocol/concept_not_table.toml", OK + '[concepts]\ncoproduction = "co-production"\n', C,
     ["concept_not_table.toml:4", "concepts.coproduction", "expected a table"], "concept is a string")
case("protocol/concept_no_terms.toml", OK + '[concepts.a]\nlabel = "A"\n', C,
     ["concept_no_terms.toml", "concepts.a.terms", "required"], "concept without terms")
case("protocol/concept_terms_number.toml", OK + '[concepts.a]\nterms.en = 5\n', C,
     ["concept_terms_number.toml:4", "concepts.a.terms.en", "list of strings"], "terms is a number")
case("protocol/concept_terms_empty.toml", OK + '[concepts.a]\nterms.en = []\n', C,
     ["concept_terms_empty.toml:4", "concepts.a.terms", "at least one term"], "no terms")
case("protocol/searches_string.toml", OK + 'searches = "co-production"\n', C,
     ["searches_string.toml:3", "'searches'", "expected a list"], "searches is not an array of tables")
case("protocol/search_no_query.toml", OK + '[[searches]]\nname = "s1"\n', C,
     ["search_no_query.toml", "searches[0].query", "required"], "search without query")
case("protocol/search_empty_query.toml", OK + '[[searches]]\nname = "s1"\nquery = "  "\n', C,
     ["search_empty_query.toml:5", "searches[0].query", "must not be empty"], "blank query")
case("protocol/search_unbalanced.toml", OK + '[[searches]]\nname = "s1"\nquery = "(co-production OR samskab*"\n', C,
     ["search_unbalanced.toml:5", "searches[0].query", "missing ')'"], "query with an open parenthesis")
case("protocol/search_year_string.toml", OK + '[[searches]]\nquery = "x"\nfrom_year = "2010"\n', C,
     ["search_year_string.toml:5", "searches[0].from_year", "expected an integer"], "year as a string")
case("protocol/search_year_range.toml", OK + '[[searches]]\nquery = "x"\nfrom_year = 20100\n', C,
     ["search_year_range.toml:5", "from_year", "between 1000 and 2100"], "five-digit year")
case("protocol/search_years_reversed.toml", OK + '[[searches]]\nquery = "x"\nfrom_year = 2020\nto_year = 2010\n', C,
     ["search_years_reversed.toml:6", "to_year", "before from_year"], "to_year before from_year")
case("protocol/search_unknown_key.toml", OK + '[[searches]]\nquery = "x"\nfilter = "type:article"\n', C,
     ["search_unknown_key.toml:5", "searches[0].filter", "unknown key"], "unknown key in a search")
case("protocol/search_duplicate_names.toml",
     OK + '[[searches]]\nname = "s"\nquery = "x"\n[[searches]]\nname = "s"\nquery = "y"\n', C,
     ["search_duplicate_names.toml", "unique"], "two searches named alike")
case("protocol/criterion_bad_kind.toml", OK + '[[criteria]]\nname = "I1"\nkind = "maybe"\n', C,
     ["criterion_bad_kind.toml:5", "criteria[0].kind", "include"], "kind is neither include nor exclude")
case("protocol/criterion_no_name.toml", OK + '[[criteria]]\nkind = "include"\n', C,
     ["criterion_no_name.toml", "criteria[0].name", "required"], "criterion without name")
case("protocol/criterion_typo.toml", OK + '[[criteria]]\nname = "E1"\nkind = "exclude"\nany_term = ["mice"]\n', C,
     ["criterion_typo.toml:6", "criteria[0].any_term", "unknown key"], "any_term for any_terms")
case("protocol/criterion_automatic_string.toml", OK + '[[criteria]]\nname = "E1"\nkind = "exclude"\nautomatic = "yes"\n',
     C, ["criterion_automatic_string.toml:6", "automatic", "true or false"], "boolean as a string")
case("protocol/criterion_terms_table.toml", OK + '[[criteria]]\nname = "E1"\nkind = "exclude"\nany_terms = {a = 1}\n',
     C, ["criterion_terms_table.toml:6", "any_terms", "list of strings"], "terms as a table")
case("protocol/source_string.toml", OK + 'source = "openalex"\n', C,
     ["source_string.toml:3", "'source'", "expected a table"], "source is a string")
case("protocol/snowball_depth_string.toml", OK + '[snowball]\ndepth = "2"\n', C,
     ["snowball_depth_string.toml:4", "snowball.depth", "expected an integer"], "depth as a string")
case("protocol/dedup_not_table.toml", OK + 'dedup = ["doi"]\n', C,
     ["dedup_not_table.toml:3", "'dedup'", "expected a table"], "settings table is a list")
case("protocol/code.toml", OK + 'questions = [__import__("os").system("touch PWNED")]\n', C,
     ["code.toml:3", "TOML syntax error"], "Python code is not TOML")

# -- OpenAlex works (snapshot search) ----------------------------------------------------------------
S = "snapshot"
W = {"id": "https://openalex.org/W2741809807", "title": "Co-production of public services", "publication_year": 2017,
     "type": "article", "authorships": [{"author": {"display_name": "Tina Nabatchi"}, "institutions": []}]}


def work(**kw) -> dict:
    return {**W, **kw}


def jl(*works) -> str:
    return "\n".join(json.dumps(w, ensure_ascii=False) for w in works) + "\n"


good2 = work(id="https://openalex.org/W2")
case("openalex/truncated_array.json", json.dumps([W, good2], indent=1)[:-40], S,
     ["truncated_array.json", "truncated"], "JSON array cut off")
case("openalex/truncated_line.jsonl", jl(W, good2)[:-30], S, ["truncated_line.jsonl:2", "invalid JSON"],
     "last JSON line cut off")
case("openalex/latin1.jsonl", jl(W, work(id="https://openalex.org/W3", title="Samskabelse på tværs")).encode("latin-1"),
     S, ["latin1.jsonl", "not UTF-8"], "Latin-1 bytes")
case("openalex/utf16.json", json.dumps([W]).encode("utf-16"), S, ["utf16.json", "not UTF-8"], "UTF-16")
case("openalex/not_json.json", "Title: Co-production\nYear: 2017\n", S, ["not_json.json", "expected a JSON array"],
     "plain text")
case("openalex/empty.jsonl", "\n\n", S, ["empty.jsonl", "expected a JSON array"], "no works")
case("openalex/numbers.json", "[1, 2, 3]", S, ["numbers.json", "item #0", "expected a work object"],
     "array of numbers")
case("openalex/nested_arrays.json", json.dumps([[W]]), S, ["nested_arrays.json", "item #0"], "array of arrays")
case("openalex/missing_id.jsonl", jl(W, {"title": "No id"}), S, ["missing_id.jsonl:2", "'id'"], "work without id")
case("openalex/foreign_id.jsonl", jl(work(id="https://example.org/works/42")), S,
     ["foreign_id.jsonl:1", "valid 'id'"], "not an OpenAlex id")
case("openalex/title_number.jsonl", jl(W, work(id="https://openalex.org/W5", title=12345)), S,
     ["title_number.jsonl:2", "W5", "'title'"], "title is a number")
case("openalex/year_string.jsonl", jl(work(publication_year="2017")), S,
     ["year_string.jsonl:1", "'publication_year'", "integer"], "year as a string")
case("openalex/authorships_string.json", json.dumps([W, work(id="https://openalex.org/W6", authorships="Nabatchi, T")]),
     S, ["authorships_string.json", "#1", "'authorships'"], "authors as one string")
case("openalex/abstract_list.jsonl", jl(work(abstract_inverted_index=["Co-production", "is"])), S,
     ["abstract_list.jsonl:1", "'abstract_inverted_index'"], "abstract index of the wrong shape")
case("openalex/references_string.jsonl", jl(work(referenced_works="https://openalex.org/W1")), S,
     ["references_string.jsonl:1", "'referenced_works'"], "references as one string")
case("openalex/page_results_number.json", json.dumps({"meta": {"count": 1}, "results": 5}), S,
     ["page_results_number.json", "'id'"], "API page whose results is not a list")
case("openalex/deep_nesting.json", "[" * 100_000 + "]" * 100_000, S, ["deep_nesting.json"],
     "100,000 nested arrays (a recursion bomb)")
case("openalex/deep_nesting_line.jsonl", '{"id": ' + "[" * 100_000 + "]" * 100_000 + "}\n", S,
     ["deep_nesting_line.jsonl"], "a recursion bomb on one JSON line")
case("openalex/damaged.json.gz", gzip.compress(jl(W, good2).encode() * 50, mtime=0)[:300], S,
     ["damaged.json.gz", "compressed"], "gzip cut off")


def _damaged_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("works_1.json", (2024, 1, 1, 0, 0, 0)), json.dumps([W, good2] * 50),
                    zipfile.ZIP_DEFLATED)
    data = bytearray(buf.getvalue())
    for i in range(60, 120):  # scramble compressed bytes of the member
        data[i] ^= 0x5A
    return bytes(data)


case("openalex/damaged.zip", _damaged_zip(), S, ["damaged.zip"], "zip member with corrupted data")

# -- the review store ----------------------------------------------------------------------------------
case("store/not_sqlite.sqlite", "this is not a database\n" * 100, "store",
     ["not_sqlite.sqlite", "not a usable review store"], "text file given as the store")
case("store/truncated.sqlite", b"SQLite format 3\x00" + b"\x10\x00\x02\x02" + b"\x00" * 80, "store",
     ["truncated.sqlite"], "SQLite header only")

# -- RIS, BibTeX, CSV (through `review import`; the importers' own unit tests cover more) ---------------
I = "import"
RIS = "TY  - JOUR\nTI  - Co-production of welfare services\nAU  - Pestoff, Victor\nPY  - 2012\nDO  - 10.1080/14719037.2011.650941\nER  - \n"
case("ris/truncated.ris", RIS + RIS.replace("welfare", "care")[:60], I, ["truncated.ris:7"], "last reference cut off")
case("ris/no_ty.ris", "TI  - A title without a type\nER  - \n", I, ["no_ty.ris:1"], "reference without TY")
case("ris/latin1.ris", RIS.replace("welfare", "velfærd").encode("latin-1"), I, ["latin1.ris:2", "not utf-8"],
     "Latin-1 bytes")
case("ris/utf16.ris", RIS.encode("utf-16-le"), I, ["utf16.ris:1"], "UTF-16 without BOM: NUL bytes")
case("ris/huge_title.ris", RIS.replace("Co-production of welfare services", "x" * 200_000), I,
     ["huge_title.ris:1", "title"], "a 200,000-character title")
# One bad field: by default dropped and listed (record kept); --strict refuses the file, naming the field's line.
IS = "import-strict"
case("ris/bad_year.ris", RIS.replace("PY  - 2012", "PY  - twenty twelve"), IS, ["bad_year.ris:4", "year", "--strict"],
     "year that is not a year")
case("ris/bad_doi.ris", RIS.replace("DO  - 10.1080/14719037.2011.650941", "DO  - not a doi"), IS,
     ["bad_doi.ris:5", "doi"], "DOI that is not a DOI")
case("ris/empty_record.ris", "TY  - JOUR\nER  - \n", IS, ["empty_record.ris:1", "empty"],
     "reference without fields (without --strict: kept and listed)")
case("ris/missing_er.ris", RIS.replace("ER  - \n", "") + RIS, I, ["missing_er.ris:1", "ER"],
     "two references run together")
BIB = "@article{pestoff2012,\n  title = {Co-production of welfare services},\n  author = {Pestoff, Victor},\n  year = {2012}\n}\n"
case("bibtex/unclosed_brace.bib", BIB + BIB.replace("pestoff2012", "brandsen2018").replace("}\n}", "\n"), I,
     ["unclosed_brace.bib:"], "entry never closed")
case("bibtex/duplicate_key.bib", BIB + BIB, I, ["duplicate_key.bib:6", "pestoff2012"], "same key twice")
case("bibtex/duplicate_field.bib", BIB.replace("  year = {2012}", "  year = {2012},\n  year = {2013}"), I,
     ["duplicate_field.bib:1", "year"], "same field twice in an entry")
case("bibtex/latin1.bib", BIB.replace("welfare", "velfærd").encode("latin-1"), I, ["latin1.bib:2", "not utf-8"],
     "Latin-1 bytes")
case("bibtex/huge_field.bib", BIB.replace("Pestoff, Victor", " and ".join(["Author, A"] * 20_000)), I,
     ["huge_field.bib:1", "authors"], "a 220,000-character author list")
case("bibtex/bad_year.bib", BIB.replace("{2012}", "{forthcoming}"), IS, ["bad_year.bib:4", "year"],
     "year that is not a year")
case("bibtex/garbage.bib", "@article{\n%%%% not bibtex at all {{{\n", I, ["garbage.bib"], "not BibTeX")
CSV = "title,authors,year,doi\nCo-production of welfare services,\"Pestoff, Victor\",2012,10.1080/14719037.2011.650941\n"
case("csv/no_title_column.csv", "name,year\nCo-production,2012\n", I, ["no_title_column.csv:1", "title"],
     "no title or DOI column")
case("csv/ragged.csv", CSV + "Only a title,\n", I, ["ragged.csv:3", "fields"], "row with too few fields")
case("csv/unclosed_quote.csv", CSV + '"Co-production, a review,Brandsen,2018,\n', I, ["unclosed_quote.csv:3", "quote"],
     "quote never closed")
case("csv/nul_byte.csv", CSV + "A\x00B,C,2012,\n", I, ["nul_byte.csv:3", "NUL"], "NUL byte")
case("csv/latin1.csv", CSV.replace("welfare", "velfærd").encode("latin-1"), I, ["latin1.csv:2", "not utf-8"],
     "Latin-1 bytes")
case("csv/huge_field.csv", 'title,authors,year\n"' + "x" * 1_200_000 + '",A,2012\n', I, ["huge_field.csv:2"],
     "a 1.2-million-character field")
case("csv/duplicate_header.csv", "title,year,title\nA,2012,B\n", I, ["duplicate_header.csv:1", "twice"],
     "the same column twice")
case("csv/bad_year.csv", CSV.replace(",2012,", ",in press,"), IS, ["bad_year.csv:2", "year"],
     "year that is not a year")
case("csv/header_only.csv", "title,authors,year,doi\n", I, ["header_only.csv", "no records"], "no rows")

# -- stage settings in the protocol (review run PROTOCOL --stages STAGE) ----------------------------------
G = "stage"
P = 'id = "t"\ntitle = "T"\n[source]\nstore = "t.sqlite"\n'
case("settings/networks_kind.toml", P + '[networks]\nkinds = ["citations"]\n', G,
     ["networks_kind.toml:6", "networks.kinds", "citations"], "unknown network kind", stage="networks")
case("settings/networks_formats_string.toml", P + '[networks]\nformats = "html"\n', G,
     ["networks_formats_string.toml:6", "networks.formats", "list"], "formats as a string", stage="networks")
case("settings/export_format.toml", P + '[export]\nformats = ["docx"]\n', G,
     ["export_format.toml", "export.formats", "docx"], "unknown export format", stage="export")
case("settings/dedup_unknown.toml", P + '[dedup]\nthreshold = "high"\n', G,
     ["dedup_unknown.toml", "threshold"], "unknown dedup setting", stage="dedup")
case("settings/screening_model.toml", P + '[screening]\nmodel = {classifier = "gpt"}\n', G,
     ["screening", "gpt"], "unknown classifier", stage="screening")
case("settings/screening_labels_missing.toml", P + '[screening]\nlabels = "no_such_labels.csv"\n', G,
     ["no_such_labels.csv"], "labels file that does not exist", stage="screening")
case("settings/screening_stop_rule_number.toml", P + '[screening]\nstop_rule = 5\n', G,
     ["screening_stop_rule_number.toml", "stop_rule"], "stop_rule is a number, not a table", stage="screening")
case("settings/definitions_unknown.toml", P + '[definitions]\nlanguage = ["da"]\n', G,
     ["definitions_unknown.toml:6", "unknown key 'definitions.language'"], "typo in a definitions setting",
     stage="definitions")

# -- full texts (review fulltext add W1 FILE) ---------------------------------------------------------
F = "fulltext"


def _pdf(encrypt: bool = False) -> bytes:
    import pypdf

    w = pypdf.PdfWriter()
    w.add_blank_page(200, 200)
    if encrypt:
        w.encrypt("secret")
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


case("fulltext/truncated.pdf", _pdf()[:300], F, ["truncated.pdf", "cannot read this PDF"], "PDF cut off")
case("fulltext/garbage.pdf", b"%PDF-1.4\n" + bytes(range(256)) * 8, F, ["garbage.pdf", "cannot read this PDF"],
     "PDF header, then noise")
case("fulltext/empty.pdf", b"", F, ["empty.pdf", "PDF"], "empty file")
case("fulltext/scanned.pdf", _pdf(), F, ["scanned.pdf", "no text"], "a page without text (a scan)")
case("fulltext/encrypted.pdf", _pdf(encrypt=True), F, ["encrypted.pdf", "PDF"], "password-protected PDF")
case("fulltext/latin1.txt", "Samskabelse er når kommuner og frivillige".encode("latin-1"), F,
     ["latin1.txt:1", "not UTF-8"], "Latin-1 text")
case("fulltext/binary.txt", bytes(range(256)), F, ["binary.txt", "not UTF-8"], "not text")
case("fulltext/paper.docx", b"PK\x03\x04 not really a docx", F, ["paper.docx", "unsupported"], "a Word file")

# -- deduplication of files (review dedup FILE --out DIR) ------------------------------------------------
D = "dedup"
case("dedup/ragged.csv", CSV + "Only a title,\n", D, ["ragged.csv:3", "fields"], "row with too few fields")
case("dedup/truncated.ris", RIS + RIS[:50], D, ["truncated.ris:7"], "last reference cut off")
case("dedup/duplicate_key.bib", BIB + BIB, D, ["duplicate_key.bib:6", "pestoff2012"], "same key twice")

# -- screening labels (review simulate) ----------------------------------------------------------------
L = "labels"
case("labels/no_label_column.csv", "openalex_id,title,abstract\nW1,A,B\n", L, ["no_label_column.csv", "label_included"],
     "labels file without the label column")
case("labels/label_yes.csv", "openalex_id,title,abstract,label_included\nW1,A,B,1\nW2,C,D,yes\n", L,
     ["label_yes.csv:3", "label_included"], "label 'yes' instead of 1/0")


BIG = 100_000  # bytes; bigger cases are not kept in the repository: the test writes them from CASES


def data_of(name: str) -> bytes:
    return next(c["data"] for c in CASES if c["file"] == name)


def write() -> None:
    lines = ["# Malformed-input corpus: written by make_corpus.py (do not edit by hand).",
             "# generated = true: too big to keep in the repository; tests write it from make_corpus.CASES.", ""]
    for c in CASES:
        big = len(c["data"]) > BIG
        if not big:
            path = HERE / c["file"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(c["data"])
        lines += ["[[case]]", f"file = {json.dumps(c['file'])}", f"command = {json.dumps(c['command'])}",
                  f"expect = {json.dumps(c['expect'], ensure_ascii=False)}", f"why = {json.dumps(c['why'])}"]
        lines += [f"{k} = {json.dumps(c[k])}" for k in ("stage", "xfail") if k in c]
        lines += ["generated = true", ""] if big else [""]
    (HERE / "cases.toml").write_text("\n".join(lines), encoding="utf-8")
    print(f"{len(CASES)} cases → {HERE}")


if __name__ == "__main__":
    write()
