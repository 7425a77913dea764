"""Writes the malformed-input corpus in bad/ and its expected messages in bad/expected.csv.

Run once (python make_bad.py); the files are committed. Each case: file name, the
1-based line the message must name, and a fragment of the message.
"""
import csv
from pathlib import Path

HERE = Path(__file__).resolve().parent / "bad"
RIS_OK = "TY  - JOUR\nID  - r1\nTI  - Co-production of welfare services\nAU  - Hansen, Anne\nPY  - 2020\nER  - \n"
BIB_OK = "@article{ok1,\n  title = {Co-production of welfare services},\n  author = {Hansen, Anne},\n  year = {2020}\n}\n"
CSV_HEAD = "ID,title,author,year,journal\n"
CSV_OK = 'c1,Co-production of welfare services,"Hansen, Anne",2020,Public Administration\n'

CASES = [
    # RIS
    ("ris_truncated.ris", RIS_OK + "TY  - JOUR\nTI  - Volunteers and municipalities\nAU  - Berg, Ole\n", 7,
     "file ends inside this reference"),
    ("ris_missing_er.ris", "TY  - JOUR\nTI  - First\nPY  - 2019\n" + RIS_OK, 1, "no end tag ER before the next TY at line 4"),
    ("ris_text_outside.ris", RIS_OK + "this line is not RIS\n" + RIS_OK.replace("r1", "r2"), 7, "text outside a reference"),
    ("ris_latin1.ris", RIS_OK.replace("Hansen", "Sørensen").encode("latin-1"), 4, "not utf-8 (byte 0xf8)"),
    ("ris_utf16.ris", RIS_OK.encode("utf-16"), 1, "not utf-8 (byte 0xff)"),
    ("ris_empty.ris", "", None, "file is empty"),
    ("ris_bad_year.ris", RIS_OK.replace("PY  - 2020", "PY  - last spring"), 5, "year 'last spring' is not a year"),
    ("ris_year_out_of_range.ris", RIS_OK.replace("PY  - 2020", "PY  - 3021"), 5, "year '3021' is not a year"),
    ("ris_empty_reference.ris", "TY  - JOUR\nER  - \n", 1, "empty record"),
    ("ris_huge_title.ris", RIS_OK.replace("Co-production of welfare services", "x" * 10_000), 1,
     "field title is 10,000 characters long"),
    ("ris_bad_doi.ris", RIS_OK.replace("PY  - 2020", "PY  - 2020\nDO  - see the journal website"), 6, "is not a DOI"),
    ("ris_duplicate_id.ris", RIS_OK + RIS_OK, 7, "duplicate ID 'r1'"),
    ("ris_nul.ris", RIS_OK.replace("welfare", "wel\x00fare"), 3, "contains NUL bytes"),
    ("ris_only_junk.ris", "hello\nworld\n", 1, "text outside a reference"),
    # BibTeX
    ("bib_unbalanced.bib", "@article{a1,\n  title = {Unbalanced {brace,\n  year = 2021\n}\n" + BIB_OK, 1,
     "BibTeX syntax error"),
    ("bib_duplicate_key.bib", BIB_OK + BIB_OK, 6, "duplicate entry key 'ok1'"),
    ("bib_duplicate_field.bib", "@article{d1,\n  title = {One},\n  title = {Two},\n  year = 2020\n}\n", 1,
     "has the field 'title' twice"),
    ("bib_missing_comma.bib", "@article{m1 title = {No comma after the key}, year = 2020}\n", 1,
     "Expected comma after entry key"),
    ("bib_bad_year.bib", BIB_OK.replace("{2020}", "{20x1}"), 4, "year '20x1' is not a year"),
    ("bib_empty_entry.bib", "@article{e1,\n  note = {nothing else}\n}\n", 1, "empty record"),
    ("bib_latin1.bib", BIB_OK.replace("Hansen", "Müller").encode("latin-1"), 3, "not utf-8 (byte 0xfc)"),
    ("bib_empty.bib", "   \n", None, "file is empty"),
    ("bib_truncated.bib", BIB_OK + "@article{t2,\n  title = {Cut off in the mid", 6, "Unexpectedly reached end of file"),
    ("bib_huge_field.bib", BIB_OK.replace("Hansen, Anne", "Hansen, Anne and " * 9000), 1, "field authors is"),
    ("bib_no_entries.bib", "% only a comment\n@comment{nothing here}\n", None, "no records found"),
    ("bib_bad_doi.bib", BIB_OK.replace("year = {2020}", "year = {2020},\n  doi = {see publisher}"), 5, "is not a DOI"),
    # CSV
    ("csv_no_title_column.csv", "ID,name,when\n1,Something,2020\n", 1, "no title or DOI column"),
    ("csv_extra_field.csv", CSV_HEAD + CSV_OK + "c2,Title, with a stray comma,Berg,2021,J\n", 3,
     "row has 6 fields, the header has 5"),
    ("csv_missing_field.csv", CSV_HEAD + CSV_OK + "c2,Only a title\n", 3, "row has 2 fields, the header has 5"),
    ("csv_unclosed_quote.csv", CSV_HEAD + CSV_OK + 'c2,"An unclosed quote,Berg,2021,J\nc3,Next,Lee,2022,J\n', 3,
     "file ends inside a quoted field"),
    ("csv_bad_quote.csv", CSV_HEAD + 'c2,"Quoted" then text,Berg,2021,J\n', 2, "not valid CSV"),
    ("csv_bad_year.csv", CSV_HEAD + CSV_OK.replace("2020", "MMXX"), 2, "year 'MMXX' is not a year"),
    ("csv_duplicate_id.csv", CSV_HEAD + CSV_OK + CSV_OK, 3, "duplicate ID 'c1'"),
    ("csv_duplicate_header.csv", "ID,title,title,year\n1,A,B,2020\n", 1, "has the column 'title' twice"),
    ("csv_latin1.csv", (CSV_HEAD + CSV_OK.replace("Hansen", "Åberg")).encode("latin-1"), 2, "not utf-8 (byte 0xc5)"),
    ("csv_empty.csv", "", None, "file is empty"),
    ("csv_header_only.csv", CSV_HEAD, None, "no records found"),
    ("csv_huge_field.csv", CSV_HEAD + CSV_OK.replace("Co-production of welfare services", "y" * 5000), 2,
     "field title is 5,000 characters long"),
    ("csv_nul.csv", CSV_HEAD + CSV_OK.replace("welfare", "wel\x00fare"), 2, "contains NUL bytes"),
    ("csv_empty_record.csv", CSV_HEAD + "c9,,,,\n", 2, "empty record"),
    ("csv_bad_doi.csv", "ID,title,doi\n1,A title,doi:unknown\n", 2, "is not a DOI"),
]

if __name__ == "__main__":
    HERE.mkdir(exist_ok=True)
    with open(HERE / "expected.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "line", "message"])
        for name, content, line, msg in CASES:
            data = content if isinstance(content, bytes) else content.encode("utf-8")
            (HERE / name).write_bytes(data)
            w.writerow([name, "" if line is None else line, msg])
    print(f"{len(CASES)} cases → {HERE}")
