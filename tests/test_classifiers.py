import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from review.core.records import Record
from review.screening.classifiers import CLASSIFIERS, Prioritiser, Ranker, balanced_weights, prior_scores
from review.screening.features import TextFeatures, subject_terms

TOPIC = ["emicizumab prophylaxis in haemophilia A patients", "haemophilia A bleeding rates under emicizumab",
         "pharmacokinetics of emicizumab in children with haemophilia", "factor VIII inhibitors and emicizumab"]
OTHER = ["hair cortisol and obesity in adults", "hormone replacement therapy after menopause",
         "borderline personality disorder psychotherapy trial", "biosimilar infliximab switching in Crohn's disease",
         "cortisol awakening response in students", "schema therapy for personality disorders",
         "estrogen therapy and breast cancer risk", "adalimumab biosimilar nocebo effect"]


def recs(texts, start=0):
    return [Record(id=f"W{i + start}", title=t, abstract=f"We studied {t}.") for i, t in enumerate(texts)]


def test_features_fit_transform_and_subject_terms():
    records = recs(TOPIC + OTHER)
    f = TextFeatures(min_df=1)
    X = f.fit_transform(records)
    assert X.shape[0] == len(records) and sp.issparse(X)
    assert np.allclose(f.transform(records).toarray(), X.toarray(), atol=1e-6)
    # a new record in the fitted space
    q = f.transform_text(["emicizumab haemophilia"])
    assert q.shape == (1, X.shape[1]) and q.nnz > 0
    raw = {"mesh": [{"descriptor_name": "Hemophilia A"}]}
    r = Record(id="W9", concepts=["Medicine"], keywords=["Bleeding"])
    assert subject_terms(r, raw) == ["medicine", "bleeding", "mesh:hemophilia a"]
    with pytest.raises(NotFittedError, match="not fitted"):
        TextFeatures().transform(records)


def test_balanced_weights():
    y = np.array([1, 0, 0, 0, 0])
    w = balanced_weights(y, 1.0)
    assert w.sum() == pytest.approx(5) and w[0] == pytest.approx(w[1:].sum())
    w = balanced_weights(y, 4.0)
    assert w[0] == pytest.approx(4 * w[1:].sum())


@pytest.mark.parametrize("classifier", CLASSIFIERS)
def test_every_classifier_ranks_topic_records_first(classifier):
    records = recs(TOPIC + OTHER)
    X = TextFeatures(min_df=1).fit_transform(records)
    y = np.array([1] * len(TOPIC) + [0] * len(OTHER))
    train = [0, 1, 4, 5, 6]  # two relevant, three irrelevant
    ranker = Ranker(classifier=classifier).fit(X[train], y[train])
    rest = np.array([i for i in range(len(y)) if i not in train])
    order = rest[ranker.order(ranker.score(X[rest]))]
    assert set(order[:2]) == {2, 3}  # the two unseen topic records first


def test_query_strategies_are_permutations_and_differ():
    scores = np.array([3.0, 0.1, -2.0, 1.0, -0.05, 2.0, -1.0, 0.5, -0.3, 0.2, 4.0, -4.0])
    r = Ranker(classifier="svm")
    r.models_ = [object()]  # one model: boundary at 0
    by_max = r.order(scores)
    assert list(by_max[:3]) == [10, 0, 5]
    r.query = "uncertainty"
    assert list(r.order(scores)[:2]) == [4, 1]
    r.query, r.mix_every = "mixed", 3
    mixed = list(r.order(scores))
    assert sorted(mixed) == list(range(12))
    assert mixed[:2] == [10, 0] and mixed[2] == 4  # every third pick is the most uncertain one


def test_bad_names():
    X, y = sp.csr_matrix(np.eye(2)), [0, 1]
    with pytest.raises(ValueError, match="unknown classifier 'rf'"):
        Ranker(classifier="rf").fit(X, y)  # scikit-learn convention: stored as given, checked in fit
    with pytest.raises(ValueError, match="unknown query strategy"):
        Ranker(query="random").check_params()
    with pytest.raises(ValueError, match="members must name"):
        Ranker(classifier="ensemble", members=("svm", "forest")).fit(X, y)
    with pytest.raises(ValueError, match="ratio must be a number > 0"):
        Ranker(ratio=0).fit(X, y)
    with pytest.raises(ValueError, match="at least one relevant"):
        Ranker().fit(X, [0, 0])
    with pytest.raises(ValueError, match="word_ngrams"):
        TextFeatures(word_ngrams=(2, 1)).fit(recs(TOPIC))
    with pytest.raises(ValueError, match="citation_weight"):
        TextFeatures(citation_weight=-1).fit(recs(TOPIC))


