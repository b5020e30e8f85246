"""compare_models(calibrate=...): models ranked at their best calibration, each row's
log-likelihood held out from the calibrator that scores it; against fits on the
training rows alone, and the validity of its intervals in seeded simulations."""

import numpy as np
import pytest
from scipy.special import log_softmax
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import ShuffleSplit

from skcal import (
    BetaCalibration,
    MatrixScaling,
    PlattScaling,
    TemperatureScaling,
    VectorScaling,
    compare_models,
)
from skcal.calibrators._registry import CALIBRATORS
from skcal.comparison._calibrated_models import label_log_proba, cross_fitted_log_likelihood
from skcal.comparison._outer_folds import outer_splits
from skcal.solvers import _temperature_fit as temperature_fit


def sharp_and_noisy(rng, n=3000, k=5):
    """Model ``noisy`` ranks the classes worse; model ``sharp`` ranks them
    better but is three times too confident."""
    truth = 2 * rng.normal(size=(n, k))
    y = (truth + rng.gumbel(size=truth.shape)).argmax(axis=1)
    noisy = truth + 0.7 * rng.normal(size=truth.shape)
    sharp = 3 * (truth + 0.6 * rng.normal(size=truth.shape))
    return {"noisy": noisy, "sharp": sharp}, y


def test_the_sharper_model_wins_once_its_confidence_is_scaled():
    models, y = sharp_and_noisy(np.random.default_rng(0))
    raw = compare_models(models, y)
    calibrated = compare_models(models, y, calibrate="temperature")
    assert raw.best_ == "noisy" and raw.results_["sharp"]["pvalue"] < 1e-4
    assert calibrated.best_ == "sharp" and calibrated.results_["noisy"]["pvalue"] < 0.01
    frame = calibrated.to_frame()
    assert list(frame.columns)[-2:] == ["nll_uncalibrated", "n_zero_probability_uncalibrated"]
    for name in models:  # the raw NLL is the uncalibrated comparison's, on the same rows
        assert frame.loc[name, "nll_uncalibrated"] == pytest.approx(
            raw.results_[name]["nll"], rel=1e-12)
    assert calibrated.calibration_ == "TemperatureScaling"
    assert [len(fits) for fits in calibrated.calibrators_.values()] == [5, 5]
    assert "after TemperatureScaling fitted on the other rows (5 folds" in str(calibrated)
    sharp = np.median([fit.temperature_ for fit in calibrated.calibrators_["sharp"]])
    assert f"sharp {sharp:.3g}" in str(calibrated).splitlines()[-1] and 2.5 < sharp < 4
    assert raw.calibration_ is None and "nll_uncalibrated" not in raw.to_frame()


def test_checkpoints_one_temperature_apart_are_the_same_model_after_calibration():
    """Logits and twice the logits: each fold's temperature doubles, and every
    held-out row's log-likelihood is the same (to the fits' tolerance, 1e-7
    relative on the temperature), while the raw NLLs differ by far more."""
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(2000, 4))
    y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    result = compare_models({"step-1": logits, "step-2": 2 * logits}, y,
                            calibrate=TemperatureScaling(), cv=4, random_state=3)
    diff = max(r["nll_diff"] for r in result.results_.values())
    raw = [r["nll_uncalibrated"] for r in result.results_.values()]
    assert abs(diff) < 1e-7 < 0.1 < abs(raw[0] - raw[1])
    for once, twice in zip(*result.calibrators_.values()):
        assert twice.temperature_ == pytest.approx(2 * once.temperature_, rel=1e-7)


