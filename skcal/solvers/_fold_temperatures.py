"""Temperature scaling cross-fitted over folds, every fold's fit in the same passes
(for :func:`~skcal.compare_models` with ``calibrate='temperature'`` and the
refinement of :func:`~skcal.metrics.nll_decomposition`, on arrays, streamed
files and Spark tables).

Fold ``f``'s fit minimises the NLL of the rows outside it. A pass sums each
row's NLL terms (see :func:`~skcal.solvers._temperature_fit.row_terms`) by
fold; the rows outside ``f`` sum to the total less ``f``'s own. The first pass
evaluates five inverse temperatures within 10 % of a start fitted on a
subsample, and each fold takes the root of the polynomial that matches its
gradient and slope at all five (as a fit on rows held elsewhere does, see
:func:`~skcal.solvers._temperature_fit._solve_remote_temperature`); a fold
whose root does not meet the tolerance there takes Newton steps, every such
fold's step in one pass. Fitted one after another, five folds took three to
four passes each.
"""

import math

import numpy as np

from ._block_softmax import as_rows
from ._temperature_fit import (
    _REMOTE_FACTORS,
    _first_facts,
    _warm_start,
    root_of_five,
    row_terms,
)
from ._temperature_newton import newton_step


def _fold_sums(z, y, w, fold, n_folds, betas, with_facts):
    """Per fold, the sums of the rows' NLL terms at each of ``betas`` (an array
    of shape ``(len(betas), 4, n_folds)``), and with the first pass the facts
    of :func:`_first_facts` and the weight, per fold (shape ``(3, n_folds)``)."""
    fold = np.asarray(fold, dtype=np.intp)  # a remote table's vector arrives as floats
    shifted, true_shifted, terms = row_terms(z, y, betas)
    weights = np.ones(z.shape[0]) if w is None else w
    sums = np.array([[np.bincount(fold, weights=weights * values, minlength=n_folds)
                      for values in by_row] for by_row in terms])
    if not with_facts:
        return sums, np.zeros((3, n_folds))
    facts = []
    for f in range(n_folds):  # the facts need the fold's shifted rows (and z's shape)
        rows = fold == f
        facts.append(_first_facts(shifted[rows], None if w is None else w[rows],
                                  shifted[rows], true_shifted[rows]))
    return sums, np.vstack([np.array(facts).T,
                            np.bincount(fold, weights=weights, minlength=n_folds)])


class _FoldProblems:
    """The temperature problems of every fold's training rows, evaluated together
    (``fold``: each row's fold, an array or a remote table's vector)."""

    def __init__(self, rows, y, sample_weight, fold, n_folds):
        self.rows, self.y, self.w, self.fold, self.n_folds = rows, y, sample_weight, fold, n_folds
        eps = float(np.finfo(rows.dtype).eps)
        self.rounding = 4.0 * eps * math.log2(rows.n_columns + 1.0)
        self.n_passes = 0
        self.train_weight = self.gradient_at_zero = self.separated = None

    def evaluate(self, betas):
        """Each fold's (nll, gradient, hessian, rounding level) on its training
        rows at each of ``betas``: a list (per beta) of lists (per fold)."""
        first, n_folds = self.gradient_at_zero is None, self.n_folds
        sums, facts = self.rows.reduce(
            lambda z, y, w, fold: _fold_sums(z, y, w, fold, n_folds, betas, first),
            self.y, self.w, self.fold)
        self.n_passes += 1
        training = sums.sum(axis=2, keepdims=True) - sums  # the rows outside each fold
        if first:
            outside = facts.sum(axis=1, keepdims=True) - facts
            self.train_weight = outside[2]
            self.gradient_at_zero = outside[0] / self.train_weight
            self.separated = outside[1] == 0
        return [[(nll / t, grad / t, hess / t, self.rounding * spread / t)
                 for nll, grad, hess, spread, t in zip(*at_beta, self.train_weight)]
                for at_beta in training]


