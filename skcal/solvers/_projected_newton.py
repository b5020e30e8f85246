"""Projected Newton for many small independent problems, all evaluated in one
pass over the data per iteration (Platt scaling's and beta calibration's
one-vs-rest maps)."""

import numpy as np


def _newton_steps(hess, grad):
    """``-H^-1 g`` for each problem; least squares where ``H`` is singular."""
    try:
        return -np.linalg.solve(hess, grad[..., None])[..., 0]
    except np.linalg.LinAlgError:
        steps = np.empty_like(grad)
        for k in range(grad.shape[0]):
            try:
                steps[k] = -np.linalg.solve(hess[k], grad[k])
            except np.linalg.LinAlgError:
                steps[k] = -np.linalg.lstsq(hess[k], grad[k], rcond=None)[0]
        return steps


def projected_newton(evaluate, start, lower, n_total, *, tol, max_iter, start_evaluation=None):
    """Minimise independent smooth convex problems, each over a few parameters
    bounded below, all in one pass of ``evaluate`` per iteration.

    ``evaluate(params, which) -> (loss, grad, hess)`` gives, for params of shape
    (n_problems, d), the summed loss, gradient and Hessian of the problems
    ``which`` (an index array), so that each pass computes only the problems
    still searching (the others' columns are not read); ``start_evaluation``
    is its result at ``start`` when the caller has it already (no pass is
    then made there). Newton's method with the exact Hessian; a parameter at
    its bound whose gradient pushes it outward is held there (projected
    Newton); a step that does not lower a problem's loss enough is halved. A
    problem stops when its Newton decrement (the predicted loss reduction per
    unit weight) is below ``tol``, or takes its last step without a pass
    after it when the decrement's quadratic convergence predicts the next one
    below ``tol / 10``: the previous full step took the decrement from ``d0``
    to ``d1 <= sqrt(tol)``, so the next is about ``d1^3 / d0^2`` (``d1 = C
    d0^2``, ``d2 = C d1^2``). That saves the pass that would only confirm
    convergence (never before a full step has been taken: a start close to
    the optimum tells nothing of the rate); the parameters are those the pass
    would have accepted.

    Returns
    -------
    params : ndarray of shape (n_problems, d)
    n_iter : ndarray of int
    converged : ndarray of bool
    """
    params = np.maximum(np.array(start, dtype=np.float64), lower)
    n_problems, d = params.shape
    if start_evaluation is None:
        start_evaluation = evaluate(params, np.arange(n_problems))
    loss, grad, hess = (np.array(value, dtype=np.float64) for value in start_evaluation)
    active = np.ones(n_problems, dtype=bool)
    converged = np.zeros(n_problems, dtype=bool)
    n_iter = np.zeros(n_problems, dtype=int)
    eye = np.eye(d)
    # each problem's decrement before its last step, if that step was a full one
    before_full_step = np.full(n_problems, np.inf)
    for iteration in range(1, max_iter + 1):
        n_iter[active] = iteration
        held = (params <= lower) & (grad > 0)
        free_grad = np.where(held, 0.0, grad)
        reduced = np.where(held[:, :, None] | held[:, None, :], eye, hess)
        step = np.zeros_like(params)
        step[active] = _newton_steps(reduced[active], free_grad[active])
        decrement = -np.einsum("ij,ij->i", free_grad, step) / n_total
        done = active & (~np.isfinite(decrement) | (decrement <= tol))
        converged[done] = np.isfinite(decrement[done])
        active &= ~done
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            # no full step yet (before_full_step is inf): nothing is predicted
            predicted = np.where(np.isfinite(before_full_step),
                                 decrement**3 / before_full_step**2, np.inf)
        last = (active & (decrement <= np.sqrt(tol)) & (decrement < before_full_step)
                & (predicted <= tol / 10))
        params[last] = np.maximum(params[last] + step[last], lower)
        converged[last] = True
        active &= ~last
        if not active.any():
            break
        searching = active.copy()
        scale = np.ones(n_problems)
        for halving in range(60):
            candidate = np.where(searching[:, None],
                                 np.maximum(params + scale[:, None] * step, lower), params)
            which = np.flatnonzero(searching)
            new_loss, new_grad, new_hess = evaluate(candidate, which)
            change = np.einsum("ij,ij->i", grad[which], candidate[which] - params[which])
            good = new_loss <= loss[which] + 1e-4 * change
            accepted = which[good]
            before_full_step[accepted] = decrement[accepted] if halving == 0 else np.inf
            params[accepted] = candidate[accepted]
            loss[accepted], grad[accepted], hess[accepted] = (
                new_loss[good], new_grad[good], new_hess[good]
            )
            searching[accepted] = False
            if not searching.any():
                break
            scale[searching] *= 0.5
        else:
            active &= ~searching  # no step lowered the loss: give up on those
    return params, n_iter, converged
