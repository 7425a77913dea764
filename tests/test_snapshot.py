import gzip
import json
import zipfile

import pytest

from review.core.errors import SnapshotError
from review.sources.snapshot import iter_works, read_records


@pytest.fixture
def works(data_dir):
    return json.loads((data_dir / "spine" / "works_2023.json").read_text())


def ids(path):
    return [w["id"] for _, w in iter_works(path)]


def test_every_layout_gives_the_same_works(tmp_path, works, data_dir):
    expected = [w["id"] for w in works]
    array = data_dir / "spine" / "works_2023.json"
    jsonl = tmp_path / "w.jsonl"
    jsonl.write_text("".join(json.dumps(w) + "\n" for w in works))
    gz = tmp_path / "part_000.gz"
    gz.write_bytes(gzip.compress(jsonl.read_bytes()))
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"meta": {"count": len(works)}, "results": works}))
    zf = tmp_path / "works_1.zip"
    with zipfile.ZipFile(zf, "w") as z:  # members in natural order, as SYNERGY ships them
        z.writestr("works_0_25.json", json.dumps(works[:25]))
        z.writestr("works_25_40.json", json.dumps(works[25:]))
    for p in (array, jsonl, gz, page, zf):
        assert ids(p) == expected, p


def test_locators_trace_each_work(tmp_path, works):
    jsonl = tmp_path / "w.jsonl"
    jsonl.write_text("\n".join(json.dumps(w) for w in works[:3]))
    assert [loc for loc, _ in iter_works(jsonl)] == [":1", ":2", ":3"]
    recs = list(read_records(jsonl, name="demo"))
    assert recs[2][0].sources[0].locator == ":3" and recs[2][0].sources[0].name == "demo"


def test_large_array_streams_in_chunks(tmp_path, works):
    # more than the 1 MiB read chunk, so objects straddle chunk borders
    p = tmp_path / "big.json"
    p.write_text(json.dumps(works * 4))
    assert len(ids(p)) == 160


@pytest.mark.parametrize("content,message", [
    ('[{"id": "https://openalex.org/W1"}, {"id": ', "truncated"),
    ('{"id": "https://openalex.org/W1"}\n{"id": oops}\n', ":2: invalid JSON"),
    ('[1, 2]', "item #0 of the array is a int"),
    ('"hello"', "expected a JSON array"),
])
def test_bad_files_name_the_place(tmp_path, content, message):
    p = tmp_path / "bad.json"
    p.write_text(content)
    with pytest.raises(SnapshotError, match=message) as e:
        list(iter_works(p))
    assert str(p) in str(e.value)


def test_not_utf8(tmp_path):
    p = tmp_path / "latin1.jsonl"
    p.write_bytes('{"id": "https://openalex.org/W1", "title": "Ærø"}\n'.encode("latin-1"))
    with pytest.raises(SnapshotError, match="not UTF-8"):
        list(iter_works(p))


def test_missing_file(tmp_path):
    with pytest.raises(SnapshotError, match="file not found"):
        list(iter_works(tmp_path / "nope.json"))


def test_work_without_id_names_its_place(tmp_path):
    p = tmp_path / "w.jsonl"
    p.write_text('{"title": "no id"}\n')
    with pytest.raises(SnapshotError, match=r"w.jsonl:1: OpenAlex work without a valid 'id'"):
        list(read_records(p))