def cross_fitted_inverse_temperatures(Z, y, sample_weight, fold, *, n_folds=None, tol=1e-7,
                                      max_iter=100):
    """Each fold's inverse temperature, fitted on the rows of the other folds.

    Parameters
    ----------
    Z : ndarray or Rows of shape (n_samples, n_classes)
        Logits.
    y : ndarray of shape (n_samples,)
        Column index of each row's class.
    sample_weight : ndarray of shape (n_samples,) or None
    fold : ndarray of shape (n_samples,)
        Each row's fold, 0..k-1 (for rows in a remote table, its vector of
        them, with ``n_folds``).
    n_folds : int, default=None
        ``k``; None: the largest of ``fold`` plus one.
    tol, max_iter : as :func:`~skcal.solvers._temperature_fit.fit_inverse_temperature`

    Returns
    -------
    fits : list of (beta, n_passes, converged)
        Per fold, as ``fit_inverse_temperature`` returns its fit (``n_passes``
        counts the passes all folds shared).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> logits = rng.normal(size=(3000, 4))
    >>> y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    >>> fold = np.arange(3000) % 3
    >>> fits = cross_fitted_inverse_temperatures(2 * logits, y, None, fold)
    >>> from skcal.solvers._temperature_fit import fit_inverse_temperature
    >>> alone = [fit_inverse_temperature(2 * logits[fold != f], y[fold != f])
    ...          for f in range(3)]
    >>> bool(np.allclose([fit[0] for fit in fits], [fit[0] for fit in alone], rtol=1e-9))
    True
    >>> fits[0][1], sum(fit[1] for fit in alone)  # passes: shared, one after another
    (6, 18)
    """
    rows = as_rows(Z)
    if n_folds is None:
        fold = np.asarray(fold, dtype=np.intp)
        n_folds = int(fold.max()) + 1
    problems = _FoldProblems(rows, y, sample_weight, fold, n_folds)
    start = _warm_start(rows, y, sample_weight, max_iter)
    betas = start * _REMOTE_FACTORS
    by_beta = problems.evaluate(betas)
    results = [None] * n_folds
    unsettled = {}
    for f in range(n_folds):
        if not problems.gradient_at_zero[f] < 0:  # no information in the scores
            results[f] = (0.0, True)
            continue
        evaluations = [at_beta[f] for at_beta in by_beta]
        settled, point = root_of_five(betas, evaluations, tol)
        if settled:
            results[f] = (point[0], not problems.separated[f])
        else:
            unsettled[f] = point
    _newton_together(problems, unsettled, results, tol=tol, max_iter=max_iter)
    return [(float(beta), problems.n_passes, bool(converged)) for beta, converged in results]


def _newton_together(problems, unsettled, results, *, tol, max_iter):
    """Newton for each fold whose five points did not settle it, from its point
    (as :func:`~skcal.solvers._temperature_newton.safeguarded_newton`); every fold's next point in the same pass."""
    starts = {f: beta for f, (beta, evaluation) in unsettled.items() if evaluation is None}
    evaluated = _evaluate_each(problems, starts) if starts else {}
    active = {f: (beta, evaluation if evaluation is not None else evaluated[f],
                  (0.0, math.inf)) for f, (beta, evaluation) in unsettled.items()}
    for _ in range(max_iter):
        steps = {}
        for f, (beta, evaluation, bracket) in active.items():
            done, beta, bracket = newton_step(beta, evaluation, bracket, tol)
            if done:
                results[f] = (beta, not problems.separated[f])
            else:
                steps[f] = (beta, bracket)
        if not steps:
            return
        evaluated = _evaluate_each(problems, {f: beta for f, (beta, _) in steps.items()})
        active = {f: (beta, evaluated[f], bracket) for f, (beta, bracket) in steps.items()}
    for f, (beta, _, _) in active.items():
        results[f] = (beta, False)


def _evaluate_each(problems, betas_by_fold):
    """Each fold's evaluation at its own beta, in one pass."""
    folds = list(betas_by_fold)
    evaluations = problems.evaluate([betas_by_fold[f] for f in folds])
    return {f: evaluations[i][f] for i, f in enumerate(folds)}
