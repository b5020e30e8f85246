"""Temperature scaling: softmax(z / T) with one temperature for all classes."""

from numbers import Integral, Real

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval

from ._base import BaseCalibrator
from ._docstrings import _COMMON_ATTRIBUTES_DOC, _COMMON_PARAMETERS_DOC
from ..solvers._temperature_fit import fit_inverse_temperature
from ..utils._warnings import warn


class TemperatureScaling(BaseCalibrator):
    __doc__ = f"""Temperature scaling: calibrated probabilities ``softmax(z / T)``.

    One positive temperature ``T`` divides every logit ``z``; it never changes
    the predicted class, only the confidence. ``T > 1`` softens an
    overconfident model, ``T < 1`` sharpens an underconfident one. For a binary
    problem with one score ``s`` per sample the map is ``sigmoid(s / T)``, with
    the same ``T`` (scikit-learn's ``method="temperature"`` reports twice this
    value for such scores, as it treats ``s`` as the pair ``(-s, s)``).

    ``T`` minimises the negative log-likelihood exactly. The NLL is convex in
    the inverse temperature ``beta = 1 / T``, with first and second derivatives
    ``E_p[z] - z_y`` and ``Var_p[z]``, so a safeguarded Newton iteration
    converges in a few passes over the data, read in row blocks (float32 input
    is exponentiated in float32, sums are accumulated in float64). When the
    scores carry no information (the optimum lies at ``beta <= 0``) a warning
    is raised and the map is the uniform-prediction limit ``T = inf``.

    Parameters
    ----------
{_COMMON_PARAMETERS_DOC}
    tol : float, default=1e-7
        Stop when ``|d NLL / d log(beta)|`` falls below ``tol`` (a final Newton
        step follows, so the NLL is then within rounding of its minimum).

    max_iter : int, default=100
        Maximum number of Newton passes over the data.

    Attributes
    ----------
    temperature_ : float
        The fitted temperature ``T`` (``inf`` when the scores carry no
        information). With ``ensemble=True``, one value per fold.

    n_iter_ : int
        Passes over the data. For more than two classes each pass is one
        Newton step (a fit on a strided subsample of the rows, at most 8192
        and at most a quarter of them, gives the starting point for more than
        32768 rows, or 2^22 values in 1024 rows or more); two classes take one
        pass to read ``z_1 - z_0``, then solve on that vector in memory.

{_COMMON_ATTRIBUTES_DOC}
    See Also
    --------
    VectorScaling : One scale and one offset per class.
    PlattScaling : A sigmoid per class, one-vs-rest.

    References
    ----------
    C. Guo, G. Pleiss, Y. Sun and K. Q. Weinberger, "On Calibration of Modern
    Neural Networks", ICML 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from skcal import TemperatureScaling
    >>> rng = np.random.default_rng(0)
    >>> logits = rng.normal(scale=3.0, size=(20000, 4))
    >>> # labels drawn from softmax(logits / 2): a model twice too confident
    >>> p = np.exp(logits / 2) / np.exp(logits / 2).sum(axis=1, keepdims=True)
    >>> y = (p.cumsum(axis=1) > rng.random((20000, 1))).argmax(axis=1)
    >>> ts = TemperatureScaling().fit(logits, y)
    >>> round(float(ts.temperature_), 1)
    2.0
    >>> ts.predict_proba(logits[:2]).round(3)
    array([[0.209, 0.143, 0.446, 0.203],
           [0.035, 0.131, 0.524, 0.31 ]])
    """

    _map_attributes = ("temperature_",)
    _streams = True
    _array_api = True

    _parameter_constraints = {
        **BaseCalibrator._parameter_constraints,
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        estimator=None,
        *,
        cv=None,
        ensemble=False,
        n_jobs=None,
        response_method="auto",
        score_type="auto",
        ignore_index=None,
        tol=1e-7,
        max_iter=100,
    ):
        super().__init__(
            estimator,
            cv=cv,
            ensemble=ensemble,
            n_jobs=n_jobs,
            response_method=response_method,
            score_type=score_type,
            ignore_index=ignore_index,
        )
        self.tol = tol
        self.max_iter = max_iter

    def _fit_map(self, logits, y, sample_weight, cache):
        beta, n_iter, converged = fit_inverse_temperature(
            logits, y, sample_weight, tol=self.tol, max_iter=self.max_iter, cache=cache
        )
        if beta == 0.0:
            warn(
                "The scores carry no information about the labels (the NLL is "
                "lowest at a non-positive inverse temperature): temperature_ is "
                "inf and every prediction is uniform. Check that the score "
                "columns are in the order of the classes.",
                UserWarning,
            )
        elif not converged:
            warn(
                "Temperature scaling has no finite optimum or did not converge in "
                f"{self.max_iter} Newton passes: when every calibration sample's true "
                "class has the largest score, the NLL keeps falling as the "
                "temperature goes to 0, and temperature_ is where its gradient fell "
                "below tol. Calibrate on data the classifier was not fitted on.",
                ConvergenceWarning,
            )
        temperature = np.inf if beta == 0.0 else 1.0 / beta
        return {"temperature_": temperature, "n_iter_": n_iter}

    def _apply_map(self, logits, cache, *, temperature_):
        if np.isinf(temperature_):
            return logits * 0
        if not isinstance(logits, np.ndarray):  # an array on a device
            return logits / float(temperature_)
        return logits / logits.dtype.type(temperature_)
