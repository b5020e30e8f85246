"""A calibrator fitted inside compare_calibrators, where candidates share work on a
fold, predicts what it predicts when fitted alone on the same fold."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone

from skcal import PlattScaling, TemperatureScaling, compare_calibrators
from skcal.calibrators._registry import default_calibrators
from skcal.utils._reuse import FoldCache, Key

# Platt scaling starts from the temperature fit and beta calibration from Platt's
# when the comparison holds them; alone they start elsewhere and stop at their
# tolerance from the other side (measured: 4e-7 in probability)
WARM_STARTED = {"PlattScaling", "BetaCalibration"}


def _three_folds(seed, n, k):
    """Overconfident logits, labels drawn from softmax(logits / 2), three folds."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=3.0, size=(n, k))
    y = (logits / 2 + rng.gumbel(size=logits.shape)).argmax(axis=1)
    folds = [(np.flatnonzero(np.arange(n) % 3 != f), np.flatnonzero(np.arange(n) % 3 == f))
             for f in range(3)]
    return logits, y, folds


def test_out_of_fold_predictions_equal_fits_alone_on_each_fold():
    logits, y, folds = _three_folds(seed=0, n=3000, k=5)
    n, k = logits.shape
    comparison = compare_calibrators(logits, y, cv=folds)
    for name, calibrator in default_calibrators().items():
        alone = np.empty((n, k))
        for train, test in folds:
            alone[test] = clone(calibrator).fit(logits[train], y[train]).predict_proba(
                logits[test])
        inside = np.asarray(comparison.predictions_[name])
        if name in WARM_STARTED:
            np.testing.assert_allclose(inside, alone, rtol=0, atol=1e-5, err_msg=name)
        else:
            # the same fit; numpy may add a fold's rows in another order inside
            # the comparison than in a copy of them (1e-15 apart on numpy 1.24)
            np.testing.assert_allclose(inside, alone, rtol=1e-12, atol=0, err_msg=name)


class _WrappedPlatt(ClassifierMixin, BaseEstimator):
    """A candidate that is not a skcal calibrator but fits one inside: it gets no
    cache, so nothing the comparison shares can reach the fit within."""

    def fit(self, X, y, sample_weight=None):
        self.inner_ = PlattScaling().fit(X, y, sample_weight=sample_weight)
        self.classes_ = self.inner_.classes_
        return self

    def predict_proba(self, X):
        return self.inner_.predict_proba(X)


def test_only_the_cache_passed_shares_work():
    """The fold's cache is an argument: a skcal fit reached any other way inside a
    comparison (here, by a candidate that wraps one) is a standalone fit, bit for
    bit, although the fold holds the temperature fit that Platt scaling would
    start from."""
    logits, y, folds = _three_folds(seed=1, n=1500, k=4)
    n, k = logits.shape
    comparison = compare_calibrators(
        logits, y, cv=folds,
        calibrators={"temperature": TemperatureScaling(), "wrapped": _WrappedPlatt(),
                     "platt": PlattScaling()})
    alone = np.empty((n, k))
    for train, test in folds:
        alone[test] = PlattScaling().fit(logits[train], y[train]).predict_proba(logits[test])
    np.testing.assert_array_equal(np.asarray(comparison.predictions_["wrapped"]), alone)
    # the candidate given the cache started from the temperature fit: equal to the
    # tolerance above, not bit for bit
    shared = np.asarray(comparison.predictions_["platt"])
    np.testing.assert_allclose(shared, alone, rtol=0, atol=1e-5)
    assert not np.array_equal(shared, alone)


def test_a_cache_takes_only_its_declared_keys():
    cache = FoldCache(np.ones(3))
    with pytest.raises(TypeError, match="Key"):
        cache.reused("logits", lambda: 1.0, same=())
    assert {key.name for key in Key} >= {"LOGITS", "INVERSE_TEMPERATURE", "PLATT_FIT"}


