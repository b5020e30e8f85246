"""Numerical solver of vector scaling: the NLL of ``softmax(a * Z + b)``,
penalised toward temperature scaling, minimised by one Newton step and L-BFGS
in variables scaled by its Hessian.

Like the other solvers (:mod:`skcal._optimize`), it sums over row blocks
through :class:`~skcal._blocks.Rows`.
"""

import numpy as np

from . import _device_kernels as device
from ._blocks import column_sums, total_weight, weighted_sum
from ._optimize import (
    _evaluated_once,
    _exp_below_max,
    _minimize_round,
    _row_sums,
    _softmax_in_place,
    as_rows,
)
from ._preconditioner import Preconditioner
from ._reuse import plain_array, reused
from ._scratch import Scratch

# VectorScaling's default penalty, also the one matrix scaling starts from.
VECTOR_SCALING_ALPHA = 1e-3


def _vector_block(z, y, w, a, b, curvature=False, scratch=None):
    """Loss and gradient sums of one block at ``(a, b)``; with ``curvature``,
    also the sums behind the Hessian's blocks (see :func:`vector_scaling_loss_grad`),
    their temporaries in ``scratch`` (a :class:`~skcal._scratch.Scratch`)."""
    if not isinstance(z, np.ndarray):
        return device.vector_block(z, y, w, a, b, curvature)
    if curvature:
        return _vector_curvature_sums(z, y, w, a, b, scratch)
    return _vector_sums(z, y, w, a, b)


# the plain pass folds the offsets into the row sums while their spread is below
# this (so exp(b - max b) stays a normal float64); beyond, it adds them first
_OFFSET_SPREAD = 600.0


def _true_class_sums(z, y, w, k):
    """Per class: the weight, and the weighted sum of ``z``, of the rows labelled so."""
    true_z = np.asarray(z[np.arange(z.shape[0]), y], dtype=np.float64)
    return (np.bincount(y, weights=w, minlength=k),
            np.bincount(y, weights=true_z if w is None else w * true_z, minlength=k))


def _vector_sums(z, y, w, a, b):
    """Loss and gradient sums of one block at ``(a, b)``, in four passes over it.

    With ``e = exp(a z - max(a z))`` per row and ``B = exp(b - max b)``, the
    probabilities are ``e B / (e @ B)``; they are never formed: with
    ``r = w / (e @ B)``, the gradient's sums are ``B (r @ e)`` and
    ``B (r @ (e z))`` (matrix-vector products), less the same sums over the
    true classes. The shift ``max(a z) + max b`` is at least the row's largest
    calibrated logit, and at most ``max b - min b`` above it (or ``max b``
    alone, where the exponentials of ``a z`` cannot overflow, see
    :func:`_exp_below_max`); beyond ``_OFFSET_SPREAD`` the offsets are added to
    the logits instead (``B = 1``).
    """
    logits = z * a  # float64, as a is
    spread = b.max() - b.min()
    if spread > _OFFSET_SPREAD:
        logits += b
        e, true_shifted = _exp_below_max(logits, y)
        offsets, total = 1.0, _row_sums(e)
    else:
        offsets = np.exp(b - b.max())
        e, true_shifted = _exp_below_max(logits, y, spread)
        true_shifted += b[y] - b.max()
        total = e @ offsets
    loss = weighted_sum(np.log(total) - true_shifted, w)
    r = 1.0 / total if w is None else w / total
    true_weight, true_z = _true_class_sums(z, y, w, z.shape[1])
    grad_b = (r @ e) * offsets - true_weight
    e *= z
    grad_a = (r @ e) * offsets - true_z
    return loss, grad_a, grad_b


