"""Numerical solver of temperature scaling: a safeguarded Newton iteration on the
inverse temperature (vector and matrix scaling have theirs in
:mod:`skcal.solvers._vector_fit` and :mod:`skcal.solvers._matrix_fit`).

Each evaluates a weighted mean negative log-likelihood and its derivatives as a
sum over row blocks through :class:`~skcal.rows._blocks.Rows`, so the same solver
runs on an array in memory, a memory-mapped or Zarr file, or a Dask cluster,
with temporaries of one block. Temperature scaling exponentiates float32 input
in float32 (its Newton steps know the rounding level of its sums); vector and
matrix scaling compute in float64, as L-BFGS's line search needs the loss to
about 1e-13. Sums across rows are accumulated in float64.
"""

import math

import numpy as np

from ..rows import _device_kernels as device
from ..rows._blocks import BLOCK_ELEMENTS, Rows, row_blocks, total_weight, weighted_sum
from ..rows._row_reductions import FEW_COLUMNS, row_dots, row_max, row_sums_of_one_sign
from ..utils._reuse import GivenFits, Key, held, plain_array, reused
from ._block_softmax import as_rows
from ._temperature_newton import safeguarded_newton

# Temperature fits on more rows than four times this start from a fit on a
# strided subsample of about this many rows (fewer for very wide inputs, so the
# subsample stays under _WARM_START_ELEMENTS values); fits on fewer rows but at
# least _WARM_START_MIN_ELEMENTS values, from one on a quarter of the rows. The
# subsample's 3 to 4 Newton passes then cost at most about one pass over the
# data, and its temperature is close enough to save one or two.
_WARM_START_ROWS = 8192
_WARM_START_ELEMENTS = 2**24
_WARM_START_MIN_ELEMENTS = 2**22


# --------------------------------------------------------------------------- #
# Temperature scaling: NLL(beta) = mean(logsumexp(beta * z) - beta * z_y)
# --------------------------------------------------------------------------- #
def _temperature_block(z, y, w, beta, with_facts):
    """One block's weighted sums for the temperature problem at ``beta``.

    Returns (nll, gradient, hessian, spread[, gradient at 0, rows off top]):
    ``spread`` sums ``E_p[max z - z]``, the scale of the rounding error of the
    float sums behind the gradient.
    """
    return _temperature_blocks(z, y, w, [beta], with_facts)[0]


def _temperature_blocks(z, y, w, betas, with_facts):
    """:func:`_temperature_block` at each of ``betas`` (the facts with the first),
    the row maxima, the shifted logits and the true classes' found once."""
    if not isinstance(z, np.ndarray):
        return tuple(device.temperature_block(z, y, w, beta, with_facts and i == 0)
                     for i, beta in enumerate(betas))
    shifted, true_shifted, terms = row_terms(z, y, betas)
    all_sums = [tuple(weighted_sum(values, w) for values in by_row) for by_row in terms]
    if with_facts:
        all_sums[0] += _first_facts(z, w, shifted, true_shifted)
    return tuple(all_sums)


def row_terms(z, y, betas):
    """(the logits less their row maxima, the true classes' among them, and for
    each of ``betas`` the rows' NLL, gradient, Hessian and spread: generated
    one ``beta`` at a time, as they are used). Sums of the rows' terms are
    :func:`_temperature_block`'s."""
    idx = np.arange(z.shape[0])
    top = row_max(z)
    true_shifted = z[idx, y].astype(np.float64) - top
    shifted = z - top[:, None]
    return shifted, true_shifted, _terms_at(z, shifted, true_shifted, betas)


def _terms_at(z, shifted, true_shifted, betas):
    # few classes: sums of one sign in any order (see row_reductions); many:
    # pairwise sums, and the Hessian's row dot product (it needs no pairwise sum)
    few = z.shape[1] <= FEW_COLUMNS
    squared = shifted * shifted if few else None
    e = np.empty_like(shifted)
    for beta in betas:
        np.multiply(shifted, z.dtype.type(beta), out=e)
        np.exp(e, out=e)
        s0 = row_sums_of_one_sign(e)
        if few:
            s1, s2 = row_dots(e, shifted), row_dots(e, squared)
        else:
            np.multiply(e, shifted, out=e)
            s1, s2 = e.sum(axis=1), row_dots(e, shifted)
        s0, s1, s2 = (s.astype(np.float64, copy=False) for s in (s0, s1, s2))
        mean = s1 / s0  # E_p[z] - max
        yield (np.log(s0) - beta * true_shifted, mean - true_shifted,
               np.maximum(s2 / s0 - mean * mean, 0.0), -mean)


