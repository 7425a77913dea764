"""review/screening/features.py: embeddings kept in the store (the model itself is stood in for: the
``embeddings`` extra is not part of the test install)."""
from __future__ import annotations

import numpy as np

from review.core.records import Record
from review.core.store import Store
from review.screening import features


def _fake_embedder(calls: list):
    def embed(docs):
        calls.append(list(docs))
        return np.array([[len(d), d.count("a"), 1.0] + [0.0] * 381 for d in docs], dtype=np.float32)
    return embed


def test_embeddings_are_computed_once_per_record_and_again_when_its_text_changes(tmp_path, monkeypatch):
    calls: list = []
    monkeypatch.setattr(features, "sentence_embeddings", _fake_embedder(calls))
    recs = [Record(id="W1", title="Co-production of welfare", abstract="a study"),
            Record(id="W2", title="Partnerships", abstract=None)]
    with Store(tmp_path / "r.sqlite") as store:
        store.add_records(recs)
        first = features.stored_embeddings(store, recs, batch=1)
        assert [len(c) for c in calls] == [1, 1]  # one batch per record, each written as it is done
        again = features.stored_embeddings(store, list(reversed(recs)))
        assert len(calls) == 2, "stored embeddings are read back, not computed again"
        assert np.array_equal(again, first[::-1])
        changed = [Record(id="W1", title="Co-production of welfare", abstract="a longer study of it"), recs[1]]
        store.update_record(changed[0])
        out = features.stored_embeddings(store, changed)
        assert calls[-1] == [features.document(changed[0])], "only the record whose text changed"
        assert out[0, 0] == len(features.document(changed[0])) and np.array_equal(out[1], first[1])


def test_a_session_with_an_embedding_weight_uses_the_stored_embeddings(tmp_path, monkeypatch):
    from review.core.protocol import loads
    from review.screening import session
    from review.screening.session import ScreeningSession

    calls: list = []
    monkeypatch.setattr(features, "sentence_embeddings", _fake_embedder(calls))
    monkeypatch.setattr(session, "embeddings_available", lambda: True)  # the stand-in model is "installed"
    protocol = loads('id = "t"\ntitle = "t"\n[concepts.coproduction]\nlabel = "Co-production"\n'
                     'terms.en = ["co-production"]\n[screening]\nfeatures = { embedding_weight = 0.5 }\n')
    with Store(tmp_path / "r.sqlite") as store:
        store.add_records([Record(id=f"W{i}", title=f"record {i} about co-production") for i in range(5)])
        s1 = ScreeningSession(store, protocol, reviewer="ana")
        assert sum(len(c) for c in calls) == 5, "the records, not the concept query (its embedding block is empty)"
        ScreeningSession(store, protocol, reviewer="ben")
        assert sum(len(c) for c in calls) == 5, "the second session reads them from the store"
        assert [name for name, _, _ in s1.features.blocks_][-1] == "embedding"


def test_an_embedding_weight_without_the_extra_fails_at_the_protocol_check(monkeypatch):
    """Before any stage runs (not half-way through a review, with a traceback): file, line and key."""
    import pytest

    from review.core.errors import ProtocolError
    from review.core.protocol import loads
    from review.screening import session
    from review.stages import screening

    monkeypatch.setattr(session, "embeddings_available", lambda: False)
    protocol = loads('id = "t"\ntitle = "t"\n[screening]\nfeatures = { embedding_weight = 0.15 }\n', "p.toml")
    with pytest.raises(ProtocolError, match=r"p\.toml:4: key 'screening\.features\.embedding_weight'.*"
                                            r"pip install 'review\[embeddings\]'"):
        screening.check(protocol)


def test_stored_vectors_of_the_wrong_length_are_embedded_again(tmp_path, monkeypatch):
    calls: list = []
    monkeypatch.setattr(features, "sentence_embeddings", _fake_embedder(calls))
    recs = [Record(id="W1", title="Co-production of welfare")]
    with Store(tmp_path / "r.sqlite") as store:
        store.add_records(recs)
        import hashlib

        text_hash = hashlib.sha1(features.document(recs[0]).encode("utf-8")).hexdigest()[:16]
        store.put_embeddings(features.EMBEDDING_MODEL, [("W1", text_hash, np.ones(3))])  # not 384 long
        out = features.stored_embeddings(store, recs)
        assert len(calls) == 1 and out.shape == (1, 384)
