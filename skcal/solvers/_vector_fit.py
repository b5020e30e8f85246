"""Numerical solver of vector scaling: the NLL of ``softmax(a * Z + b)``,
penalised toward temperature scaling, minimised by one Newton step and L-BFGS
in variables scaled by its Hessian.

Like the other solvers (:mod:`skcal.solvers._temperature_fit`), it sums over row blocks
through :class:`~skcal.rows._blocks.Rows`.
"""

import numpy as np

from ..rows import _device_kernels as device
from ..rows._blocks import column_sums, total_weight, weighted_sum
from ..rows._row_reductions import row_sums
from ._block_softmax import as_rows, exp_below_max, softmax_in_place
from ._lbfgs import decrement_ratio, evaluated_once, minimize_round
from ._preconditioner import Preconditioner
from ..utils._reuse import Key, plain_array, reused
from ..rows._scratch import Scratch

# VectorScaling's default penalty, also the one matrix scaling starts from.
VECTOR_SCALING_ALPHA = 1e-3


def _vector_block(z, y, w, a, b, curvature=False, scratch=None, exact=True):
    """Loss and gradient sums of one block at ``(a, b)``; with ``curvature``,
    also the sums behind the Hessian's blocks (see :func:`vector_scaling_loss_grad`),
    their temporaries in ``scratch`` (a :class:`~skcal.rows._scratch.Scratch`), computed
    in float32 unless ``exact``."""
    if not isinstance(z, np.ndarray):
        return device.vector_block(z, y, w, a, b, curvature)
    if curvature:
        return _vector_curvature_sums(z, y, w, a, b, scratch,
                                      np.float64 if exact else np.float32)
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
    :func:`exp_below_max`); beyond ``_OFFSET_SPREAD`` the offsets are added to
    the logits instead (``B = 1``).
    """
    logits = z * a  # float64, as a is
    spread = b.max() - b.min()
    if spread > _OFFSET_SPREAD:
        logits += b
        e, true_shifted = exp_below_max(logits, y)
        offsets, total = 1.0, row_sums(e)
    else:
        offsets = np.exp(b - b.max())
        e, true_shifted = exp_below_max(logits, y, spread)
        true_shifted += b[y] - b.max()
        total = e @ offsets
    loss = weighted_sum(np.log(total) - true_shifted, w)
    r = 1.0 / total if w is None else w / total
    true_weight, true_z = _true_class_sums(z, y, w, z.shape[1])
    grad_b = (r @ e) * offsets - true_weight
    e *= z
    grad_a = (r @ e) * offsets - true_z
    return loss, grad_a, grad_b


def _vector_curvature_sums(z, y, w, a, b, scratch, dtype=np.float64):
    """:func:`_vector_sums` and the sums behind the Hessian: per class, the
    weighted sums of ``c z^2``, ``c z`` and ``c`` (``c = p (1 - p)``, the
    diagonal ``2 x 2`` blocks), and of ``p z (z - m)`` and ``p (z - m)`` with
    ``m = sum_j p_j z_j`` per row (the Hessian times the temperature direction).
    The block is computed in ``dtype`` (float32 where the sums need a few
    digits only), its five block-sized temporaries are ``scratch``'s; the sums
    are returned in float64."""
    if z.dtype != dtype:  # converted once, not in every product
        converted = scratch("z", z.shape, dtype)
        np.copyto(converted, z)
        z = converted
    a, b = a.astype(dtype, copy=False), b.astype(dtype, copy=False)
    w_sums = None if w is None else w.astype(dtype, copy=False)
    calibrated = np.multiply(z, a, out=scratch("p", z.shape, dtype))
    calibrated += b
    loss, p = softmax_in_place(calibrated, y, w)  # p is written over calibrated
    # every weighted column sum is one matrix-vector product (column_sums)
    spread = np.multiply(p, p, out=scratch("spread", z.shape, dtype))
    np.subtract(p, spread, out=spread)  # p (1 - p)
    spread_z = np.multiply(spread, z, out=scratch("spread z", z.shape, dtype))
    pz = np.multiply(p, z, out=scratch("p z", z.shape, dtype))
    row_mean = row_sums(pz)  # m
    weighted_mean = row_mean if w is None else row_mean * w_sums

    def sums_of(values):  # weighted column sums, in float64
        return np.asarray(column_sums(values, w_sums), dtype=np.float64)

    pz_sum, p_sum = sums_of(pz), sums_of(p)
    mean_p = np.asarray(weighted_mean @ p, dtype=np.float64)
    mean_pz = np.asarray(weighted_mean @ pz, dtype=np.float64)
    true_weight, true_z = _true_class_sums(z, y, w, z.shape[1])
    scratch = p  # p is no longer needed
    pzz_sum = sums_of(np.multiply(pz, z, out=scratch))
    spread_zz_sum = sums_of(np.multiply(spread_z, z, out=scratch))
    return (
        loss, pz_sum - true_z, p_sum - true_weight,
        spread_zz_sum, sums_of(spread_z), sums_of(spread),
        pzz_sum - mean_pz, pz_sum - mean_p,
    )


def vector_scaling_loss_grad(params, Z, y, sample_weight, n_total, curvature=False,
                             exact=True):
    """Weighted mean NLL of ``softmax(a * Z + b)`` and its gradient in ``(a, b)``.

    With ``curvature``, also ``(haa, hab, hbb, h_temperature)``: the diagonal
    ``2 x 2`` block of the Hessian of each class and the Hessian times the
    temperature direction (every ``a_k`` up by 1). Unless ``exact``, a
    curvature pass computes in float32 (three times faster, float32 ``exp``):
    everything it returns is then good to about 1e-6, not to rounding.
    """
    rows = as_rows(Z)
    k = rows.n_columns
    a, b = params[:k], params[k:]
    scratch = Scratch() if curvature else None
    sums = rows.reduce(
        lambda z, y, w: _vector_block(z, y, w, a, b, curvature, scratch, exact),
        y, sample_weight)
    scale = 1.0 / n_total
    loss, gradient = sums[0] * scale, np.concatenate(sums[1:3]) * scale
    if not curvature:
        return loss, gradient
    haa, hab, hbb, along_a, along_b = (value * scale for value in sums[3:])
    return loss, gradient, (haa, hab, hbb, np.concatenate([along_a, along_b]))


# Vector scaling's L-BFGS stops when an iteration lowers the objective by less
# than this fraction of it. From the refreshed Hessian each iteration divides the
# distance to the minimum by 10 to 1000, so it stops within a fraction of this
# of it (on 14 checked datasets, the CIFAR outputs of shared/data in float32 and
# float64 and synthetic 10000 x 100 and 20000 x 1000 logits, the objective was
# within 5e-13 times itself, and 1e-12 nats, of the fit run to machine precision).
_VECTOR_RELATIVE_DECREASE = 1e-12
# It also stops where ten times the Newton decrement |g|^2 / 2 (in the Hessian's
# variables, about what the objective can still fall) is below that fraction,
# without the pass that would only confirm it: on the CIFAR outputs of
# shared/data and synthetic logits the objective still fell by 0.4 to 5.7 times
# the decrement (at most 2.5 times within 1e-9 of the minimum).
_DECREMENT_MARGIN = 10.0


def fit_vector_scaling(Z, y, sample_weight, *, a0, alpha, tol, max_iter,
                       relative_decrease=_VECTOR_RELATIVE_DECREASE, cache=None):
    """:func:`_fit_vector_scaling`, returning (a, b, n_iter, converged).

    In a comparison (``cache``), vector scaling and matrix scaling's start ask
    for the same fit, which is computed once. A fit to another
    ``relative_decrease`` reuses a cached one when that one stopped where the
    other decrease stops too (on its gradient, or on a Newton decrement below
    both): the iterations until then are the same, and the other decrease would
    have stopped none of them earlier, so the result is too.
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

    return reused(cache, Key.VECTOR_SCALING, compute, same=(data,), equal=(y, sample_weight),
                  options=(a0, alpha, tol, max_iter), accept=same_result)[:4]


