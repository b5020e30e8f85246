"""scikit-learn's own estimator checks on every public calibrator, wrapping a classifier."""

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

import skcal
from skcal import TemperatureScaling

# every public calibrator, wrapping a classifier, plus the ensemble mode
CALIBRATORS = [
    getattr(skcal, name)(LogisticRegression(max_iter=1000), cv=3)
    for name in skcal.__all__
    if isinstance(getattr(skcal, name), type)
    and issubclass(getattr(skcal, name), skcal._base.BaseCalibrator)
] + [TemperatureScaling(LogisticRegression(max_iter=1000), cv=3, ensemble=True)]


def test_every_calibrator_is_checked():
    assert len(CALIBRATORS) == 8


# The checks fit on tiny random or perfectly separable data sets, on which a
# calibrator rightly warns that the scores carry no information, or that they
# separate the classes so that the NLL has no finite optimum. Those warnings are
# tested in the calibrators' own tests; here they are expected, not failures.
@pytest.mark.filterwarnings("ignore:The scores carry no information:UserWarning")
@pytest.mark.filterwarnings("ignore:Temperature scaling has no finite optimum")
@pytest.mark.filterwarnings("ignore:The calibration scores separate class:UserWarning")
@parametrize_with_checks(CALIBRATORS)
def test_sklearn_compatible_calibrator(estimator, check):
    check(estimator)