def test_each_row_is_scored_by_a_fit_on_the_other_folds_alone():
    """Fitting with a fold's rows at weight 0 is fitting without them: each held-out
    log-likelihood equals that of a calibrator fitted on the other rows only (to
    the fits' tolerance)."""
    rng = np.random.default_rng(2)
    logits = 2.5 * rng.normal(size=(900, 3))
    y = (logits / 2.5 + rng.gumbel(size=logits.shape)).argmax(axis=1)
    fold = rng.permutation(900) % 3
    for calibrator in (TemperatureScaling(), VectorScaling(), MatrixScaling(),
                       PlattScaling(), BetaCalibration()):
        log_p, fitted = cross_fitted_log_likelihood(logits, y, None, fold, calibrator,
                                                    "logits")
        for index in range(3):
            train, test = fold != index, fold == index
            alone = type(calibrator)().fit(logits[train], y[train])
            expected = np.log(alone.predict_proba(logits[test])[np.arange(test.sum()),
                                                               y[test]])
            if type(calibrator) in (PlattScaling, BetaCalibration):
                # started at the first fold's fit, they stop at their Newton
                # decrement's tolerance (1e-12 nats) from the other side: about
                # sqrt(1e-12) in the parameters (measured: 5e-6 in log p)
                np.testing.assert_allclose(log_p[test], expected, rtol=0, atol=2e-5,
                                           err_msg=type(calibrator).__name__)
            else:  # from the same temperature, fitted in the shared passes
                np.testing.assert_allclose(log_p[test], expected, rtol=1e-6, atol=1e-9,
                                           err_msg=type(calibrator).__name__)
        assert all(fit.n_features_in_ == 3 for fit in fitted)


def test_the_folds_share_their_temperatures_and_start_where_the_first_ended(monkeypatch):
    """Vector and matrix scaling take each fold's temperature from the passes that
    fit every fold's at once (no fold fits its own); Platt scaling and beta
    calibration start the later folds at the first fold's fit, which takes fewer
    Newton iterations than a fit alone from its usual start."""
    rng = np.random.default_rng(5)
    logits = 3 * rng.normal(size=(3000, 4))
    y = (logits / 3 + rng.gumbel(size=logits.shape)).argmax(axis=1)
    fold = np.arange(3000) % 5
    own_fits = []
    fit_alone = temperature_fit._fit_inverse_temperature
    monkeypatch.setattr(temperature_fit, "_fit_inverse_temperature",
                        lambda *args: own_fits.append(1) or fit_alone(*args))
    for calibrator in (VectorScaling(), MatrixScaling()):
        cross_fitted_log_likelihood(logits, y, None, fold, calibrator, "logits")
    assert own_fits == []
    for calibrator in (PlattScaling(), BetaCalibration()):
        _, fitted = cross_fitted_log_likelihood(logits, y, None, fold, calibrator, "logits")
        for index in range(1, 5):
            alone = type(calibrator)().fit(logits[fold != index], y[fold != index])
            assert fitted[index].n_iter_.sum() < alone.n_iter_.sum()


def test_calibrated_intervals_cover_equally_good_models_at_their_level():
    """Models equally good after calibration (the same noise, one three times too
    confident): the 95 % interval of their calibrated difference covers 0 in
    91-99 % of 200 simulations of 400 rows (binomial sd 1.5 %); their raw
    interval, never. Measured: 94 %."""
    covered = covered_raw = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        truth = 1.5 * rng.normal(size=(400, 4))
        y = (truth + rng.gumbel(size=truth.shape)).argmax(axis=1)
        models = {"a": truth + 0.8 * rng.normal(size=truth.shape),
                  "b": 3 * (truth + 0.8 * rng.normal(size=truth.shape))}
        for calibrate in ("temperature", None):
            result = compare_models(models, y, calibrate=calibrate)
            other = result.results_[result.ranking_[1]]
            inside = other["pvalue"] > 0.05
            covered, covered_raw = ((covered + inside, covered_raw) if calibrate
                                    else (covered, covered_raw + inside))
    assert 0.91 <= covered / 200 <= 0.99
    assert covered_raw == 0