def test_folds_evaluated_in_parallel_processes_give_the_same_comparison():
    """n_jobs=2 evaluates the folds in two worker processes: the fitted methods
    come back pickled, and the table and the out-of-fold predictions are those
    of n_jobs=1, computed in the same order on the same rows. joblib limits the
    workers' BLAS threads, and another thread count may reorder a product's
    sums: 1e-12 relative allows that rounding (a few thousand units in the last
    place), and 1e-15 absolute the differences of quantities near zero."""
    logits, y, folds = _three_folds(seed=3, n=1500, k=4)
    serial = compare_calibrators(logits, y, cv=folds, n_jobs=1)
    parallel = compare_calibrators(logits, y, cv=folds, n_jobs=2)
    for key, column in serial.cv_results_.items():
        if "time" in key:
            continue
        if column.dtype.kind in "fc":
            np.testing.assert_allclose(parallel.cv_results_[key], column, rtol=1e-12,
                                       atol=1e-15, err_msg=key)
        else:
            np.testing.assert_array_equal(parallel.cv_results_[key], column, err_msg=key)
    for name, proba in serial.predictions_.items():
        np.testing.assert_allclose(parallel.predictions_[name], proba, rtol=1e-12, atol=1e-15,
                                   err_msg=name)
    assert parallel.recommended_ == serial.recommended_


def test_the_folds_after_the_first_start_platt_and_beta_at_its_fits(monkeypatch):
    """Every fold's one-vs-rest fits after the first start from the first fold's
    (their training rows are mostly the same), in fewer passes (or as many); the
    predictions stay those of fits alone to the tolerance of the first test."""
    import skcal.calibrators._beta as beta_calibration
    import skcal.solvers._beta_fit as beta_fit
    import skcal.solvers._platt_fit as platt_fit

    logits, y, folds = _three_folds(seed=4, n=6000, k=8)
    fits = []  # [method, start, passes, fitted parameters] of each fit, in order

    def recording(caller, module, fit_name, pass_name, method):
        fit, one_pass = getattr(module, fit_name), getattr(module, pass_name)

        def counted_pass(*args):
            fits[-1][2] += 1
            return one_pass(*args)

        def recorded_fit(*args, **options):
            fits.append([method, options.get("start"), 0, None])
            result = fit(*args, **options)
            fits[-1][3] = result[0]
            return result

        monkeypatch.setattr(module, pass_name, counted_pass)
        monkeypatch.setattr(caller, fit_name, recorded_fit)

    recording(platt_fit, platt_fit, "fit_platt", "_platt_pass", "platt")
    recording(beta_calibration, beta_fit, "fit_beta", "_beta_pass", "beta")
    comparison = compare_calibrators(
        logits, y, cv=folds, calibrators=["temperature", "platt", "beta"])
    for method in ("platt", "beta"):
        (_, first_start, first_passes, first_fit), *others = [
            fit for fit in fits if fit[0] == method][:3]  # the folds; then the refit
        if method == "platt":
            assert first_start is None  # it starts from the temperature fit's slope
        for _, start, passes, _ in others:
            np.testing.assert_array_equal(start, first_fit)
            # Newton passes after the first (which also sums the moments): Platt's
            # 3 from its own start, 2 from the first fold's; beta's 2 either way
            # (Platt's fit is about as close); a count changes on another CPU only
            # if a decrement falls within rounding of its threshold
            assert passes < first_passes if method == "platt" else passes <= first_passes
    n, k = logits.shape
    alone = np.empty((n, k))
    for train, test in folds:
        alone[test] = PlattScaling().fit(logits[train], y[train]).predict_proba(logits[test])
    np.testing.assert_allclose(np.asarray(comparison.predictions_["PlattScaling"]), alone,
                               rtol=0, atol=1e-5)