# Vector scaling's start (_newton_start): Newton steps from curvature passes in
# float32, at least _APPROXIMATE_PASSES of them unless the objective stops
# falling, more (up to _MAX_APPROXIMATE_PASSES) while each step cuts the Newton
# decrement by _QUADRATIC_CUT or more (the diagonal blocks of the Hessian then
# describe it well: many weakly coupled classes) and it is above
# _APPROXIMATE_FLOOR times the objective (float32 sums resolve about 1e-8 of
# it). On 20000 x 1000 logits this is 4 float32 passes and 1 exact one, where
# one exact step took 2 exact curvature passes and 5 plain ones.
_APPROXIMATE_PASSES = 3
_MAX_APPROXIMATE_PASSES = 6
_QUADRATIC_CUT = 0.01
_APPROXIMATE_FLOOR = 1e-8
# Below this many values a pass takes a few milliseconds and the float32 start
# saved no time (measured from 18000 to 500000 values): such inputs, and arrays
# on a device, take one exact Newton step, and fit the same on every path.
_APPROXIMATE_MIN_VALUES = 2**18


def _newton_start(start, curvature_at, exact_loss_grad, penalised, *, approximate):
    """Where L-BFGS starts, its first evaluation there, its variables, and the
    Newton steps taken to get there.

    From the temperature start the Hessian changes much on the way to the
    minimum, so L-BFGS starts after Newton steps, each with the approximate
    Hessian (:class:`~skcal.solvers._preconditioner.Preconditioner`) where it starts,
    and works in the variables of the last one. The steps need gradients to a
    few digits only: with ``approximate``, their curvature passes compute in
    float32, as many as the constants above say, and the loss and gradient
    L-BFGS starts from are exact. A float32 pass that is not finite (logits
    beyond float32's range), for which ``curvature_at`` returns no variables,
    ends the steps; at the start, the exact step is taken instead. Without
    ``approximate``, one step is taken from an exact curvature pass. Each step
    is kept only if it lowers the objective, ``penalised(params, (loss, grad))``.
    """
    def newton_step(params, evaluation, variables):
        x = variables.to_x(params) - variables.gradient(penalised(params, evaluation)[1])
        return variables.to_params(x)

    def objective(params, evaluation):
        return penalised(params, evaluation)[0]

    def decrement(params, evaluation, variables):
        loss, grad = penalised(params, evaluation)
        return decrement_ratio(1.0, loss, variables.gradient(grad))

    if approximate:
        evaluation, variables = curvature_at(start, exact=False)
        approximate = variables is not None
    if not approximate:
        evaluation, variables = curvature_at(start)
        stepped = newton_step(start, evaluation, variables)
        stepped_evaluation, stepped_variables = curvature_at(stepped)
        if objective(stepped, stepped_evaluation) < objective(start, evaluation):
            return stepped, stepped_evaluation, stepped_variables, 1
        return start, evaluation, variables, 0
    point, passes, steps, cut = start, 1, 0, 1.0
    last_decrement = decrement(point, evaluation, variables)
    while True:
        candidate = newton_step(point, evaluation, variables)
        if (passes >= _MAX_APPROXIMATE_PASSES or last_decrement <= _APPROXIMATE_FLOOR
                or (passes >= _APPROXIMATE_PASSES and cut > _QUADRATIC_CUT)):
            break
        candidate_evaluation, candidate_variables = curvature_at(candidate, exact=False)
        passes += 1
        if candidate_variables is None or not (
                objective(candidate, candidate_evaluation) < objective(point, evaluation)):
            return point, exact_loss_grad(point), variables, steps
        point, evaluation, variables = candidate, candidate_evaluation, candidate_variables
        steps += 1
        candidate_decrement = decrement(point, evaluation, variables)
        cut, last_decrement = candidate_decrement / last_decrement, candidate_decrement
    candidate_evaluation = exact_loss_grad(candidate)
    if objective(candidate, candidate_evaluation) < objective(point, evaluation):
        return candidate, candidate_evaluation, variables, steps + 1
    return point, exact_loss_grad(point), variables, steps