def _first_facts(z, w, shifted, true_shifted):
    """(gradient at 0, weighted rows whose true class is not alone on top)."""
    row_mean = row_sums_of_one_sign(shifted).astype(np.float64) / z.shape[1]
    weighted = np.ones(z.shape[0], dtype=bool) if w is None else w > 0
    off_top = (true_shifted < 0) & weighted
    if not off_top.any():  # every true class is a row maximum: is it the only one?
        off_top = (np.count_nonzero(shifted == 0, axis=1) > 1) & weighted
    return weighted_sum(row_mean - true_shifted, w), int(np.count_nonzero(off_top))


class _TemperatureProblem:
    """Weighted NLL of ``softmax(beta * Z)`` and its first two derivatives in beta.

    Each evaluation is one pass over ``Z`` with ``exp(beta * (z - max))``, which
    never overflows for ``beta > 0``. The first pass also records the gradient
    at ``beta = 0`` (uniform predictions) and whether every weighted row's true
    class has the strictly largest logit (the NLL then keeps falling as the
    temperature goes to 0).
    """

    def __init__(self, rows, y, sample_weight, block=None):
        self.rows = rows
        self.y = y
        self.w = sample_weight
        self.block = _temperature_block if block is None else block
        self.total_weight = total_weight(rows.n_rows, sample_weight)
        # relative rounding error of a float sum over the classes (pairwise summation)
        eps = float(np.finfo(rows.dtype).eps)
        self.rounding = 4.0 * eps * math.log2(rows.n_columns + 1.0)
        self.n_passes = 0
        self.gradient_at_zero = None
        self.separated = None

    def evaluate(self, beta):
        """Return (nll, gradient, hessian, rounding level of the gradient) at ``beta``."""
        return self.evaluate_many([beta])[0]

    def evaluate_many(self, betas):
        """:meth:`evaluate` at each of ``betas``, in one pass over the rows."""
        first, block = self.gradient_at_zero is None, self.block
        if block is _temperature_block:  # one block's shared work done once
            def sums_at_betas(z, y, w):
                return _temperature_blocks(z, y, w, betas, first)
        else:
            def sums_at_betas(z, y, w):
                return tuple(block(z, y, w, beta, first and i == 0)
                             for i, beta in enumerate(betas))
        all_sums = self.rows.reduce(sums_at_betas, self.y, self.w)
        self.n_passes += 1
        if first:
            self.gradient_at_zero = all_sums[0][4] / self.total_weight
            self.separated = all_sums[0][5] == 0
        evaluations = []
        for sums in all_sums:
            nll, grad, hess, spread = (value / self.total_weight for value in sums[:4])
            evaluations.append((nll, grad, hess, self.rounding * spread))
        return evaluations


def _binary_difference(z):
    return z[:, 1] - z[:, 0]