def test_token_logits_in_files_keep_sequences_whole_and_leave_padding_out(tmp_path,
                                                                         monkeypatch):
    import skcal.comparison._calibrated_models as calibrated

    dealt = []
    monkeypatch.setattr(calibrated, "outer_splits", lambda *args: dealt.append(
        outer_splits(*args)) or dealt[-1])
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(12, 30, 6)).astype(np.float32)
    y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=2)
    y[:, 25:] = -100
    np.save(tmp_path / "a.npy", logits)
    np.save(tmp_path / "b.npy", 2 * logits + rng.normal(size=logits.shape).astype(np.float32))
    mapped = {name: np.load(tmp_path / f"{name}.npy", mmap_mode="r") for name in "ab"}
    in_memory = {name: np.array(scores) for name, scores in mapped.items()}
    from_files = compare_models(mapped, y, ignore_index=-100, calibrate="temperature", cv=3)
    from_arrays = compare_models(in_memory, y, ignore_index=-100, calibrate="temperature",
                                 cv=3)
    assert from_files.se_method_ == "sequences" and from_files.n_rows_ == 12 * 25
    for name in "ab":
        assert from_files.results_[name]["nll"] == pytest.approx(
            from_arrays.results_[name]["nll"], rel=1e-12)
    sequence = np.repeat(np.arange(12), 30)  # the rows of the folds: padding included
    assert len(dealt) == 2
    for splits in dealt:  # every sequence's tokens in one fold's test part
        assert sum(len(set(sequence[test])) for _, test in splits) == 12


def test_a_table_whose_columns_name_the_classes_is_read_by_its_names():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(4)
    logits = rng.normal(size=(600, 3))
    names = np.array(["bird", "cat", "dog"])
    y = names[(logits + rng.gumbel(size=logits.shape)).argmax(axis=1)]
    frame = pd.DataFrame(logits, columns=names)[["dog", "bird", "cat"]]
    models = {"frame": frame, "array": 1.5 * logits}
    result = compare_models(models, y, calibrate="temperature")
    same = compare_models({"frame": logits, "array": 1.5 * logits}, y,
                          calibrate="temperature")
    assert result.results_["frame"]["nll"] == pytest.approx(same.results_["frame"]["nll"],
                                                            rel=1e-9)
    assert abs(result.results_[result.ranking_[1]]["nll_diff"]) < 1e-7


def test_probabilities_are_calibrated_as_probabilities():
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(800, 4))
    y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    proba = np.exp(log_softmax(3 * logits, axis=1))
    result = compare_models({"proba": proba, "logits": logits}, y, calibrate="temperature")
    assert abs(result.results_[result.ranking_[1]]["nll_diff"]) < 1e-6
    assert all(fit.score_type_ == "probabilities" for fit in result.calibrators_["proba"])


def test_dask_scores_are_calibrated_where_they_are():
    da = pytest.importorskip("dask.array")
    rng = np.random.default_rng(6)
    logits = rng.normal(size=(1000, 4))
    y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    models = {"a": logits, "b": 2 * logits + rng.normal(size=logits.shape)}
    lazy = {name: da.from_array(scores, chunks=(250, 4)) for name, scores in models.items()}
    expected = compare_models(models, y, calibrate="temperature")
    result = compare_models(lazy, y, calibrate="temperature")
    for name in models:
        assert result.results_[name]["nll"] == pytest.approx(expected.results_[name]["nll"],
                                                             rel=1e-9)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"cv": 3}, ValueError, "cv sets the folds of calibrate"),
    ({"calibrate": "warm"}, ValueError, "Unknown calibration method 'warm'"),
    ({"calibrate": LogisticRegression()}, TypeError, "calibrate must be a method's name"),
    ({"calibrate": TemperatureScaling(LogisticRegression())}, ValueError,
     "wraps a classifier"),
    ({"calibrate": "temperature", "cv": 30, "groups": np.repeat(np.arange(20), 10)},
     ValueError, "cv=30 folds need at least 30 groups"),
    ({"calibrate": "temperature", "cv": ShuffleSplit(2, test_size=0.2, random_state=0)},
     ValueError, "rows out of every test part"),
])
def test_wrong_calibration_arguments_are_named(kwargs, error, message):
    rng = np.random.default_rng(7)
    logits = rng.normal(size=(200, 3))
    y = rng.integers(3, size=200)
    with pytest.raises(error, match=message):
        compare_models({"a": logits, "b": logits / 2}, y, **kwargs)