# L-BFGS works in the variables of the Hessian where it starts. Where that Hessian
# is far from the minimum's, it can take hundreds of iterations: on language-model
# vocabularies most classes are absent from the calibration rows or seen once, and
# their curvature grows by orders of magnitude as their scales and offsets move
# (benchmarks/bench_vector_vocabulary.py, 1000 x 32000: 417 iterations, 96 s). After
# _ROUND_ITERATIONS iterations without converging, the fit takes the Hessian where
# it stands (one exact curvature pass) and starts L-BFGS again from there (the same
# data: 41 iterations, 13 s, to an objective 1e-10 lower). Fits that converge
# within a round are unchanged: bit for bit on the outputs of shared/data and
# synthetic logits up to 20000 x 1000 (at most 13 iterations).
_ROUND_ITERATIONS = 20
_ITERATION_LIMIT = 1  # scipy's L-BFGS-B status when it ran max_iter iterations


def _lbfgs_round(point, evaluation, variables, penalised, exact_loss_grad, *, tol, max_iter,
                 relative_decrease):
    """One L-BFGS run from ``point`` (whose loss and gradient are ``evaluation``) in
    the :class:`~skcal.solvers._preconditioner.Preconditioner` ``variables``:
    the parameters where it stopped, and scipy's result."""
    loss_grad = evaluated_once(evaluation, exact_loss_grad)

    def objective(x):
        params = variables.to_params(x)
        loss, grad = penalised(params, *loss_grad(params))
        return loss, variables.gradient(grad)

    x, result = minimize_round(objective, variables.to_x(point), tol=tol, max_iter=max_iter,
                               ftol=relative_decrease, decrement_margin=_DECREMENT_MARGIN)
    return variables.to_params(x), result


