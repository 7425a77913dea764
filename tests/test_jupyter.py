"""review.ui.jupyter without a browser: highlighting, the screening widget's logic, conflicts, dedup
pairs, and a real kernel killed right after a click."""
from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import textwrap
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jupyter_support import PROTOCOL, ROOT

from review import Author, Record, Store, load_protocol
from review.core.queries import final_decisions
from review.core.text import fold
from review.screening.reviewers import conflicts
from review.sources.snapshot import read_records
from review.ui.jupyter import ConflictView, DedupReviewWidget, ScreeningWidget, open_review
from review.ui.jupyter.dedup import diff_html, pair_html
from review.ui.jupyter.highlight import TermGroup, fold_map, highlight, record_html, term_groups, term_spans
from review.ui.jupyter.screening import bookmark_key

CONCEPTS = [TermGroup("concept", "Co-creation", ("co-creation", "samskabelse", "samskaping", "co-creat*")),
            TermGroup("concept", "SDM", ("shared decision making", "decision aid*")),
            TermGroup("exclude", "E1-animal", ("in mice", "co-creation study"))]


# -- highlighting -------------------------------------------------------------------------------
def test_highlight_escapes_record_text_and_marks_terms():
    out = highlight("<script>alert('x')</script> Co-creation & <b>samskabelse</b>", CONCEPTS)
    assert "<script" not in out and "<b>" not in out
    assert out == ("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; "
                   '<mark class="rv-concept" title="Co-creation">Co-creation</mark> &amp; &lt;b&gt;'
                   '<mark class="rv-concept" title="Co-creation">samskabelse</mark>&lt;/b&gt;')


def test_highlight_maps_folded_matches_back_to_the_original_characters():
    text = "SAMSKABELSE og Samskaping;\nshared  decision-making,\u00a0decision aids — co‑creating"
    marked = [text[s:e] for s, e, _ in term_spans(text, CONCEPTS)]
    assert marked == ["SAMSKABELSE", "Samskaping", "shared  decision-making", "decision aids", "co‑creating"]


def test_highlight_keeps_whole_words_and_group_priority():
    assert term_spans("co-creations", [TermGroup("concept", "x", ("co-creation",))]) == []
    spans = term_spans("a co-creation study in mice", CONCEPTS)
    # the concept wins the overlap with the criterion phrase "co-creation study"
    assert [("a co-creation study in mice"[s:e], g.kind) for s, e, g in spans] == [
        ("co-creation", "concept"), ("in mice", "exclude")]