def test_estimators_follow_scikit_learn_conventions():
    """get_params / set_params / clone / repr work, and an unfitted clone is not fitted."""
    f = TextFeatures(word_ngrams=(1, 3), citation_weight=0.0)
    assert f.get_params()["word_ngrams"] == (1, 3) and "citation_weight=0.0" in repr(f)
    X = f.fit_transform(recs(TOPIC + OTHER))
    g = clone(f)
    assert g.get_params() == f.get_params() and not hasattr(g, "blocks_")
    with pytest.raises(NotFittedError):
        g.transform(recs(TOPIC))
    r = Ranker(classifier="svm", C=0.5).set_params(ratio=2.0)  # "svm" is the default
    assert r.get_params()["ratio"] == 2.0 and repr(r) == "Ranker(C=0.5, ratio=2.0)"  # repr shows non-defaults
    y = np.array([1] * 4 + [0] * 8)
    s = r.fit(X, y).score(X)
    assert np.allclose(clone(r).fit(X, y).score(X), s)  # same parameters, same model
    with pytest.raises(NotFittedError):
        clone(r).score(X)


def test_prioritiser_ranks_only_unlabelled_and_uses_priors():
    records = recs(TOPIC + OTHER)
    f = TextFeatures(min_df=1)
    X = f.fit_transform(records)
    query = f.transform_text(["haemophilia emicizumab"])
    p = Prioritiser(X, Ranker(), query=query)
    first = p.ranking()
    assert sorted(first) == list(range(len(records))) and set(first[:4]) == set(range(4))
    p.label(0, 1)  # one relevant only: similarity to it
    assert 0 not in p.ranking() and set(p.ranking()[:3]) == {1, 2, 3}
    p.label(5, 0)
    assert p.trainable and set(p.ranking()[:3]) == {1, 2, 3}
    p.unlabel(0)
    assert 0 in p.ranking() and not p.trainable
    # no query, no labels: the stored order
    assert list(Prioritiser(X).ranking()) == list(range(len(records)))
    assert list(prior_scores(X, np.arange(3))) == [0, 0, 0]


def test_presumed_irrelevant_makes_one_relevant_record_trainable():
    records = recs(TOPIC + OTHER * 3)
    X = TextFeatures(min_df=1).fit_transform(records)
    p = Prioritiser(X, Ranker(presumed_irrelevant=6, random_state=1))
    p.label(0, 1)
    assert p.trainable
    assert {1, 2} <= set(p.ranking()[:3])


def test_citation_and_author_blocks_bring_connected_records_together():
    a = Record(id="W1", title="alpha", referenced_works=["W100", "W101"])
    b = Record(id="W2", title="beta", referenced_works=["W100", "W101"])  # same references as W1
    c = Record(id="W3", title="gamma", referenced_works=["W1"])  # cites W1
    d = Record(id="W4", title="delta", referenced_works=["W200"])
    X = TextFeatures(citation_weight=1.0, token_min_df=2).fit_transform([a, b, c, d])
    sims = (X @ X.T).toarray()
    assert sims[0, 1] > 0 and sims[0, 2] > 0 and sims[0, 3] == 0 and sims[1, 3] == 0
    assert (X @ X.T).toarray()[1, 2] == 0


def test_records_without_text_or_links_still_get_features():
    f = TextFeatures(citation_weight=0.5, author_weight=0.2, subject_weight=0.2)
    X = f.fit_transform([Record(id="W1"), Record(id="W2"), Record(id="W3", title="text here")])
    assert X.shape[0] == 3
    assert f.transform_text(["text"]).shape == (1, X.shape[1])


@pytest.mark.parametrize("classifier", ["nb", "svm", "logistic"])
def test_scores_equal_the_classifiers_own(classifier):
    """score() computes each member as one matrix-vector product; it must equal scikit-learn's output."""
    rng = np.random.default_rng(0)
    X = sp.random(200, 500, density=0.05, format="csr", random_state=1, dtype=np.float32)
    y = (rng.random(200) < 0.2).astype(int)
    r = Ranker(classifier=classifier).fit(X, y)
    m = r.models_[0]
    if classifier == "nb":
        lp = m.predict_log_proba(X)
        expected = lp[:, 1] - lp[:, 0]
    else:
        expected = m.decision_function(X)
    assert np.allclose(r.score(X), expected, atol=1e-4)