def _fit_vector_scaling(Z, y, sample_weight, *, a0, alpha, tol, max_iter, relative_decrease):
    """L-BFGS fit of ``softmax(a * Z + b)``, started at ``a = a0``, ``b = 0``.

    ``alpha`` adds ``alpha / 2 * (||a - a0||^2 + ||b||^2)`` to the mean NLL.
    L-BFGS starts after the Newton steps of :func:`_newton_start` and works in
    the variables of a :class:`~skcal.solvers._preconditioner.Preconditioner` built
    from the Hessian where the last of them started (its curvature pass
    computes it beside the loss), which cuts its iterations several times; a
    run that has not converged after ``_ROUND_ITERATIONS`` iterations starts
    again in the variables of the Hessian where it stands (``max_iter`` counts
    the iterations of all runs). ``tol`` bounds the
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

    def curvature_at(params, exact=True):
        """The loss and gradient at ``params`` and the variables of its Hessian."""
        loss, grad, (haa, hab, hbb, along_temperature) = vector_scaling_loss_grad(
            params, rows, y, sample_weight, n_total, curvature=True, exact=exact)
        parts = (loss, grad, haa, hab, hbb, along_temperature)
        if not exact and not all(np.isfinite(part).all() for part in parts):
            return (loss, grad), None  # a float32 pass beyond float32's range
        directions = np.zeros((2 * k, 2))
        directions[:k, 0] = 1.0  # the temperature: every scale together
        directions[k:, 1] = 1.0  # a common shift of the offsets: no change but the penalty
        along = np.column_stack([along_temperature, np.zeros(2 * k)]) + alpha * directions
        return (loss, grad), Preconditioner(haa + alpha, hab, hbb + alpha, directions, along)

    def exact_loss_grad(params):
        return vector_scaling_loss_grad(params, rows, y, sample_weight, n_total)

    def penalised_at(params, evaluation):
        return penalised(params, *evaluation)

    approximate = rows.xp is None and rows.n_rows * k >= _APPROXIMATE_MIN_VALUES
    point, evaluation, variables, newton_steps = _newton_start(
        start, curvature_at, exact_loss_grad, penalised_at, approximate=approximate)
    n_iter, remaining = newton_steps, max_iter
    while True:
        point, result = _lbfgs_round(point, evaluation, variables, penalised, exact_loss_grad,
                                     tol=tol, max_iter=min(remaining, _ROUND_ITERATIONS),
                                     relative_decrease=relative_decrease)
        n_iter, remaining = n_iter + int(result.nit), remaining - int(result.nit)
        if result.status != _ITERATION_LIMIT or remaining <= 0:
            break
        evaluation, variables = curvature_at(point)  # the Hessian where it stands
    a, b = point[:k], point[k:]
    b = b - b.mean()  # softmax is invariant to a common shift of b
    stopped_on_gradient = "PROJECTED GRADIENT" in str(result.message).upper().replace("_", " ")
    stops_from = 0.0 if stopped_on_gradient else result.decrement_ratio
    return a, b, n_iter, bool(result.success), relative_decrease, stops_from