def test_highlight_with_accents_and_expanding_letters():
    groups = [TermGroup("concept", "elder care", ("aeldrepleje", "faelles beslutningstagning"))]
    text = "Ældrepleje og fælles beslutningstagning"
    assert [text[s:e] for s, e, _ in term_spans(text, groups)] == ["Ældrepleje", "fælles beslutningstagning"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_fold_map_folds_like_fold_and_points_into_the_text(text):
    folded, where = fold_map(text)
    assert folded == fold(text)
    assert len(where) == len(folded)
    assert where == sorted(where) and all(0 <= i < len(text) for i in where)


def test_term_groups_from_the_protocol():
    protocol = load_protocol(PROTOCOL)
    groups = term_groups(protocol)
    kinds = {g.kind for g in groups}
    assert {"concept", "exclude", "related"} <= kinds
    sdm = next(g for g in groups if g.label == "Shared decision-making")
    assert "samvalg" in sdm.terms and "fælles beslutningstagning" in sdm.terms
    assert any(g.kind == "exclude" and "in mice" in g.terms for g in groups)


def test_record_html_escapes_every_field_and_links_only_http():
    rec = Record(id="W1", title="<img src=x onerror=alert(1)>", abstract="a <script>x</script> co-creation",
                 authors=[Author(name="<b>Eve</b>")], year=2020, venue="J & <i>", doi="10.1/a\"b",
                 openalex_id="W1", url="javascript:alert(1)")
    out = record_html(rec, CONCEPTS)
    for bad in ("<img", "<script", "<b>Eve", "<i>", "javascript:"):
        assert bad not in out
    assert 'href="https://doi.org/10.1/a&quot;b"' in out and 'href="https://openalex.org/W1"' in out
    assert '<mark class="rv-concept" title="Co-creation">co-creation</mark>' in out


# -- the screening widget ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def corpus_records():
    """The first 60 works of the shipped corpus (real OpenAlex records)."""
    return list(itertools.islice(read_records(ROOT / "bib" / "synergy_openalex.jsonl.gz"), 60))


@pytest.fixture
def review_(tmp_path, corpus_records):
    protocol, store = open_review(PROTOCOL, tmp_path / "r.sqlite")
    store.add_records([r for r, _ in corpus_records], raws=[w for _, w in corpus_records], raw_format="openalex")
    yield protocol, store
    store.close()


def _decisions(path, reviewer):
    """Decisions as another process would see them: a fresh connection."""
    with Store(path) as s:
        return {rid: (row["decision"], row["criterion"], row["note"])
                for rid, row in s.current_decisions(reviewer=reviewer).items()}


def test_keys_and_buttons_write_decisions_with_reason_and_note(review_):
    protocol, store = review_
    w = ScreeningWidget(store, protocol, reviewer="ann")
    first = w.current.id
    w.press("3")  # third criterion of the protocol
    w.note.value = "rats only"
    w.keypad._on_message(w.keypad, {"key": "e", "record_id": first}, [])  # the browser's message
    second = w.current.id
    assert second != first
    w.buttons["maybe"].click()
    third = w.current.id
    w.press("i", third)
    assert _decisions(store.path, "ann") == {first: ("exclude", protocol.criteria[2].name, "rats only"),
                                            second: ("maybe", None, None), third: ("include", None, None)}
    assert w.reason.value == "" and w.note.value == ""  # reset for the next record
    assert "3 of 60 screened" in w.counts.value and "relevant found 2" in w.counts.value
    assert w.bar.value == 3


def test_a_reason_key_goes_with_the_decision_it_follows_or_precedes(review_):
    protocol, store = review_
    c = [k.name for k in protocol.criteria]
    w = ScreeningWidget(store, protocol, reviewer="ann")
    first = w.current.id
    w.press("e", first)
    second = w.current.id
    w.press("3", second)  # right after the exclusion: it is that exclusion's reason, not the next record's
    assert w.reason.value == "" and "reason added to " + first in w.status.value and c[2] in w.status.value
    assert _decisions(store.path, "ann") == {first: ("exclude", c[2], None)}
    w.press("2", second)  # the exclusion has its reason now: this one is for the record on screen
    assert w.reason.value == c[1] and f"next decision on {second}" in w.status.value
    w.press("e", second)
    third = w.current.id
    w.press("i", third)
    fourth = w.current.id
    w.press("1", fourth)  # an include takes no reason: kept for the record on screen
    w.press("e", fourth)
    assert _decisions(store.path, "ann") == {first: ("exclude", c[2], None), second: ("exclude", c[1], None),
                                            third: ("include", None, None), fourth: ("exclude", c[0], None)}
    assert "4 of 60 screened" in w.counts.value
    w.press("u")  # undo takes back the latest decision, whatever the reasons
    assert w.current.id == fourth and fourth not in _decisions(store.path, "ann")


def test_full_text_not_retrievable_key_is_saved_before_it_is_shown(review_):
    from review.core.queries import counts

    protocol, store = review_
    passed = store.record_ids()[:4]
    for rid in passed:
        store.add_decision(rid, "include", "ann")
    w = ScreeningWidget(store, protocol, reviewer="ann", stage="full_text")
    assert len(w.session) == 4 and "n not retrievable" in w.keypad.legend and "n" in w.keypad.accept
    seen = []
    w.status.observe(lambda ch: seen.append(store.not_retrieved_ids()) if "saved ✓" in ch["new"] else None, "value")
    gone = w.current.id
    w.note.value = "library has no copy"
    w.press("n", gone)
    assert seen == [{gone}] and "not retrievable" in w.status.value and w.current.id != gone
    assert json.loads(store.events("fulltext", "not_retrieved")[0]["data"]) == {"reason": "library has no copy"}
    w.press("i", w.current.id)
    assert counts(store)["not_retrieved"] == 1 and counts(store)["assessed"] == 1
    assert w.session.progress()["remaining"] == 2
    again = ScreeningWidget(store, protocol, reviewer="ann", stage="full_text")  # after a restart: not in the pool
    assert gone not in again.session.row_of and len(again.session) == 3
    ta = ScreeningWidget(store, protocol, reviewer="bob")
    assert not ta.full_text and "n" not in ta.keypad.accept
    ta.press("n", ta.current.id)
    assert "does nothing" in ta.status.value and not store.events("fulltext", "not_retrieved")[1:]


def test_saved_is_shown_only_after_the_store_has_the_decision(review_):
    protocol, store = review_
    w = ScreeningWidget(store, protocol, reviewer="ann")
    seen = []

    def check(change):
        if "saved ✓" in change["new"]:
            seen.append(_decisions(store.path, "ann"))

    w.status.observe(check, "value")
    rid = w.current.id
    w.press("i", rid)
    assert seen == [{rid: ("include", None, None)}]


def test_a_failed_write_is_never_shown_as_saved(review_, monkeypatch):
    protocol, store = review_
    w = ScreeningWidget(store, protocol, reviewer="ann")
    rid = w.current.id

    def broken(*a, **k):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store, "add_decision", broken)
    w.press("i", rid)
    assert "NOT saved" in w.status.value and "saved ✓" not in w.status.value
    assert w.current.id == rid  # still on screen, to be decided again
    monkeypatch.undo()
    assert _decisions(store.path, "ann") == {}


