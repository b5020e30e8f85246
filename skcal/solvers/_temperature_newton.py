"""The safeguarded Newton iteration of temperature scaling on its inverse
temperature, and its step (which the cross-fit of every fold in shared passes
takes for each fold, see :mod:`skcal.solvers._fold_temperatures`)."""

import math


def safeguarded_newton(problem, beta, first, *, tol, max_iter):
    """Minimise the convex NLL(beta) from ``beta``; returns (beta, n_iter, converged).

    ``first`` is the evaluation at ``beta``, already made. Newton steps are kept
    inside the bracket that the sign of the gradient builds: a step leaving it
    is replaced by bisection (or expansion while no upper end is known). Stops
    when ``|d NLL / d log(beta)| = |beta * grad|`` is below ``tol`` or below the
    rounding level of the computed gradient (float32 sums over many classes are
    not exact to 1e-7), then takes the final Newton step.
    """
    bracket, evaluation = (0.0, math.inf), first
    for n_iter in range(1, max_iter + 1):
        done, beta, bracket = newton_step(beta, evaluation, bracket, tol)
        if done:
            return beta, n_iter, True
        evaluation = problem.evaluate(beta)
    return beta, max_iter, False


def newton_step(beta, evaluation, bracket, tol):
    """One step of :func:`safeguarded_newton` from ``beta`` and its evaluation:
    (whether it converged, the next beta, the bracket ``(low, high)``)."""
    low, high = bracket
    _, grad, hess, rounding = evaluation
    if grad < 0:
        low = beta
    else:
        high = beta
    newton = beta - grad / hess if hess > 0 else math.nan
    in_bracket = low < newton < high
    if abs(beta * grad) <= max(tol, beta * rounding):
        return True, (newton if in_bracket else beta), (low, high)
    if in_bracket:
        step_to = newton
    elif math.isfinite(high):
        step_to = 0.5 * (low + high)
    else:
        step_to = 4.0 * beta
    return abs(step_to - beta) <= 1e-13 * beta, step_to, (low, high)