def _vector_curvature_sums(z, y, w, a, b, scratch):
    """:func:`_vector_sums` and the sums behind the Hessian: per class, the
    weighted sums of ``c z^2``, ``c z`` and ``c`` (``c = p (1 - p)``, the
    diagonal ``2 x 2`` blocks), and of ``p z (z - m)`` and ``p (z - m)`` with
    ``m = sum_j p_j z_j`` per row (the Hessian times the temperature direction).
    Its five block-sized temporaries are ``scratch``'s."""
    if z.dtype != np.float64:  # converted once, not in every product
        converted = scratch("z", z.shape)
        np.copyto(converted, z)
        z = converted
    calibrated = np.multiply(z, a, out=scratch("p", z.shape))
    calibrated += b
    loss, p = _softmax_in_place(calibrated, y, w)  # p is written over calibrated
    # every weighted column sum is one matrix-vector product (column_sums)
    spread = np.multiply(p, p, out=scratch("spread", z.shape))
    np.subtract(p, spread, out=spread)  # p (1 - p)
    spread_z = np.multiply(spread, z, out=scratch("spread z", z.shape))
    pz = np.multiply(p, z, out=scratch("p z", z.shape))
    row_mean = _row_sums(pz)  # m
    weighted_mean = row_mean if w is None else row_mean * w
    pz_sum, p_sum, mean_p = column_sums(pz, w), column_sums(p, w), weighted_mean @ p
    true_weight, true_z = _true_class_sums(z, y, w, z.shape[1])
    scratch = p  # p is no longer needed
    pzz_sum = column_sums(np.multiply(pz, z, out=scratch), w)
    spread_zz_sum = column_sums(np.multiply(spread_z, z, out=scratch), w)
    return (
        loss, pz_sum - true_z, p_sum - true_weight,
        spread_zz_sum, column_sums(spread_z, w), column_sums(spread, w),
        pzz_sum - weighted_mean @ pz, pz_sum - mean_p,
    )


def vector_scaling_loss_grad(params, Z, y, sample_weight, n_total, curvature=False):
    """Weighted mean NLL of ``softmax(a * Z + b)`` and its gradient in ``(a, b)``.

    With ``curvature``, also ``(haa, hab, hbb, h_temperature)``: the diagonal
    ``2 x 2`` block of the Hessian of each class and the Hessian times the
    temperature direction (every ``a_k`` up by 1).
    """
    rows = as_rows(Z)
    k = rows.n_columns
    a, b = params[:k], params[k:]
    scratch = Scratch() if curvature else None
    sums = rows.reduce(lambda z, y, w: _vector_block(z, y, w, a, b, curvature, scratch),
                       y, sample_weight)
    scale = 1.0 / n_total
    loss, gradient = sums[0] * scale, np.concatenate(sums[1:3]) * scale
    if not curvature:
        return loss, gradient
    haa, hab, hbb, along_a, along_b = (value * scale for value in sums[3:])
    return loss, gradient, (haa, hab, hbb, np.concatenate([along_a, along_b]))


# Vector scaling's L-BFGS stops when an iteration lowers the objective by less
# than this fraction of it. From the refreshed Hessian each iteration divides the
# distance to the minimum by 10 to 1000, so it stops within about 1e-13 of it
# (on 12 checked datasets the objective was within 2e-14 of the fit run to
# machine precision).
_VECTOR_RELATIVE_DECREASE = 1e-12
# It also stops where ten times the Newton decrement |g|^2 / 2 (in the Hessian's
# variables, about what the objective can still fall) is below that fraction,
# without the pass that would only confirm it: on the CIFAR outputs of
# shared/data and synthetic logits the objective still fell by 0.4 to 5.7 times
# the decrement (at most 2.5 times within 1e-9 of the minimum).
_DECREMENT_MARGIN = 10.0


def fit_vector_scaling(Z, y, sample_weight, *, a0, alpha, tol, max_iter,
                       relative_decrease=_VECTOR_RELATIVE_DECREASE):
    """:func:`_fit_vector_scaling`, returning (a, b, n_iter, converged).

    In a comparison, matrix scaling's start (the same fit to a smaller
    ``relative_decrease``) reuses vector scaling's fit when that one stopped
    where the smaller decrease stops too (on its gradient, or on a Newton
    decrement below the smaller decrease): the iterations until then are the
    same, and a smaller relative decrease would have stopped none of them
    earlier, so the result is too.
    """
    rows = as_rows(Z)
    data = plain_array(rows)

    def compute():
        return _fit_vector_scaling(rows, y, sample_weight, a0=a0, alpha=alpha, tol=tol,
                                   max_iter=max_iter, relative_decrease=relative_decrease)

    if data is None:
        return compute()[:4]

    def same_result(fit):
        *_, used_decrease, stops_from = fit
        return used_decrease == relative_decrease or (
            stops_from <= relative_decrease <= used_decrease)

    return reused("vector scaling", compute, same=(data,), equal=(y, sample_weight),
                  options=(a0, alpha, tol, max_iter), accept=same_result)[:4]