def test_a_fold_that_cannot_be_fitted_names_the_model_and_the_fold():
    logits = np.random.default_rng(8).normal(size=(40, 2))
    y = np.r_[np.zeros(20, int), np.ones(20, int)]
    with pytest.raises(ValueError, match=r"model 'a': fitting TemperatureScaling on the rows "
                                         r"outside fold 0"):
        compare_models({"a": logits, "b": logits}, y, calibrate="temperature",
                       cv=[(np.arange(20), np.arange(20)), (np.arange(20), np.arange(20, 40))])


def test_tokens_of_rare_classes_are_dealt_without_a_warning():
    """Folds stratified by the common tokens, the rare ones (a vocabulary's tail)
    dealt where they fall: scikit-learn's warning on the least populated class,
    which every token comparison raised, is not the user's to act on."""
    rng = np.random.default_rng(9)
    logits = rng.normal(size=(8, 40, 50))
    y = np.minimum(rng.zipf(1.5, size=(8, 40)) - 1, 49)  # token 0 common, most rare
    assert np.bincount(y.ravel()).max() >= 5 and (np.bincount(y.ravel()) == 1).any()
    np.put_along_axis(logits, y[..., None], 2.0, axis=-1)  # the scores know the token
    result = compare_models({"a": logits, "b": 2 * logits}, y, calibrate="temperature")
    assert abs(result.results_[result.ranking_[1]]["nll_diff"]) < 1e-7


@pytest.mark.parametrize("entry", CALIBRATORS, ids=lambda entry: entry.name)
@pytest.mark.parametrize("kind", ["logits", "probabilities", "binary"])
def test_each_calibrator_scores_the_label_as_its_predict_log_proba(entry, kind):
    """The held-out pass reads each row's label log-probability from the map
    without the matrix of all classes: the same number as predict_log_proba
    (to its float64 rounding, 1e-12 relative)."""
    rng = np.random.default_rng(10)
    logits = 2 * rng.normal(size=(500, 2 if kind == "binary" else 4))
    y = (logits / 2 + rng.gumbel(size=logits.shape)).argmax(axis=1)
    scores = {"logits": logits, "probabilities": np.exp(log_softmax(logits, axis=1)),
              "binary": logits[:, 1] - logits[:, 0]}[kind]
    score_type = "probabilities" if kind == "probabilities" else "logits"
    fitted = entry.cls(score_type=score_type).fit(scores[:300], y[:300])
    expected = fitted.predict_log_proba(scores[300:])[np.arange(200), y[300:]]
    assert np.allclose(label_log_proba(fitted, scores[300:], y[300:]), expected,
                       rtol=1e-12, atol=1e-12)


def test_a_raw_zero_probability_is_reported_beside_the_calibrated_ranking():
    """A model that gave an observed label a probability of exactly 0 has an
    infinite raw NLL: the calibrated comparison keeps that count
    (``n_zero_probability_uncalibrated``) and says it below the table, where
    the raw NLL column shows only the clipped number."""
    rng = np.random.default_rng(12)
    logits = rng.normal(scale=2.0, size=(600, 3))
    y = (logits / 2 + rng.gumbel(size=logits.shape)).argmax(axis=1)
    proba = np.exp(log_softmax(logits, axis=1))
    zeroed = proba.copy()
    zeroed[0, y[0]] = 0.0
    zeroed[0] /= zeroed[0].sum()
    result = compare_models({"zeroed": zeroed, "plain": proba}, y, calibrate="temperature")
    assert result.results_["zeroed"]["n_zero_probability_uncalibrated"] == 1
    assert result.results_["plain"]["n_zero_probability_uncalibrated"] == 0
    text = str(result)
    assert ("Before calibration, zeroed gave 1 observed label(s) a probability of 0 "
            "(its raw NLL is infinite, clipped in the table).") in text
    frame = result.to_frame()
    assert list(frame.columns[-2:]) == ["nll_uncalibrated", "n_zero_probability_uncalibrated"]
    raw = compare_models({"zeroed": zeroed, "plain": proba}, y)
    assert raw.results_["zeroed"]["n_zero_probability"] == 1
    assert "n_zero_probability_uncalibrated" not in raw.results_["zeroed"]