def test_a_key_pressed_on_another_record_is_ignored(review_):
    protocol, store = review_
    w = ScreeningWidget(store, protocol, reviewer="ann")
    shown = w.current.id
    w.press("i", "W0")
    assert "ignored" in w.status.value and w.current.id == shown
    assert _decisions(store.path, "ann") == {}


def test_undo_retracts_and_shows_the_record_again(review_):
    protocol, store = review_
    w = ScreeningWidget(store, protocol, reviewer="ann")
    a = w.current.id
    w.press("e", a)
    w.press("u")
    assert w.current.id == a and _decisions(store.path, "ann") == {}
    w.press("i", a)
    assert _decisions(store.path, "ann") == {a: ("include", None, None)}
    assert w.current.id != a


def test_a_new_widget_resumes_at_the_same_record(review_):
    protocol, store = review_
    w = ScreeningWidget(store, protocol, reviewer="ann")
    for key in "iee":
        w.press(key, w.current.id)
    w.press("u")  # the undone record is on screen now, ahead of the ranking
    on_screen = w.current.id
    # "kernel restart": a new store connection, session and widget
    protocol2, store2 = open_review(PROTOCOL, store.path)
    w2 = ScreeningWidget(store2, protocol2, reviewer="ann")
    assert w2.current.id == on_screen
    assert store2.meta(bookmark_key("title_abstract", "ann")) == on_screen
    assert "2 of 60 screened" in w2.counts.value
    # another reviewer starts blind, from the ranking
    w3 = ScreeningWidget(store2, protocol2, reviewer="bob")
    assert "0 of 60 screened" in w3.counts.value
    store2.close()


def test_screening_to_the_end(tmp_path, corpus_records):
    protocol, store = open_review(PROTOCOL, tmp_path / "r.sqlite")
    recs = [r for r, _ in corpus_records[:4]]
    store.add_records(recs)
    w = ScreeningWidget(store, protocol, reviewer="ann")
    while w.current is not None:
        w.press("e", w.current.id)
    assert "Every record" in w.card.value and all(b.disabled for b in w.buttons.values())
    assert "every record is screened" in w.counts.value
    w.press("i")
    assert "nothing left" in w.status.value
    assert len(_decisions(store.path, "ann")) == 4


# -- conflicts --------------------------------------------------------------------------------
def test_conflict_view_resolves_disagreements(review_):
    protocol, store = review_
    ids = store.record_ids()[:3]
    for rid, (a, b) in zip(ids, [("include", "exclude"), ("include", "include"), ("maybe", "exclude")]):
        store.add_decision(rid, a, "ann")
        store.add_decision(rid, b, "bob", note="<script>x</script>")
    view = ConflictView(store, protocol)
    assert [c["record_id"] for c in view.items] == [ids[0], ids[2]]
    assert "2 open" in view.header.value and "<script>x" not in view.table.value
    view.skip()
    assert view.current["record_id"] == ids[2]
    view.resolve("include")
    assert "saved ✓" in view.status.value and [c["record_id"] for c in view.items] == [ids[0]]
    assert view.current["record_id"] == ids[0]  # the skipped one comes back
    view.reason.value = protocol.criteria[3].name
    view.resolve("exclude")
    assert conflicts(store) == [] and "No open conflicts" in view.card.value
    assert final_decisions(store) == {ids[0]: "exclude", ids[1]: "include", ids[2]: "include"}
    with Store(store.path) as s:
        assert s.current_decisions(reviewer="reconciled")[ids[0]]["criterion"] == protocol.criteria[3].name


