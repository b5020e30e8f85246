"""compare_calibrators: held-out ranking, paired uncertainty, user candidates."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from conftest import load_shared, sample_labels, seeded_halves, softmax
from skcal import (
    MatrixScaling,
    PlattScaling,
    TemperatureScaling,
    VectorScaling,
    compare_calibrators,
)
from skcal.calibrators._registry import default_calibrators
from skcal.metrics import nll


@pytest.fixture
def overconfident_logits():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=4.0, size=(2000, 4))
    return logits, sample_labels(softmax(logits / 2), rng)


class MemorisingCalibrator(ClassifierMixin, BaseEstimator):
    """Deliberately overfits: remembers each training row's label and predicts it
    with certainty; unseen rows get the class frequencies."""

    def fit(self, X, y, sample_weight=None):
        X = np.asarray(X)
        self.classes_ = np.arange(X.shape[1])
        self.memory_ = {row.tobytes(): label for row, label in zip(X, y)}
        self.prior_ = np.bincount(y, minlength=X.shape[1]) / len(y)
        return self

    def predict_proba(self, X):
        X = np.asarray(X)
        proba = np.tile(self.prior_, (X.shape[0], 1))
        for i, row in enumerate(X):
            if row.tobytes() in self.memory_:
                proba[i] = np.eye(X.shape[1])[self.memory_[row.tobytes()]]
        return proba


def test_ranking_is_sorted_mean_held_out_nll(overconfident_logits):
    comparison = compare_calibrators(*overconfident_logits)
    results = comparison.cv_results_
    by_name = dict(zip(results["method"], results["mean_test_nll"]))
    ranked = [by_name[name] for name in comparison.ranking_]
    assert ranked == sorted(ranked)
    assert comparison.ranking_[-1] == "uncalibrated"
    assert set(comparison.ranking_) == {"uncalibrated", *default_calibrators()}
    assert len(comparison.ranking_) == 8  # seven calibrators and the baseline
    assert_array_equal(results["rank_test_nll"][np.argsort(results["mean_test_nll"])],
                       np.arange(1, 9))


def test_scores_are_held_out_and_folds_shared(overconfident_logits):
    logits, y = overconfident_logits
    comparison = compare_calibrators(logits, y, cv=4, random_state=3)
    folds = list(StratifiedKFold(4, shuffle=True, random_state=3).split(logits, y))
    for k, (train, test) in enumerate(folds):
        expected = TemperatureScaling().fit(logits[train], y[train]).predict_proba(logits[test])
        assert_allclose(comparison.predictions_["TemperatureScaling"][test], expected)
        fold_nll = nll(y[test], expected)
        row = list(comparison.cv_results_["method"]).index("TemperatureScaling")
        assert comparison.cv_results_[f"split{k}_test_nll"][row] == pytest.approx(fold_nll)


def test_an_overfitting_calibrator_ranks_low(overconfident_logits):
    logits, y = overconfident_logits
    candidates = {"memorise": MemorisingCalibrator(), "temperature": TemperatureScaling()}
    comparison = compare_calibrators(logits, y, calibrators=candidates)
    # in-sample it would be perfect (NLL 0); held out it cannot beat the baseline
    assert comparison.ranking_[0] == "temperature"
    assert comparison.ranking_.index("memorise") > comparison.ranking_.index("uncalibrated")


def test_paired_difference_and_its_standard_error(overconfident_logits):
    logits, y = overconfident_logits
    comparison = compare_calibrators(logits, y)
    results = comparison.cv_results_
    names = list(results["method"])
    best = comparison.ranking_[0]
    worst = names.index("uncalibrated")
    n_splits = comparison.n_splits_
    split_nll = np.array([results[f"split{k}_test_nll"] for k in range(n_splits)])
    expected_diff = (split_nll[:, worst] - split_nll[:, names.index(best)]).mean()
    assert results["nll_diff_to_best"][worst] == pytest.approx(expected_diff)
    assert results["nll_diff_to_best"][names.index(best)] == 0.0
    assert results["nll_diff_se"][names.index(best)] == 0.0
    assert 0 < results["nll_diff_se"][worst] < results["nll_diff_to_best"][worst] / 5
    assert not results["tied_with_best"][worst]
    assert results["tied_with_best"][names.index(best)]


def test_identical_candidates_are_tied(overconfident_logits):
    logits, y = overconfident_logits
    comparison = compare_calibrators(
        logits, y, calibrators=[TemperatureScaling(), TemperatureScaling(tol=1e-9)]
    )
    results = comparison.cv_results_
    assert list(results["method"]) == ["uncalibrated", "TemperatureScaling",
                                       "TemperatureScaling#2"]
    assert results["tied_with_best"][1] and results["tied_with_best"][2]


def test_overconfident_real_model_is_much_improved():
    data = load_shared("netcal_densenet-bc-100-cifar-100_test.npz")
    comparison = compare_calibrators(
        data["probs"], data["y"],
        calibrators=[TemperatureScaling(), VectorScaling(), PlattScaling()],
    )
    results = comparison.cv_results_
    names = list(results["method"])
    best_nll = results["mean_test_nll"].min()
    assert results["mean_test_nll"][names.index("uncalibrated")] > best_nll + 0.25
    assert comparison.ranking_[-1] == "uncalibrated"
    worst = names.index("uncalibrated")
    assert results["nll_diff_to_best"][worst] > 10 * results["nll_diff_se"][worst]


def test_with_a_classifier_nothing_is_scored_in_sample():
    X, y = make_classification(n_samples=400, n_features=20, n_informative=4, random_state=0)
    comparison = compare_calibrators(
        X, y, estimator=LogisticRegression(C=1e4, max_iter=5000),
        calibrators=[TemperatureScaling(), PlattScaling()], cv=3,
    )
    # a classifier overfit on 20 features: in-sample its NLL would be near 0
    assert comparison.cv_results_["mean_test_nll"].min() > 0.2
    assert isinstance(comparison.best_calibrator_, (TemperatureScaling, PlattScaling))
    assert comparison.best_calibrator_.estimator_.coef_.shape == (1, 20)
    assert comparison.predictions_["uncalibrated"].shape == (400, 2)


def test_test_set_results_and_json(overconfident_logits):
    logits, y = overconfident_logits
    fit, test = seeded_halves(y.shape[0])
    comparison = compare_calibrators(
        logits[fit], y[fit], X_test=logits[test], y_test=y[test],
        calibrators=[TemperatureScaling(), VectorScaling()],
    )
    expected = nll(y[test], TemperatureScaling().fit(logits[fit], y[fit]).predict_proba(logits[test]))
    assert comparison.test_results_["TemperatureScaling"]["nll"] == pytest.approx(expected)
    summary = comparison.to_dict()
    assert summary["ranking"] == comparison.ranking_
    assert [m["method"] for m in summary["methods"]] == comparison.ranking_
    assert set(summary["test_results"]) == {"uncalibrated", "TemperatureScaling", "VectorScaling"}
    assert "Fitted on all the data, scored on the test set" in str(comparison)


def test_to_frame(overconfident_logits):
    pd = pytest.importorskip("pandas", reason="to_frame needs the optional pandas")
    frame = compare_calibrators(*overconfident_logits, calibrators=[TemperatureScaling()]).to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.index) == ["TemperatureScaling", "uncalibrated"]


def test_bad_candidates_are_refused(overconfident_logits):
    logits, y = overconfident_logits
    with pytest.raises(ValueError, match="wraps a classifier already"):
        compare_calibrators(logits, y, calibrators=[TemperatureScaling(LogisticRegression())])
    with pytest.raises(ValueError, match="name of the baseline"):
        compare_calibrators(logits, y, calibrators={"uncalibrated": TemperatureScaling()})
    with pytest.raises(ValueError, match="is empty"):
        compare_calibrators(logits, y, calibrators=[])


def test_methods_can_be_chosen_by_class_name_or_short_name(overconfident_logits):
    logits, y = overconfident_logits
    by_class = compare_calibrators(logits, y, calibrators=["TemperatureScaling"], cv=3)
    by_short = compare_calibrators(logits, y, calibrators=["temperature", "platt"], cv=3)
    as_dict = compare_calibrators(logits, y, calibrators={"T": "temperature"}, cv=3)
    assert by_class.ranking_ and set(by_class.ranking_) == {"TemperatureScaling", "uncalibrated"}
    assert set(by_short.ranking_) == {"TemperatureScaling", "PlattScaling", "uncalibrated"}
    assert set(as_dict.ranking_) == {"T", "uncalibrated"}
    i, j = list(by_class.cv_results_["method"]).index("TemperatureScaling"), list(
        as_dict.cv_results_["method"]).index("T")
    assert by_class.cv_results_["mean_test_nll"][i] == as_dict.cv_results_["mean_test_nll"][j]
    with pytest.raises(ValueError, match="Unknown calibration method 'magic'; choose among "
                                         "temperature, platt, vector"):
        compare_calibrators(logits, y, calibrators=["magic"])


def test_arguments_of_the_other_mode_are_refused(overconfident_logits):
    logits, y = overconfident_logits
    with pytest.raises(ValueError, match="response_method has no effect without"):
        compare_calibrators(logits, y, response_method="predict_proba")
    X, yc = make_classification(n_samples=100, random_state=0)
    with pytest.raises(ValueError, match="score_type has no effect with a classifier"):
        compare_calibrators(X, yc, estimator=LogisticRegression(), score_type="logits")


def test_recommends_the_simplest_method_tied_with_the_best(overconfident_logits):
    logits, y = overconfident_logits
    comparison = compare_calibrators(logits, y, calibrators=["temperature", "vector", "matrix"])
    results = comparison.cv_results_
    tied = dict(zip(results["method"], results["tied_with_best"]))
    simplest_tied = next(m for m in ["uncalibrated", "TemperatureScaling", "VectorScaling",
                                     "MatrixScaling"] if tied[m])
    assert comparison.recommended_ == simplest_tied
    assert f"Recommended: {simplest_tied}" in str(comparison)
    # the order given is the order of simplicity
    reversed_order = compare_calibrators(logits, y, calibrators=["matrix", "vector", "temperature"])
    tied = dict(zip(reversed_order.cv_results_["method"],
                    reversed_order.cv_results_["tied_with_best"]))
    assert reversed_order.recommended_ == next(
        m for m in ["uncalibrated", "MatrixScaling", "VectorScaling", "TemperatureScaling"]
        if tied[m]
    )


def test_to_frame_puts_the_summary_first_and_splits_on_request(overconfident_logits):
    pytest.importorskip("pandas", reason="to_frame needs pandas, an optional dependency")
    logits, y = overconfident_logits
    comparison = compare_calibrators(logits, y, calibrators=["temperature"], cv=3)
    frame = comparison.to_frame()
    assert list(frame.columns[:4]) == ["mean_test_nll", "nll_diff_to_best", "nll_diff_se",
                                       "tied_with_best"]
    assert not any(c.startswith("split") for c in frame.columns)
    assert len(frame.columns) <= 10
    detailed = comparison.to_frame(splits=True)
    assert list(detailed.columns[: len(frame.columns)]) == list(frame.columns)
    assert "split2_test_nll" in detailed.columns
    assert list(frame.index) == comparison.ranking_


def test_the_test_table_is_ordered_by_test_nll(overconfident_logits):
    logits, y = overconfident_logits
    comparison = compare_calibrators(logits[:1500], y[:1500], calibrators=["temperature", "platt"],
                                     X_test=logits[1500:], y_test=y[1500:], cv=3)
    text = str(comparison).split("scored on the test set")[1]
    order = sorted(comparison.test_results_, key=lambda m: comparison.test_results_[m]["nll"])
    positions = [text.index(name) for name in order]
    assert positions == sorted(positions)


def test_pvalue_of_the_paired_difference(overconfident_logits):
    from scipy.stats import t

    logits, y = overconfident_logits
    comparison = compare_calibrators(logits, y, calibrators=["temperature", "vector"], cv=3)
    results = comparison.cv_results_
    for diff, se, pvalue in zip(results["nll_diff_to_best"], results["nll_diff_se"],
                                results["nll_diff_pvalue"]):
        if se == 0:
            assert pvalue == 1.0 and diff == 0
        else:  # Student's t over each fold's rows less one
            assert pvalue == pytest.approx(2 * t.sf(abs(diff) / se, df=len(y) - 3))
    baseline = list(results["method"]).index("uncalibrated")
    assert results["nll_diff_pvalue"][baseline] < 1e-6
    assert "p" in str(comparison).splitlines()[1].split()


def test_calibration_test_column(overconfident_logits):
    from skcal.stats import calibration_test

    logits, y = overconfident_logits
    comparison = compare_calibrators(logits, y, calibrators=["temperature"], cv=3,
                                     calibration_test="consistency")
    results = comparison.cv_results_
    methods = list(results["method"])
    expected = {
        name: calibration_test(y, comparison.predictions_[name], random_state=0).pvalue
        for name in methods
    }
    assert list(results["calibration_pvalue"]) == [expected[name] for name in methods]
    assert results["calibration_pvalue"][methods.index("uncalibrated")] < 0.01
    assert "calib. p" in str(comparison)
    skce = compare_calibrators(logits, y, calibrators=["temperature"], cv=3,
                               calibration_test={"method": "skce", "estimator": "linear"})
    assert skce.cv_results_["calibration_pvalue"].shape == (2,)
    # weighted as the comparison: each method's pooled predictions, its rows' weights
    weight = np.random.default_rng(0).exponential(size=len(y))
    weighted = compare_calibrators(logits, y, calibrators=["temperature"], cv=3,
                                   sample_weight=weight, calibration_test="consistency")
    assert list(weighted.cv_results_["calibration_pvalue"]) == [
        calibration_test(y, weighted.predictions_[name], sample_weight=weight,
                         random_state=0).pvalue
        for name in weighted.cv_results_["method"]]
    with pytest.raises(ValueError, match="calibration_test='skce' takes no weights"):
        compare_calibrators(logits, y, calibrators=["temperature"], cv=3,
                            sample_weight=weight, calibration_test={"method": "skce"})


@pytest.mark.parametrize("calibration_test, error, message", [
    # named 'method' of calibration_test, after every fold had been fitted
    ("chi2", ValueError, r"calibration_test='chi2' is not a test; give one of 'consistency'"),
    ({"method": "skce", "kernel": "rbf"}, ValueError,
     r"calibration_test has arguments \['kernel'\] that skcal.stats.calibration_test does "
     "not take"),  # was a TypeError after the folds
    (["skce"], TypeError, "calibration_test must be a test's name"),
])
def test_a_calibration_test_it_cannot_run_is_refused_before_the_folds(
        overconfident_logits, monkeypatch, calibration_test, error, message):
    import skcal.comparison._compare as compare

    logits, y = overconfident_logits
    fitted = []
    monkeypatch.setattr(compare, "fit_sharing", lambda *args: fitted.append(args))
    with pytest.raises(error, match=message):
        compare_calibrators(logits, y, calibrators=["temperature"], cv=3,
                            calibration_test=calibration_test)
    assert fitted == []


def test_out_of_fold_predictions_are_a_mapping_pooled_once(overconfident_logits):
    """predictions_ is a read-only mapping by method name: each method's array is
    put together on first read, then the same array; it survives pickling."""
    import pickle

    logits, y = overconfident_logits
    comparison = compare_calibrators(logits, y, calibrators=["temperature", "platt"], cv=3)
    predictions = comparison.predictions_
    assert list(predictions) == list(comparison.cv_results_["method"])
    assert len(predictions) == 3 and "PlattScaling" in predictions
    first = predictions["PlattScaling"]
    assert first is predictions["PlattScaling"]
    assert first.shape == logits.shape
    assert_allclose(first.sum(axis=1), 1.0)
    with pytest.raises(KeyError):
        predictions["VectorScaling"]
    restored = pickle.loads(pickle.dumps(comparison))
    for name, proba in predictions.items():
        assert_array_equal(restored.predictions_[name], proba)


@pytest.mark.parametrize("case", ["logits", "probabilities", "binary", "weighted"])
def test_work_shared_between_candidates_changes_no_result(case, monkeypatch):
    """A fold computes the logits of probabilities, the one-vs-rest log-odds and
    the temperature fit once for all candidates; every prediction is bit for bit
    what the candidates give when each computes everything itself, but Platt
    scaling's and beta calibration's, which start from the temperature fit's
    slope and from Platt's fit: the same optimum to their tolerance (the
    training NLL they minimise agrees to 1e-12 a sample, see
    test_one_vs_rest_maps_in_a_comparison_start_warm_and_reach_the_same_optimum;
    beta's ``b`` is poorly determined there, so held-out predictions agree to
    about 1e-5 and the held-out NLL to about 1e-8)."""
    import skcal.comparison._compare
    import skcal.utils._reuse

    rng = np.random.default_rng(5)
    n_classes = 2 if case == "binary" else 6
    logits = rng.normal(scale=3.0, size=(1500, n_classes))
    y = sample_labels(softmax(logits / 1.7), rng)
    X = softmax(logits) if case == "probabilities" else logits
    X = X[:, 1] if case == "binary" else X
    weights = rng.uniform(0.2, 3.0, y.shape[0]) if case == "weighted" else None
    computed = []
    original = skcal.utils._reuse.reused

    def counting(cache, key, compute, **inputs):
        return original(cache, key, lambda: computed.append(key) or compute(), **inputs)

    for module in ("rows._scores", "rows._one_vs_rest", "solvers._temperature_fit",
                   "solvers._vector_fit"):
        monkeypatch.setattr(f"skcal.{module}.reused", counting)
    shared = compare_calibrators(X, y, sample_weight=weights)
    n_shared = len(computed)
    monkeypatch.setattr(skcal.comparison._compare, "FoldCache", lambda *arrays, **starts: None)
    alone = compare_calibrators(X, y, sample_weight=weights)
    assert len(computed) > 1.5 * n_shared  # the sharing did save work
    warm = ("PlattScaling", "BetaCalibration")
    for name, proba in alone.predictions_.items():
        if name in warm:
            assert_allclose(shared.predictions_[name], proba, rtol=1e-4)
        else:
            assert_array_equal(shared.predictions_[name], proba)
    started_warm = np.isin(alone.cv_results_["method"], warm)
    for key in ("mean_test_nll", "mean_test_ece"):
        assert_array_equal(shared.cv_results_[key][~started_warm],
                           alone.cv_results_[key][~started_warm])
    # paired with the best method's predictions, which may be a warm-started one
    assert_allclose(shared.cv_results_["nll_diff_se"], alone.cv_results_["nll_diff_se"],
                    rtol=1e-5, atol=1e-8)
    assert_allclose(shared.cv_results_["mean_test_nll"][started_warm],
                    alone.cv_results_["mean_test_nll"][started_warm], rtol=1e-7)


@pytest.fixture
def vector_fits(monkeypatch):
    """The results of every vector-scaling fit computed (not taken from a cache)
    during the test, in order."""
    import skcal.solvers._vector_fit

    fits = []
    original = skcal.solvers._vector_fit._fit_vector_scaling

    def recording(*args, **kwargs):
        fits.append(original(*args, **kwargs))
        return fits[-1]

    monkeypatch.setattr(skcal.solvers._vector_fit, "_fit_vector_scaling", recording)
    return fits


@pytest.mark.parametrize("n_classes, stops_as_exact", [(10, True), (5, False)])
def test_a_tighter_vector_scaling_fit_reuses_the_cached_one_only_when_exact(
        n_classes, stops_as_exact, vector_fits):
    """A vector-scaling fit to a smaller relative decrease takes the cached fit
    when that stopped where the smaller decrease stops too (on its gradient, or
    on a Newton decrement below the smaller decrease; it would have stopped
    none of the iterations before), and fits again otherwise."""
    import skcal.solvers._vector_fit
    from skcal.solvers._temperature_fit import fit_inverse_temperature
    from skcal.solvers._vector_fit import VECTOR_SCALING_ALPHA
    from skcal.utils._reuse import FoldCache

    rng = np.random.default_rng(0)
    logits = rng.normal(scale=4.0, size=(2000, n_classes))
    y = np.argmax(logits / 2 + rng.gumbel(size=logits.shape), axis=1)
    beta = fit_inverse_temperature(logits, y)[0]
    options = dict(a0=beta, alpha=VECTOR_SCALING_ALPHA, tol=1e-8, max_iter=1000)
    tight = 64 * np.finfo(float).eps
    alone = skcal.solvers._vector_fit.fit_vector_scaling(logits, y, None, relative_decrease=tight,
                                               **options)
    cache = FoldCache(logits)
    skcal.solvers._vector_fit.fit_vector_scaling(logits, y, None, cache=cache, **options)
    assert bool(vector_fits[-1][-1] <= tight) is stops_as_exact
    shared = skcal.solvers._vector_fit.fit_vector_scaling(
        logits, y, None, relative_decrease=tight, cache=cache, **options)
    assert len(vector_fits) == (2 if stops_as_exact else 3)
    for got, want in zip(shared, alone):
        assert_array_equal(got, want)


def test_matrix_scaling_starts_from_the_vector_scaling_fit_of_its_fold(vector_fits):
    """Matrix scaling starts from vector scaling's own fit, so on a comparison's
    fold vector scaling is fitted once for both: also where its fit stopped on
    a Newton decrement (these scores), which a start asked to a smaller
    relative decrease would fit again."""
    from sklearn.base import clone
    from skcal.calibrators._sharing import fit_sharing
    from skcal.utils._reuse import FoldCache

    rng = np.random.default_rng(0)
    logits = rng.normal(scale=4.0, size=(2000, 5))
    y = np.argmax(logits / 2 + rng.gumbel(size=logits.shape), axis=1)
    cache = FoldCache(logits)
    vector = fit_sharing(VectorScaling(), logits, y, None, cache)
    assert vector_fits[0][-1] > 64 * np.finfo(float).eps  # stopped on a Newton decrement
    shared = fit_sharing(MatrixScaling(), logits, y, None, cache)
    assert len(vector_fits) == 1
    alone = clone(MatrixScaling()).fit(logits, y)
    assert len(vector_fits) == 2
    assert_array_equal(shared.coef_, alone.coef_)
    assert_array_equal(shared.intercept_, alone.intercept_)
    # the start is vector scaling's map, and the fit never rises above its NLL
    # (the penalties vanish there; here the fit lowers it by far more than rounding)
    assert nll(y, shared.predict_proba(logits)) <= nll(y, vector.predict_proba(logits))


@pytest.mark.parametrize("weighted", [False, True])
def test_each_folds_ece_is_the_expected_calibration_error_of_its_predictions(weighted):
    """The comparison computes each fold's ECE from the predictions it has
    checked already; it is the public metric's value on them (same bins, same
    sums; 1e-12 allows the last bits only)."""
    from skcal.metrics import expected_calibration_error

    rng = np.random.default_rng(3)
    logits = rng.normal(scale=3.0, size=(900, 4))
    y = np.argmax(logits / 2 + rng.gumbel(size=logits.shape), axis=1)
    weights = rng.uniform(0.2, 2.0, size=900) if weighted else None
    comparison = compare_calibrators(logits, y, cv=3, sample_weight=weights,
                                     calibrators=["temperature", "isotonic", "histogram"])
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0).split(logits, y)
    for fold, (_, test) in enumerate(folds):
        for row, name in enumerate(comparison.cv_results_["method"]):
            proba = comparison.predictions_[name][test]
            expected = expected_calibration_error(
                y[test], proba, sample_weight=None if weights is None else weights[test])
            assert_allclose(comparison.cv_results_[f"split{fold}_test_ece"][row], expected,
                            rtol=1e-12, atol=0)


class PriorCalibrator(BaseEstimator):
    """A candidate from outside skcal without ``classes_``: it predicts the class
    frequencies of its training labels (columns in sorted label order), or,
    given ``output``, returns that instead."""

    def __init__(self, output=None):
        self.output = output

    def fit(self, X, y, sample_weight=None):
        self.prior_ = np.unique(y, return_counts=True)[1] / len(y)
        return self

    def predict_proba(self, X):
        if self.output is not None:
            return self.output(np.asarray(X))
        return np.tile(self.prior_, (len(X), 1))


def _with_nan(X):
    proba = np.full(X.shape, 1.0 / X.shape[1])
    proba[1, 2] = np.nan
    return proba


@pytest.mark.parametrize("output, message", [
    (lambda X: np.full(X.shape, 0.5), "rows of the predict_proba of candidate 'custom' must sum"),
    (_with_nan, "Candidate 'custom' predicted nan at row 1, column 2"),
    (lambda X: np.full(len(X), 0.5), r"Candidate 'custom' predicted an array of shape \(100,\)"),
    (lambda X: np.full((len(X), 2), 0.5), r"shape \(100, 2\)"),
])
def test_a_candidates_predictions_that_are_not_probabilities_are_refused(output, message):
    """A candidate from outside skcal whose predict_proba is not a matrix of
    probabilities, one column per class, is refused by name, with the shape it
    must return, instead of being ranked on meaningless numbers."""
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(300, 3))
    y = rng.integers(0, 3, size=300)
    with pytest.raises(ValueError, match=message) as info:
        compare_calibrators(logits, y, cv=3, calibrators={"custom": PriorCalibrator(output)})
    assert "must return probabilities of shape (100, 3)" in str(info.value)


def test_a_candidate_without_classes_is_scored_on_the_test_set():
    """On the test set a candidate from outside skcal without ``classes_`` has
    its columns read as the sorted labels, as in the folds."""
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(400, 3))
    y = np.array(["cat", "dog", "emu"])[rng.integers(0, 3, size=400)]
    comparison = compare_calibrators(logits[:300], y[:300], cv=3, X_test=logits[300:],
                                     y_test=y[300:],
                                     calibrators={"custom": PriorCalibrator()})
    prior = np.unique(y[:300], return_counts=True)[1] / 300
    expected = nll(y[300:], np.tile(prior, (100, 1)), labels=["cat", "dog", "emu"])
    # the same per-row logarithms, summed in another order: 1e-12 allows the
    # rounding of a sum of 100 terms
    assert_allclose(comparison.test_results_["custom"]["nll"], expected, rtol=1e-12)


def test_a_test_label_that_the_calibration_labels_lack_is_refused_by_name():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(300, 3))
    y = np.argmax(logits / 2 + rng.gumbel(size=logits.shape), axis=1)
    y_test = np.r_[np.zeros(9, dtype=int), 7]
    with pytest.raises(ValueError, match=r"y_test has labels \[7\] that y lacks.*one of \[0, 1, 2\]"):
        compare_calibrators(logits, y, cv=3, calibrators=["temperature"],
                            X_test=logits[:10], y_test=y_test)


@pytest.mark.parametrize("cut, message", [
    (lambda X, y: (X, y[:-1]), "X_test has 10 rows but y_test has 9 labels"),  # an IndexError
    (lambda X, y: (X, None), "Give both X_test and y_test, or neither"),
    (lambda X, y: (X[:, :2], y),  # the calibrator's own message named X
     "X_test could not be scored by uncalibrated, fitted on X and y: X has 2 score"),
])
def test_a_test_set_that_does_not_fit_is_refused_by_name(cut, message):
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(300, 3))
    y = np.argmax(logits / 2 + rng.gumbel(size=logits.shape), axis=1)
    X_test, y_test = cut(logits[:10], y[:10])
    with pytest.raises(ValueError, match=message):
        compare_calibrators(logits, y, cv=3, calibrators=["temperature"],
                            X_test=X_test, y_test=y_test)


def test_scores_in_a_frame_give_a_best_calibrator_held_to_its_columns(overconfident_logits):
    pd = pytest.importorskip("pandas", reason="the DataFrame case needs pandas")
    logits, y = overconfident_logits
    frame = pd.DataFrame(logits, columns=["cat", "dog", "eel", "fox"])
    comparison = compare_calibrators(frame, y, calibrators=["temperature", "vector"], cv=3)
    best = comparison.best_calibrator_
    assert list(best.feature_names_in_) == ["cat", "dog", "eel", "fox"]
    best.predict_proba(frame)  # no feature-name warning (the suite's warnings are errors)
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        best.predict_proba(frame[["fox", "dog", "eel", "cat"]])
