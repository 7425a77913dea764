import pytest

from review.core.errors import ProtocolError
from review.core.protocol import load, loads

MINIMAL = 'id = "t"\ntitle = "T"\n'


def test_shipped_protocols_load(root):
    co = load(root / "protocols" / "coproduction.toml")
    assert {c.key for c in co.concepts} >= {"coproduction", "cocreation", "partnership"}
    terms = co.concept("cocreation").terms
    assert "samskabelse" in terms["da"] and "samskaping" in terms["no"]
    assert "Koproduktion" in co.concept("coproduction").terms["de"]
    assert co.searches and all(s.query for s in co.searches)
    assert co.snapshot is None
    demo = load(root / "protocols" / "demo.toml")
    assert demo.snapshot is not None and demo.snapshot.exists()
    assert len(demo.hash) == 16 and demo.hash != co.hash


def test_hash_follows_content():
    assert loads(MINIMAL).hash == loads(MINIMAL).hash != loads(MINIMAL + "questions = []\n").hash


def test_criteria_rules():
    p = loads(MINIMAL + """
[[criteria]]
name = "I1"
kind = "include"
any_terms = "co-production"
from_year = 2000

[[criteria]]
name = "E1"
kind = "exclude"
description = "human judgement only"
automatic = false
""")
    i1, e1 = p.criteria
    assert i1.any_terms == ["co-production"] and i1.from_year == 2000 and i1.has_rule
    assert not e1.automatic and not e1.has_rule


@pytest.mark.parametrize("text,where,what", [
    ('title = "x"\n', "<protocol>", "key 'id': is required"),
    (MINIMAL + 'colour = "red"\n', ":3", "key 'colour': unknown key"),
    (MINIMAL + '\n[[searches]]\nname = "a"\nquery = 5\n', ":6", "key 'searches[0].query': expected a string, got 5"),
    (MINIMAL + '\n[[searches]]\nquery = "a"\nfrom_year = "2000"\n', ":6", "expected an integer"),
    (MINIMAL + '\n[[searches]]\nquery = "a"\nfrom_year = 2010\nto_year = 2000\n', ":7", "before from_year"),
    (MINIMAL + '\n[[criteria]]\nname = "x"\nkind = "maybe"\n', ":6", 'expected "include" or "exclude"'),
    (MINIMAL + '\n[[criteria]]\nname = "x"\nkind = "include"\n\n[[criteria]]\nname = "y"\nkind = "include"\n'
               'any_terms = [1, 2]\n',
     ":11", "key 'criteria[1].any_terms': expected a list of strings"),
    (MINIMAL + '\n[concepts.c]\nlabel = "C"\n', "", "key 'concepts.c.terms': is required"),
    (MINIMAL + 'title = "again"\n', ":3", "TOML syntax error"),
    ('id = "bad id!"\ntitle = "T"\n', ":1", "key 'id': 'bad id!' is not a review id: use lower-case letters"),
])
def test_errors_name_line_and_key(text, where, what):
    with pytest.raises(ProtocolError) as e:
        loads(text, "p.toml" if where != "<protocol>" else None)
    msg = str(e.value)
    assert what in msg
    if where.startswith(":"):
        assert msg.startswith(f"p.toml{where}:"), msg
    assert "\n" not in msg


def test_file_errors(tmp_path):
    with pytest.raises(ProtocolError, match="protocol file not found"):
        load(tmp_path / "missing.toml")
    (tmp_path / "latin.toml").write_bytes('id = "x"\ntitle = "Ærø"\n'.encode("latin-1"))
    with pytest.raises(ProtocolError, match=r"latin.toml:2: not UTF-8"):
        load(tmp_path / "latin.toml")
    with pytest.raises(ProtocolError, match="cannot read"):
        load(tmp_path)


@pytest.mark.parametrize("pid", ["..", ".", "a.b", "Demo", "my review", "x/y", "ü"])
def test_id_cannot_name_a_folder(pid, tmp_path):
    with pytest.raises(ProtocolError, match=r"p\.toml:1: key 'id': .*lower-case letters, digits, '-' and '_' only"):
        loads(f'id = "{pid}"\ntitle = "T"\n', tmp_path / "p.toml")
    assert loads('id = "my-review_2"\ntitle = "T"\n').id == "my-review_2"