# -- dedup pairs ------------------------------------------------------------------------------
def test_pair_html_marks_the_words_that_differ():
    a = Record(id="A", title="Co-production in <welfare>", year=2019, doi="10.1/x")
    b = Record(id="B", title="co-production in social care", year=2019, doi="10.1/X")
    out = pair_html(a, b, 0.91)
    assert "<welfare>" not in out and "&lt;welfare&gt;" in out
    left, right = diff_html(a.title, b.title)
    assert left == 'Co-production in <span class="rv-diff-word">&lt;welfare&gt;</span>'
    assert right == 'co-production in <span class="rv-diff-word">social care</span>'
    assert diff_html("", "<i>x</i> y") == ("", "&lt;i&gt;x&lt;/i&gt; y")  # one side empty: nothing to mark
    long = pair_html(Record(id="A", abstract="word " * 500), Record(id="B"), cut=100)
    assert "word " * 19 + "word …" in long and "word " * 30 not in long
    assert '<tr class="rv-diff"><th>title</th>' in out
    assert "<tr><th>year</th>" in out and "<tr><th>doi</th>" in out  # same after folding


def test_dedup_widget_saves_same_and_different(review_):
    from review.stages.dedup import maybe_pairs

    _, store = review_
    a, b, c = sorted(store.record_ids()[:3])  # the dedup stage stores pairs as (smaller id, larger id)
    with store.transaction() as conn:  # two pairs the dedup stage left undecided
        conn.execute("INSERT INTO dedup_pairs(a, b, score, status, ts, info) VALUES (?,?,0.9,'maybe','t','title')",
                     (a, b))
        conn.execute("INSERT INTO dedup_pairs(a, b, score, status, ts, info) VALUES (?,?,0.8,'maybe','t','doi')",
                     (a, c))
    w = DedupReviewWidget(store, reviewer="ann")
    assert "2 pair(s)" in w.header.value and (w.current["a"], w.current["b"]) == (a, b)
    assert f"<th>{a}</th><th>{b}</th>" in w.table.value and "score 0.900 · title" in w.table.value
    w.skip()
    assert (w.current["a"], w.current["b"]) == (a, c)
    w.same_button.click()
    assert "saved ✓" in w.status.value and [(p["a"], p["b"]) for p in maybe_pairs(store, False)] == [(a, b)]
    w.decide(False)
    assert maybe_pairs(store, False) == [] and "No pairs left" in w.table.value
    with Store(store.path) as s:
        status = {(r["a"], r["b"]): (r["status"], r["decided_by"]) for r in s.query("SELECT * FROM dedup_pairs")}
        assert status == {(a, b): ("different", "ann"), (a, c): ("same", "ann")}
        assert s.query("SELECT canonical_id FROM duplicates")  # the 'same' answer marked a duplicate
    assert w.decide(True) is False and "no pair left" in w.status.value


# -- a real kernel, killed after a click --------------------------------------------------------
def test_decision_survives_a_kernel_killed_right_after_the_click(review_):
    from jupyter_client.manager import start_new_kernel

    protocol, store = review_
    store.close()
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(store.path.parent))
    try:
        code = textwrap.dedent(f"""
            from review.ui.jupyter import ScreeningWidget, open_review
            protocol, store = open_review({str(PROTOCOL)!r}, {str(store.path)!r})
            w = ScreeningWidget(store, protocol, reviewer="kim")
            rid = w.current.id
            w.buttons["include"].click()
            print("CLICKED", rid, "saved ✓" in w.status.value, flush=True)
        """)
        msg_id = kc.execute(code)
        out = ""
        deadline = time.monotonic() + 120
        while "CLICKED" not in out or not out.endswith("\n"):
            assert time.monotonic() < deadline, f"kernel gave no answer: {out!r}"
            msg = kc.get_iopub_msg(timeout=60)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                out += msg["content"]["text"]
            elif msg["msg_type"] == "error":
                pytest.fail("\n".join(msg["content"]["traceback"]))
        pid = km.provisioner.process.pid
        os.kill(pid, signal.SIGKILL)  # no clean-up, no atexit, no WAL checkpoint
        km.provisioner.process.wait(timeout=10)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    rid, saved = out.split("CLICKED", 1)[1].split()[:2]
    assert saved == "True"
    assert _decisions(store.path, "kim") == {rid: ("include", None, None)}