def test_a_folds_scores_are_checked_once_for_all_candidates(monkeypatch):
    """Each fold's training and held-out scores are checked (finite, numeric,
    their type resolved) once, not once per candidate; a candidate fitted alone
    still checks its input, and a NaN in a fold is still refused."""
    import skcal.rows._score_rows as score_rows

    checked = []
    original = score_rows.as_float_array

    def counting(X, **options):
        checked.append(X.shape)
        return original(X, **options)

    monkeypatch.setattr(score_rows, "as_float_array", counting)
    logits, y, folds = _three_folds(seed=6, n=1500, k=4)
    comparison = compare_calibrators(logits, y, cv=folds)
    n_candidates = len(comparison.cv_results_["method"])
    assert n_candidates >= 6
    # per fold its training and its held-out scores; then the best method's refit
    assert len(checked) == 2 * len(folds) + 1
    checked.clear()
    PlattScaling().fit(logits, y).predict_proba(logits)
    assert len(checked) == 2
    logits[folds[0][1][0], 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        compare_calibrators(logits, y, cv=folds)


def test_the_folds_share_one_vs_rest_scores_and_their_order_computed_on_all_rows(
        monkeypatch):
    """The one-vs-rest log-odds are computed once on all the rows, and each
    class's order of them once; every fold takes its rows (its isotonic and
    histogram fits are then those alone, bit for bit: the first test). A custom
    split that lists a training row twice computes on its own rows."""
    import skcal.rows._one_vs_rest as one_vs_rest

    logits, y, folds = _three_folds(seed=7, n=1500, k=5)
    rows_scored, sorts = [0], [0]
    class_scores, sorted_with_order = (one_vs_rest.class_scores,
                                       one_vs_rest._sorted_with_order)

    def counted_scores(block):
        rows_scored[0] += block.shape[0]
        return class_scores(block)

    def counted_sort(*args):
        sorts[0] += 1
        return sorted_with_order(*args)

    monkeypatch.setattr(one_vs_rest, "class_scores", counted_scores)
    monkeypatch.setattr(one_vs_rest, "_sorted_with_order", counted_sort)
    methods = ["platt", "isotonic", "histogram"]
    compare_calibrators(logits, y, cv=folds, calibrators=methods)
    n = logits.shape[0]
    # all the rows once; the best method's refit on all the data once more at most
    assert rows_scored[0] <= 2 * n and sorts[0] == 1
    twice = [(np.r_[train, train[:10]], test) for train, test in folds]
    repeated = compare_calibrators(logits, y, cv=twice, calibrators=["isotonic"])
    alone = np.empty_like(logits)
    for train, test in twice:
        alone[test] = clone(default_calibrators()["IsotonicCalibration"]).fit(
            logits[train], y[train]).predict_proba(logits[test])
    np.testing.assert_array_equal(np.asarray(repeated.predictions_["IsotonicCalibration"]),
                                  alone)


class _BlasThreadsSeen(_WrappedPlatt):
    """A candidate that records how many threads BLAS had when it was fitted."""

    seen = []

    def fit(self, X, y, sample_weight=None):
        from threadpoolctl import threadpool_info

        self.seen.append({info["num_threads"] for info in threadpool_info()
                          if info["user_api"] == "blas"})
        return super().fit(X, y, sample_weight=sample_weight)


def test_the_fits_on_scores_run_blas_on_one_thread():
    """On scores, every fit's products are per row block, too small for BLAS
    threads to pay; between them the idle threads spun against the main one (a
    comparison with n_jobs=1 took 1.4 cores of CPU, and 10-15 % longer when
    another process held the second core). The folds and the final refit run
    BLAS on one thread, as joblib's workers do; the limit ends with the call."""
    from threadpoolctl import threadpool_info

    def blas_threads():
        return [info["num_threads"] for info in threadpool_info()
                if info["user_api"] == "blas"]

    before = blas_threads()
    logits, y, folds = _three_folds(seed=8, n=900, k=3)
    _BlasThreadsSeen.seen = []
    comparison = compare_calibrators(logits, y, cv=folds,
                                     calibrators={"seen": _BlasThreadsSeen()})
    assert comparison.best_calibrator_.predict_proba(logits).shape == logits.shape
    assert _BlasThreadsSeen.seen == [{1}] * (len(folds) + 1)  # the folds, then the refit
    assert blas_threads() == before
