"""The L-BFGS driver of vector and matrix scaling: L-BFGS-B rounds in variables
where the Hessian is about the identity, stopped on the gradient, the relative
decrease or the Newton decrement."""

import numpy as np
from scipy.optimize import OptimizeResult, minimize


def evaluated_once(first, evaluate):
    """``evaluate(params)``, except that the first call returns ``first``: L-BFGS
    starts where the loss and gradient were already computed (with curvature)."""
    pending = [first]

    def loss_grad(params):
        return pending.pop() if pending else evaluate(params)

    return loss_grad


def decrement_ratio(margin, loss, grad):
    """``margin`` times the Newton decrement ``|grad|^2 / 2`` over ``max(|loss|, 1)``."""
    return margin * 0.5 * float(grad @ grad) / max(abs(float(loss)), 1.0)


def minimize_round(objective, x0, *, tol, max_iter, maxcor=10,
                    ftol=64 * np.finfo(float).eps, callback=None, decrement_margin=None):
    """L-BFGS-B on ``objective(x) -> (loss, gradient)`` in variables where the
    Hessian is about the identity, so that the Newton step is about ``-gradient``.

    L-BFGS-B's first trial step has unit length whatever the gradient's size
    (later ones come from its curvature pairs); here it would overshoot the
    minimum by ``1 / |gradient|`` and cost line-search evaluations. The
    variables are therefore divided by ``|gradient|`` at ``x0``, which makes
    that first step exactly ``-gradient``, and counted from ``x0`` (far from 0
    in those units, L-BFGS-B's line search fails from the start); ``tol``
    still bounds the largest gradient entry in ``x``, and an ``x0`` that meets
    it is returned without an iteration. L-BFGS also stops when an iteration
    lowers the objective by less than ``ftol`` times it (or than ``ftol`` nats,
    below 1).
    Given ``decrement_margin``, it also stops at an iterate, ``x0`` included,
    whose Newton decrement ``|gradient|^2 / 2`` (in these variables, about
    what the objective can still fall) times the margin is below that
    threshold: the iteration that would only confirm the stop is not run (at
    ``x0``, its line search would fail to lower the objective), and the result
    says it converged (an iterate that meets the gradient test stops on it,
    as without the margin). ``result.decrement_ratio`` is then the margin
    times the decrement over ``max(|objective|, 1)`` at the last iterate
    (inf if unknown): a run to any ``ftol`` from it up to this one's takes
    the same iterations and stops there too. ``callback()``, if given, runs
    after every iteration and may raise ``StopIteration`` to stop there
    (``result.status`` is then 99).
    Returns ``(x, result)``.
    """
    first = objective(x0)
    start_ratio = (np.inf if decrement_margin is None
                   else decrement_ratio(decrement_margin, first[0], first[1]))
    on_gradient = np.max(np.abs(first[1]), initial=0.0) <= tol
    if on_gradient or start_ratio <= ftol:
        # converged at x0 already (from a Newton start): no iteration is run, as
        # its line search could not lower the objective by a measurable amount
        return x0, OptimizeResult(
            x=x0, fun=first[0], jac=first[1], nit=0, nfev=1, status=0, success=True,
            message=("CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL" if on_gradient
                     else "CONVERGENCE: NEWTON DECREMENT BELOW FTOL"),
            decrement_ratio=start_ratio)
    scale = float(np.linalg.norm(first[1]))
    if not (np.isfinite(scale) and scale > 0):
        scale = 1.0
    evaluate = evaluated_once(first, objective)
    last = {}  # the latest evaluation: its point, in scaled variables, and gradient

    def scaled(u):
        loss, grad = evaluate(x0 + u * scale)
        last["u"], last["grad"] = u.copy(), grad
        return loss, grad * scale

    stopped_on_decrement, latest = [], {}

    def after_iteration(intermediate_result):
        if decrement_margin is not None:
            ratio = np.inf  # the decrement over the threshold's scale, if known here
            if np.array_equal(intermediate_result.x, last["u"]):
                ratio = decrement_ratio(decrement_margin, intermediate_result.fun, last["grad"])
            latest["u"], latest["ratio"] = intermediate_result.x.copy(), ratio
            # where the gradient test holds too, L-BFGS stops on it right after
            on_gradient = np.max(np.abs(last["grad"] * scale)) <= tol * scale
            if not on_gradient and ratio <= ftol:
                stopped_on_decrement.append(True)
                raise StopIteration
        if callback is not None:
            callback()

    result = minimize(scaled, np.zeros_like(x0), jac=True, method="L-BFGS-B",
                      options={"maxiter": max_iter, "gtol": tol * scale,
                               "ftol": ftol, "maxcor": maxcor},
                      callback=after_iteration)
    if stopped_on_decrement:
        result.status, result.success = 0, True
        result.message = "CONVERGENCE: NEWTON DECREMENT BELOW FTOL"
    at_last_iterate = "u" in latest and np.array_equal(latest["u"], result.x)
    result.decrement_ratio = latest["ratio"] if at_last_iterate else np.inf
    return x0 + result.x * scale, result
