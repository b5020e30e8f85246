"""scikit-learn's own estimator checks on every registered calibrator.

Each calibrator is checked in its default configuration wrapping a default
``LogisticRegression`` (5 stratified folds), plus the ensemble mode. The list
comes from the registry, so a new calibrator is checked without touching this
file.
"""

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

import skcal
from skcal import TemperatureScaling
from skcal.calibrators._registry import CALIBRATORS

CHECKED = [entry.cls(LogisticRegression()) for entry in CALIBRATORS] + [
    TemperatureScaling(LogisticRegression(), ensemble=True)
]


def test_every_public_calibrator_is_registered_and_checked():
    public = {
        name
        for name in skcal.__all__
        if isinstance(getattr(skcal, name), type)
        and issubclass(getattr(skcal, name), skcal.calibrators._base.BaseCalibrator)
    }
    assert public == {entry.cls.__name__ for entry in CALIBRATORS}
    assert {type(estimator).__name__ for estimator in CHECKED} == public


def _as_list(mark):
    """``mark`` with its parameter sets as a list: scikit-learn 1.7 gives a
    generator, which pytest 9 deprecates (an error under warnings as errors)."""
    names, values = mark.args
    return pytest.mark.parametrize(names, list(values), **mark.kwargs)


# The checks fit on tiny random or perfectly separable data sets, on which a
# calibrator rightly warns that the scores carry no information, or that they
# separate the classes so that the NLL has no finite optimum; and on classes of
# fewer samples than the 5 default folds, for which scikit-learn's stratified
# splitter warns. Those warnings are tested in the calibrators' own tests; here
# they are expected, not failures. So is the default LogisticRegression's
# ConvergenceWarning on the unscaled iris data of check_non_transformer_
# estimators_n_iter: it comes from the wrapped classifier, not the calibrator.
@pytest.mark.filterwarnings("ignore:The scores carry no information:UserWarning")
@pytest.mark.filterwarnings("ignore:Temperature scaling has no finite optimum")
@pytest.mark.filterwarnings("ignore:The calibration scores separate class:UserWarning")
@pytest.mark.filterwarnings("ignore:The least populated class in y has only:UserWarning")
@pytest.mark.filterwarnings("ignore:lbfgs failed to converge")
@_as_list(parametrize_with_checks(CHECKED))
def test_sklearn_compatible_calibrator(estimator, check):
    check(estimator)