def _fit_vector_scaling(Z, y, sample_weight, *, a0, alpha, tol, max_iter, relative_decrease):
    """L-BFGS fit of ``softmax(a * Z + b)``, started at ``a = a0``, ``b = 0``.

    ``alpha`` adds ``alpha / 2 * (||a - a0||^2 + ||b||^2)`` to the mean NLL.
    L-BFGS works in the variables of a :class:`~skcal._preconditioner.Preconditioner`
    built from the Hessian at the start (the first pass computes it beside the
    loss), which cuts its iterations several times. ``tol`` bounds the
    gradient in those variables, whose squared norm is about twice the
    distance of the NLL to its minimum; it also stops when an iteration lowers
    the objective by less than ``relative_decrease`` times it, or where its
    Newton decrement says it would (:data:`_DECREMENT_MARGIN`). Returns
    (a, b, n_iter, converged, relative_decrease, stops_from): a fit to any
    relative decrease from ``stops_from`` to this one's stops where this one did.
    """
    rows = as_rows(Z)
    k = rows.n_columns
    n_total = total_weight(rows.n_rows, sample_weight)
    start = np.concatenate([np.full(k, a0), np.zeros(k)])

    def penalised(params, loss, grad):
        diff = params - start
        return loss + 0.5 * alpha * diff @ diff, grad + alpha * diff

    def curvature_at(params):
        """The loss and gradient at ``params`` and the variables of its Hessian."""
        loss, grad, (haa, hab, hbb, along_temperature) = vector_scaling_loss_grad(
            params, rows, y, sample_weight, n_total, curvature=True)
        directions = np.zeros((2 * k, 2))
        directions[:k, 0] = 1.0  # the temperature: every scale together
        directions[k:, 1] = 1.0  # a common shift of the offsets: no change but the penalty
        along = np.column_stack([along_temperature, np.zeros(2 * k)]) + alpha * directions
        return (loss, grad), Preconditioner(haa + alpha, hab, hbb + alpha, directions, along)

    # One step of Newton's method with the start's approximate Hessian, then
    # L-BFGS in the variables of the Hessian where it lands (if it lowered the
    # objective): from the temperature start the Hessian changes much on the way.
    point, (evaluation, variables) = start, curvature_at(start)
    step_x = variables.to_x(start) - variables.gradient(penalised(start, *evaluation)[1])
    stepped = variables.to_params(step_x)
    stepped_evaluation, stepped_variables = curvature_at(stepped)
    newton_steps = 0
    if penalised(stepped, *stepped_evaluation)[0] < penalised(start, *evaluation)[0]:
        point, evaluation, variables = stepped, stepped_evaluation, stepped_variables
        newton_steps = 1
    loss_grad = _evaluated_once(evaluation, lambda params: vector_scaling_loss_grad(
        params, rows, y, sample_weight, n_total))

    def objective(x):
        params = variables.to_params(x)
        loss, grad = penalised(params, *loss_grad(params))
        return loss, variables.gradient(grad)

    x, result = _minimize_round(objective, variables.to_x(point), tol=tol, max_iter=max_iter,
                                ftol=relative_decrease, decrement_margin=_DECREMENT_MARGIN)
    params = variables.to_params(x)
    a, b = params[:k], params[k:]
    b = b - b.mean()  # softmax is invariant to a common shift of b
    stopped_on_gradient = "PROJECTED GRADIENT" in str(result.message).upper().replace("_", " ")
    stops_from = 0.0 if stopped_on_gradient else result.decrement_ratio
    return (a, b, newton_steps + int(result.nit), bool(result.success), relative_decrease,
            stops_from)