class _BinaryTemperatureProblem:
    """The same NLL for two classes, where it depends only on ``d = z_1 - z_0``:
    ``mean(softplus(beta * d) - y * beta * d)``, solved on that one vector (one
    pass over the scores extracts it)."""

    def __init__(self, d, y, sample_weight):
        self.d = d
        self.y = y.astype(d.dtype)
        self.w = sample_weight
        self.total_weight = total_weight(d.shape[0], sample_weight)
        half = d.dtype.type(0.5)
        self.gradient_at_zero = self._sum((half - self.y) * d) / self.total_weight
        keep = slice(None) if self.w is None else self.w > 0
        signed = np.where(self.y[keep] > 0, d[keep], -d[keep])
        self.separated = bool(np.all(signed > 0))
        self.rounding = 4.0 * float(np.finfo(d.dtype).eps)
        self.n_passes = 1

    def _sum(self, values, rows=slice(None)):
        return weighted_sum(values, None if self.w is None else self.w[rows])

    def evaluate(self, beta):
        """Return (nll, gradient, hessian, rounding level of the gradient) at ``beta``."""
        sums = np.zeros(4)
        for rows in row_blocks(self.d.shape[0], 1, block_elements=BLOCK_ELEMENTS // 4):
            sums += _binary_sums(self.d[rows], self.y[rows],
                                 None if self.w is None else self.w[rows], beta)
        nll, grad, hess, spread = sums / self.total_weight
        return nll, grad, hess, self.rounding * spread


def _binary_sums(d, y, w, beta):
    """Weighted sums (nll, gradient, hessian, spread) of the two-class problem on
    ``d = z_1 - z_0`` at ``beta`` (``y`` as floats of ``d``'s dtype)."""
    u = d * d.dtype.type(beta)
    e = np.exp(-np.abs(u))
    p = np.where(u >= 0, 1, e) / (1 + e)  # sigmoid(u)
    return np.array([weighted_sum(np.log1p(e) + np.maximum(u, 0) - y * u, w),
                     weighted_sum((p - y) * d, w), weighted_sum(p * (1 - p) * d * d, w),
                     weighted_sum(np.abs(d), w)])


def _binary_temperature_block(z, y, w, beta, with_facts):
    """:func:`_temperature_block` of two-class logits, from ``d = z_1 - z_0``
    alone (for rows held elsewhere, whose ``d`` cannot be kept between passes)."""
    d = z[:, 1] - z[:, 0]
    y = y.astype(d.dtype)
    sums = tuple(_binary_sums(d, y, w, beta))
    if not with_facts:
        return sums
    signed = np.where(y > 0, d, -d)
    off_top = (signed <= 0) if w is None else (signed <= 0) & (w > 0)
    return sums + (weighted_sum((d.dtype.type(0.5) - y) * d, w),
                   int(np.count_nonzero(off_top)))


def _solve_temperature(problem, beta, *, tol, max_iter):
    """(beta, converged) of a temperature problem started at ``beta``; beta is 0.0
    when the scores carry no information."""
    first = problem.evaluate(beta)
    if not problem.gradient_at_zero < 0:
        return 0.0, True
    beta, _, converged = safeguarded_newton(problem, beta, first, tol=tol, max_iter=max_iter)
    return beta, converged and not problem.separated


# A pass over rows held elsewhere (a Spark job) costs far more than its arithmetic:
# the first evaluates the NLL at the sample's inverse temperature times these
_REMOTE_FACTORS = 1.05 ** np.arange(-2, 3)


def _solve_remote_temperature(problem, beta, *, tol, max_iter):
    """:func:`_solve_temperature` for rows held elsewhere, in fewer passes.

    The first pass evaluates five points within 10 % of ``beta`` (the fit on the
    table's sample). Where they bracket the optimum, the polynomial matching
    the gradient and its slope at all five (Hermite interpolation) has its root
    where the gradient's is. The root is taken without another pass when even
    the polynomial of the four points nearest it meets the tolerance there (the
    five-point one is then much closer still); else Newton starts from
    it, or, with no bracket, from the point of smallest gradient.
    """
    betas = beta * _REMOTE_FACTORS
    evaluations = problem.evaluate_many(betas)
    if not problem.gradient_at_zero < 0:
        return 0.0, True
    settled, (start, first) = root_of_five(betas, evaluations, tol)
    if settled:
        return start, not problem.separated
    if first is None:
        first = problem.evaluate(start)
    start, _, converged = safeguarded_newton(problem, start, first, tol=tol,
                                             max_iter=max_iter)
    return start, converged and not problem.separated


def root_of_five(betas, evaluations, tol):
    """(settled, (beta, its evaluation or None)): the root, where the gradients
    change sign, of the polynomial matching the gradient and its slope at the
    five ``betas``, settled when the polynomial of the four points nearest it
    (the farthest end left out) meets ``tol`` there; unsettled, the point
    Newton starts from: that root (not evaluated yet), or with no bracket the
    point of smallest gradient."""
    grads = np.array([evaluation[1] for evaluation in evaluations])
    slopes = np.array([evaluation[2] for evaluation in evaluations])
    change = np.flatnonzero(np.sign(grads[:-1]) != np.sign(grads[1:]))
    if change.shape[0]:
        root = _hermite_root(betas, grads, slopes, change[0])
        near = slice(0, 4) if root - betas[0] < betas[-1] - root else slice(1, 5)
        coarse = _hermite_polynomial(betas[near], grads[near], slopes[near])
        rounding = max(evaluation[3] for evaluation in evaluations)
        return abs(root * float(coarse(root))) <= max(tol, root * rounding), (root, None)
    nearest = int(np.argmin(np.abs(grads)))
    return False, (float(betas[nearest]), evaluations[nearest])


def _hermite_polynomial(betas, grads, slopes):
    from scipy.interpolate import KroghInterpolator

    return KroghInterpolator(np.repeat(betas, 2), np.column_stack([grads, slopes]).ravel())


def _hermite_root(betas, grads, slopes, interval):
    """The root, between ``betas[interval]`` and the next, of the polynomial that
    matches ``grads`` and ``slopes`` at every one of ``betas``.

    The polynomial matches the gradients to rounding only: where one end's
    gradient is itself at the rounding level (a start at the optimum), the
    polynomial's value there can have the other sign, and the interval holds no
    sign change of it. The root is then that end."""
    from scipy.optimize import brentq

    gradient = _hermite_polynomial(betas, grads, slopes)
    low, high = betas[interval], betas[interval + 1]
    at_low, at_high = float(gradient(low)), float(gradient(high))
    if not np.sign(at_low) * np.sign(at_high) < 0:
        return float(low if abs(grads[interval]) <= abs(grads[interval + 1]) else high)
    return brentq(lambda b: float(gradient(b)), low, high, xtol=1e-14 * high)


def _warm_start(rows, y, sample_weight, max_iter):
    """A starting inverse temperature from a strided row subsample (1.0 for small inputs)."""
    if rows.is_remote:  # the table's survey kept a strided sample
        sample = rows.data.sample(rows)
        if sample is None or not sample[2].sum() > 0:
            return 1.0
        sub = _TemperatureProblem(Rows(sample[0]), sample[1], sample[2])
        beta, converged = _solve_temperature(sub, 1.0, tol=1e-3, max_iter=max_iter)
        return beta if converged and beta > 0 else 1.0
    n_sub = min(_WARM_START_ROWS, max(256, _WARM_START_ELEMENTS // rows.n_columns))
    if rows.n_rows <= 4 * n_sub:
        n_sub = rows.n_rows // 4
        if rows.n_rows * rows.n_columns < _WARM_START_MIN_ELEMENTS or n_sub < 256:
            return 1.0
    index = np.arange(0, rows.n_rows, rows.n_rows // n_sub)
    sub_w = None if sample_weight is None else sample_weight[index]
    if sub_w is not None and not sub_w.sum() > 0:
        return 1.0
    sub = _TemperatureProblem(Rows(rows.take(index)), y[index], sub_w)
    beta, converged = _solve_temperature(sub, 1.0, tol=1e-3, max_iter=max_iter)
    return beta if converged and beta > 0 else 1.0


# the options of the temperature fit that vector and matrix scaling start from
START_TOL, START_MAX_ITER = 1e-7, 100


def fit_inverse_temperature(Z, y, sample_weight=None, *, tol=START_TOL, max_iter=START_MAX_ITER,
                            cache=None):
    """Inverse temperature ``beta`` minimising the NLL of ``softmax(beta * Z)``.

    Parameters
    ----------
    Z : ndarray or Rows of shape (n_samples, n_classes)
        Logits.

    cache : FoldCache, default=None
        Where the candidates of a comparison share the fit (vector and matrix
        scaling start from it).

    Returns
    -------
    beta : float
        0.0 when the scores carry no information (the optimum lies at
        ``beta <= 0``).
    n_passes : int
        Passes over the full data (a fit on a strided subsample gives the
        starting point for large inputs; two classes take one pass to extract
        ``z_1 - z_0`` and then work on that vector).
    converged : bool
        False also when the scores separate the classes perfectly (no finite
        optimum): ``beta`` is then where the gradient fell below ``tol``.
    """
    if isinstance(cache, GivenFits):  # fitted with the other folds of a cross-fit
        found = cache.given(Key.INVERSE_TEMPERATURE, y, sample_weight)
        if found is not None:
            return found
    rows = as_rows(Z)
    data = plain_array(rows)
    if data is None:
        return _fit_inverse_temperature(rows, y, sample_weight, tol, max_iter)
    return reused(cache, Key.INVERSE_TEMPERATURE,
                  lambda: _fit_inverse_temperature(rows, y, sample_weight, tol, max_iter),
                  same=(data,), equal=(y, sample_weight), options=(tol, max_iter))


def held_inverse_temperature(Z, y, sample_weight=None, *, tol=1e-7, max_iter=100, cache=None):
    """The ``beta`` of :func:`fit_inverse_temperature` if ``cache`` holds its fit
    on these logits already, else None (nothing is fitted)."""
    data = plain_array(as_rows(Z))
    if data is None:
        return None
    found = held(cache, Key.INVERSE_TEMPERATURE, same=(data,), equal=(y, sample_weight),
                 options=(tol, max_iter))
    return None if found is None else found[0]


def _fit_inverse_temperature(rows, y, sample_weight, tol, max_iter):
    if rows.n_columns == 2 and rows.xp is None and not rows.is_remote:
        problem = _BinaryTemperatureProblem(rows.map_rows(_binary_difference), y, sample_weight)
        beta = 1.0
    else:
        beta = _warm_start(rows, y, sample_weight, max_iter)
        binary = rows.is_remote and rows.n_columns == 2
        problem = _TemperatureProblem(rows, y, sample_weight,
                                      _binary_temperature_block if binary else None)
    solve = _solve_remote_temperature if rows.is_remote else _solve_temperature
    beta, converged = solve(problem, beta, tol=tol, max_iter=max_iter)
    return beta, problem.n_passes, converged


