"""The change of variables the multinomial maps' L-BFGS works in: the same
function, re-expressed; the Hessians it is built from are the true ones."""

import itertools

import numpy as np
import pytest

from skcal.solvers._matrix_fit import (
    _DenseVariables,
    _RotatedVariables,
    _matrix_hessian_block,
    column_covariance,
    column_means,
    matrix_scaling_loss_grad,
)
from skcal.solvers._vector_fit import vector_scaling_loss_grad
from skcal.solvers._block_softmax import as_rows
from skcal.solvers._preconditioner import Preconditioner


def objective_rounding(value):
    """How far an evaluation of a mean NLL over a few thousand rows may move with
    the order of its sums (another CPU's BLAS kernels reorder them): 64 units in
    the last place of the value. A fit at the minimum may measure that much below
    the reference minimum, itself computed to the last bit on one machine only."""
    return 64 * np.finfo(np.float64).eps * abs(value)


def _problem(seed=0, n=400, k=4):
    rng = np.random.default_rng(seed)
    Z = rng.normal(scale=2.0, size=(n, k))
    y = rng.integers(0, k, size=n)
    w = rng.exponential(size=n)
    return Z, y, w


def _numeric_jacobian(gradient, x, step=1e-6):
    return np.column_stack([
        (gradient(x + step * e) - gradient(x - step * e)) / (2 * step) for e in np.eye(x.size)
    ])


def test_vector_scaling_curvature_is_the_hessian():
    Z, y, w = _problem()
    k = Z.shape[1]
    theta = np.r_[np.linspace(0.5, 1.5, k), np.linspace(-0.3, 0.3, k)]
    _, _, (haa, hab, hbb, along) = vector_scaling_loss_grad(theta, Z, y, w, w.sum(),
                                                            curvature=True)
    hessian = _numeric_jacobian(lambda t: vector_scaling_loss_grad(t, Z, y, w, w.sum())[1], theta)
    np.testing.assert_allclose(np.diag(hessian)[:k], haa, rtol=1e-6)
    np.testing.assert_allclose(np.diag(hessian, k), hab, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(np.diag(hessian)[k:], hbb, rtol=1e-6)
    np.testing.assert_allclose(hessian @ np.r_[np.ones(k), np.zeros(k)], along, rtol=1e-6,
                               atol=1e-9)


def test_vector_scaling_pass_with_and_without_curvature_agree():
    """The plain pass (unnormalised probabilities, products with the rows'
    weights) and the curvature pass (normalised) give the same loss and gradient."""
    Z, y, w = _problem(k=6)
    # offsets of modest spread (folded into the row sums) and of a spread beyond
    # exp's range (added to the logits first)
    for offsets, weight in itertools.product(
            (np.linspace(-0.3, 0.3, 6), np.linspace(-400.0, 400.0, 6)), (None, w)):
        theta = np.r_[np.linspace(0.5, 1.5, 6), offsets]
        n_total = Z.shape[0] if weight is None else weight.sum()
        plain = vector_scaling_loss_grad(theta, Z, y, weight, n_total)
        with_curvature = vector_scaling_loss_grad(theta, Z, y, weight, n_total, curvature=True)
        assert np.isfinite(plain[0])
        np.testing.assert_allclose(plain[0], with_curvature[0], rtol=1e-13)
        np.testing.assert_allclose(plain[1], with_curvature[1], rtol=1e-10, atol=1e-14)


def test_vector_scaling_pass_with_offsets_beyond_exp_range():
    """A row whose largest logit comes from a low offset and a large score, with
    offsets 800 apart: exp(-800) is 0 in float64, so the pass adds the offsets
    to the logits first (folded into the row sums, the first row's sum is 0)."""
    Z = np.array([[1000.0, -1000.0], [0.0, 1.0], [-3.0, 2.0]])
    y = np.array([0, 1, 0])
    theta = np.array([1.0, 1.0, 0.0, 800.0])  # a = (1, 1), b = (0, 800)
    logits = Z + theta[2:]
    expected = -np.mean(logits[np.arange(3), y] - np.logaddexp(logits[:, 0], logits[:, 1]))
    np.testing.assert_allclose(vector_scaling_loss_grad(theta, Z, y, None, 3.0)[0], expected,
                               rtol=1e-14)


def test_matrix_scaling_rotated_diagonal_is_the_hessians():
    """With a rotation ``V``, the pass also gives the Hessian's diagonal in each
    class's coefficients on the rotated scores ``(Z - center) @ V`` and its offset."""
    Z, y, w = _problem(k=3)
    k = Z.shape[1]
    center = column_means(Z, w)
    rng = np.random.default_rng(4)
    W, b = np.eye(k) + 0.1 * rng.normal(size=(k, k)), rng.normal(size=k)
    rotation = np.linalg.qr(rng.normal(size=(k, k)))[0]
    params = np.r_[W.ravel(), b]
    diagonal, own, along = matrix_scaling_loss_grad(params, Z, y, w, w.sum(), center,
                                                    rotation)[2:]
    hessian = _numeric_jacobian(
        lambda p: matrix_scaling_loss_grad(p, Z, y, w, w.sum(), center)[1], params)
    # coefficients u_c = V^T w_c: the Hessian in u is V^T H_cc V for each class
    for c in range(k):
        block = hessian[c * k : (c + 1) * k, c * k : (c + 1) * k]
        np.testing.assert_allclose(np.diag(rotation.T @ block @ rotation), diagonal[c, :k],
                                   rtol=1e-5)
        np.testing.assert_allclose(hessian[k * k + c, k * k + c], diagonal[c, k], rtol=1e-5)
        # each class's own pair (W_cc, b_c)
        own_entry = c * k + c
        np.testing.assert_allclose(hessian[own_entry, own_entry], own[c, 0], rtol=1e-5)
        np.testing.assert_allclose(hessian[own_entry, k * k + c], own[c, 1], rtol=1e-5)
    # along W's diagonal, b fixed
    direction = np.r_[np.diag(np.diag(W)).ravel(), np.zeros(k)]
    np.testing.assert_allclose(direction @ hessian @ direction, along, rtol=1e-5)


def test_matrix_scaling_dense_hessian_is_the_hessian():
    Z, y, w = _problem(k=3)
    k = Z.shape[1]
    center = column_means(Z, w)
    rng = np.random.default_rng(1)
    W, b = np.eye(k) + 0.1 * rng.normal(size=(k, k)), rng.normal(size=k)
    block = _matrix_hessian_block(Z, y, w, W, b, center) / w.sum()
    m = k + 1
    order = np.r_[[c * m + a for c in range(k) for a in range(k)], [c * m + k for c in range(k)]]
    params = np.r_[W.ravel(), b]
    hessian = _numeric_jacobian(
        lambda p: matrix_scaling_loss_grad(p, Z, y, w, w.sum(), center)[1], params)
    np.testing.assert_allclose(block[np.ix_(order, order)], hessian, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("kind", ["vector", "dense", "rotated"])
def test_variables_re_express_the_same_function(kind):
    """``to_params`` inverts ``to_x`` and ``gradient`` is the chain rule."""
    Z, y, w = _problem(k=3)
    k = Z.shape[1]
    rng = np.random.default_rng(2)
    if kind == "vector":
        size = 2 * k
        d = rng.uniform(0.5, 2.0, size=size)
        directions = np.r_[np.ones(k), np.zeros(k)][:, None]
        variables = Preconditioner(d[:k], 0.1 * d[:k], d[k:] + 1, directions,
                                   directions * 0.5 + 0.01)

        def loss_grad(t):
            return vector_scaling_loss_grad(t, Z, y, w, w.sum())
    else:
        size = k * (k + 1)
        center = column_means(Z, w)
        covariance = column_covariance(Z, w, center)
        if kind == "dense":
            hessian = _matrix_hessian_block(Z, y, w, np.eye(k), np.zeros(k), center) / w.sum()
            variables = _DenseVariables(hessian, k, np.full(size, 0.01))
        else:
            rotation = np.linalg.eigh(covariance)[1]
            own = np.column_stack([rng.uniform(0.1, 0.3, size=k), rng.uniform(-0.1, 0.1, size=k)])
            variables = _RotatedVariables(rotation, rng.uniform(0.1, 0.3, size=(k, k + 1)), own,
                                          0.5, diagonal_start=rng.uniform(0.5, 1.5, size=k),
                                          alpha=0.001, off_diagonal=0.01, intercept=0.02)

        def loss_grad(p):
            return matrix_scaling_loss_grad(p, Z, y, w, w.sum(), center)
    theta = rng.normal(size=size)
    x = variables.to_x(theta)
    np.testing.assert_allclose(variables.to_params(x), theta, rtol=1e-10, atol=1e-12)
    numeric = np.array([
        (loss_grad(variables.to_params(x + 1e-6 * e))[0]
         - loss_grad(variables.to_params(x - 1e-6 * e))[0]) / 2e-6 for e in np.eye(size)
    ])
    np.testing.assert_allclose(variables.gradient(loss_grad(theta)[1]), numeric, rtol=1e-5,
                               atol=1e-8)


def _rotated_start(seed=3, n=600, k=5):
    """Matrix scaling's rotated variables at a start ``W = diag(a0)``, with the
    exact Hessian of the penalised NLL there (parameters W row-major, then b)."""
    rng = np.random.default_rng(seed)
    Z = rng.normal(scale=3.0, size=(n, k))
    y = np.argmax(Z / 2 + rng.gumbel(size=Z.shape), axis=1)
    w = rng.exponential(size=n)
    a0, b0 = rng.uniform(0.4, 0.8, size=k), rng.normal(scale=0.3, size=k)
    center = column_means(Z, w)
    start = np.r_[np.diag(a0).ravel(), b0 + a0 * center]
    rotation = np.linalg.eigh(column_covariance(Z, w, center))[1]
    first = matrix_scaling_loss_grad(start, Z, y, w, w.sum(), center, rotation)
    m = k + 1
    order = np.r_[[c * m + a for c in range(k) for a in range(k)], [c * m + k for c in range(k)]]
    hessian = _matrix_hessian_block(Z, y, w, np.diag(a0), start[k * k:], center) / w.sum()
    return rotation, first[2:], a0, hessian[np.ix_(order, order)]


def _metric(variables, size):
    """``T^T T`` for ``x = T params``: the Hessian the variables take as the identity."""
    T = np.column_stack([variables.to_x(e) for e in np.eye(size)])
    return T.T @ T


def test_rotated_variables_are_exact_on_each_class_own_pair():
    """Without the stretch along the diagonal (no curvature given there), the
    variables' metric on each class's ``(W_kk, b_k)`` is the exact Hessian of
    the penalised NLL there, which the rotated diagonal alone is not."""
    rotation, (diagonal, own, _), a0, hessian = _rotated_start()
    k = rotation.shape[0]
    alpha, off_diagonal, intercept = 1e-3, 0.05, 0.02
    penalty = np.r_[np.where(~np.eye(k, dtype=bool).ravel(), 2 * off_diagonal, 2 * alpha),
                    np.full(k, 2 * intercept)]
    exact = hessian + np.diag(penalty)
    variables = _RotatedVariables(rotation, diagonal, own, 0.0, diagonal_start=a0, alpha=0.0,
                                  off_diagonal=off_diagonal, intercept=intercept)
    assert variables.stretch == 0.0
    # alpha = 0 here, so the exact pair has the NLL's curvature alone on W_kk
    exact[np.arange(k) * (k + 1), np.arange(k) * (k + 1)] -= 2 * alpha
    metric = _metric(variables, k * (k + 1))
    for c in range(k):
        pair = [c * k + c, k * k + c]
        np.testing.assert_allclose(metric[np.ix_(pair, pair)], exact[np.ix_(pair, pair)],
                                   rtol=1e-10)
    # the rotated diagonal alone: on W_kk, sum_j V_kj^2 (its diagonal_kj + penalty)
    guess = (rotation**2 * (diagonal[:, :k] + 2 * off_diagonal)).sum(axis=1)
    own_entries = np.arange(k) * (k + 1)
    assert np.all(np.abs(guess / exact[own_entries, own_entries] - 1) > 0.05)


def test_rotated_variables_are_exact_along_the_diagonal():
    """Stretched along ``W``'s diagonal at the start (the temperature), the
    variables' metric there is the exact curvature of the penalised NLL."""
    rotation, (diagonal, own, along), a0, hessian = _rotated_start()
    k = rotation.shape[0]
    alpha = 1e-3
    variables = _RotatedVariables(rotation, diagonal, own, along, diagonal_start=a0,
                                  alpha=alpha, off_diagonal=0.05, intercept=0.02)
    direction = np.r_[np.diag(a0).ravel(), np.zeros(k)]
    exact = direction @ hessian @ direction + 2 * alpha * a0 @ a0
    x = variables.to_x(direction)
    np.testing.assert_allclose(x @ x, exact, rtol=1e-10)


def _class_block_variables(monkeypatch, seed=4, n=500, k=5):
    """Matrix scaling's class-block variables at a point ``[W | b]`` (every row
    in each block, so that nothing is estimated), with the exact penalised
    Hessian there (parameters W row-major, then b) and the penalty."""
    from skcal.solvers import _class_blocks

    monkeypatch.setattr(_class_blocks, "BLOCK_ROW_FRACTION", 1.0)
    monkeypatch.setattr(_class_blocks, "OWN_ROW_STRIDE", 1)
    rng = np.random.default_rng(seed)
    Z = rng.normal(scale=3.0, size=(n, k))
    y = np.argmax(Z / 2 + rng.gumbel(size=Z.shape), axis=1)
    w = rng.exponential(size=n)
    center = column_means(Z, w)
    W, b = np.diag(rng.uniform(0.4, 0.8, size=k)) + 0.05 * rng.normal(size=(k, k)), \
        rng.normal(scale=0.3, size=k)
    params = np.r_[W.ravel(), b]
    penalty = np.r_[np.where(~np.eye(k, dtype=bool).ravel(), 0.1, 0.002), np.full(k, 0.04)]
    evaluation, pieces = _class_blocks.class_block_pass(as_rows(Z), y, w, params, center,
                                                        w.sum())
    m = k + 1
    order = np.r_[[c * m + a for c in range(k) for a in range(k)], [c * m + k for c in range(k)]]
    hessian = _matrix_hessian_block(Z, y, w, W, b, center) / w.sum()
    exact = hessian[np.ix_(order, order)] + np.diag(penalty)
    plain = matrix_scaling_loss_grad(params, Z, y, w, w.sum(), center)
    return _class_blocks.ClassBlockVariables(pieces, penalty), exact, evaluation, plain


def test_class_block_pass_evaluates_as_the_plain_pass(monkeypatch):
    _, _, evaluation, plain = _class_block_variables(monkeypatch)
    np.testing.assert_allclose(evaluation[0], plain[0], rtol=1e-12)
    np.testing.assert_allclose(evaluation[1], plain[1], rtol=1e-10, atol=1e-14)


def test_class_block_variables_are_exact_on_the_diagonal_scales_and_offsets(monkeypatch):
    """Their metric on the ``2K`` directions ``(W_kk, b_k)`` of all classes is
    the exact penalised Hessian there, the terms between classes included."""
    variables, exact, _, _ = _class_block_variables(monkeypatch)
    k = variables.k
    own = np.r_[np.arange(k) * (k + 1), k * k + np.arange(k)]
    metric = _metric(variables, k * (k + 1))
    np.testing.assert_allclose(metric[np.ix_(own, own)], exact[np.ix_(own, own)], rtol=1e-9,
                               atol=1e-12)
    assert np.abs(exact[0, k + 1]) > 1e-3  # classes 0 and 1 are coupled there


def test_class_block_variables_are_exact_on_each_class_block(monkeypatch):
    """Within class ``k``'s parameters ``[W_k, b_k]``, on the directions that the
    correction of the diagonal scales leaves alone, the metric is the exact
    block of the penalised Hessian."""
    variables, exact, _, _ = _class_block_variables(monkeypatch)
    k = variables.k
    metric = _metric(variables, k * (k + 1))
    for c in range(k):
        block = np.r_[c * k + np.arange(k), k * k + c]
        # class c's directions whose factored images are orthogonal to its plane
        images = variables.lower[c].T  # theta_c -> L_c^T theta_c
        free = np.linalg.svd(variables.plane[c].T @ images)[2][2:].T
        np.testing.assert_allclose(free.T @ metric[np.ix_(block, block)] @ free,
                                   free.T @ exact[np.ix_(block, block)] @ free,
                                   rtol=1e-9, atol=1e-12)


def test_class_block_variables_re_express_the_same_function(monkeypatch):
    variables, _, _, _ = _class_block_variables(monkeypatch, k=3)
    Z, y, w = _problem(k=3)
    center = column_means(Z, w)
    rng = np.random.default_rng(5)
    theta = rng.normal(size=12)
    x = variables.to_x(theta)
    np.testing.assert_allclose(variables.to_params(x), theta, rtol=1e-10, atol=1e-12)

    def loss(x):
        return matrix_scaling_loss_grad(variables.to_params(x), Z, y, w, w.sum(), center)[0]

    numeric = np.array([(loss(x + 1e-6 * e) - loss(x - 1e-6 * e)) / 2e-6 for e in np.eye(12)])
    gradient = matrix_scaling_loss_grad(theta, Z, y, w, w.sum(), center)[1]
    np.testing.assert_allclose(variables.gradient(gradient), numeric, rtol=1e-5, atol=1e-8)


def _counted_convex(n=20, seed=0):
    """A smooth convex objective whose Hessian is near the identity (the
    variables L-BFGS works in), and a counter of its evaluations."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    hessian = q @ np.diag(rng.uniform(0.5, 2.0, size=n)) @ q.T
    shift = rng.normal(size=n)
    calls = []

    def objective(x):
        calls.append(1)
        d = x - shift
        return (3.0 + 0.5 * d @ hessian @ d + 0.05 * np.sum(np.logaddexp(0, d) - np.log(2.0)),
                hessian @ d + 0.05 / (1.0 + np.exp(-d)))

    return objective, calls, np.zeros(n)


def test_lbfgs_stops_on_the_newton_decrement_without_the_confirming_pass():
    """With a margin, L-BFGS stops at the first iterate whose Newton decrement
    |g|^2 / 2, times the margin, is below ftol times the objective: it reports
    convergence, spends fewer evaluations, and is within that threshold of the
    minimum (found by a run to machine precision)."""
    from skcal.solvers._lbfgs import minimize_round

    objective, calls, x0 = _counted_convex()
    ftol = 1e-12
    plain_x, plain = minimize_round(objective, x0, tol=1e-30, max_iter=1000, ftol=ftol)
    plain_calls = len(calls)
    calls.clear()
    x, result = minimize_round(objective, x0, tol=1e-30, max_iter=1000, ftol=ftol,
                                decrement_margin=10.0)
    assert result.success and result.status == 0
    assert "NEWTON DECREMENT" in result.message
    assert len(calls) < plain_calls
    loss, grad = objective(x)
    assert 10.0 * 0.5 * grad @ grad <= ftol * loss
    _, precise = minimize_round(objective, plain_x, tol=1e-30, max_iter=1000, ftol=1e-16)
    assert loss - precise.fun <= ftol * loss
    assert plain.success


def test_lbfgs_with_a_margin_never_met_runs_as_without_one():
    from skcal.solvers._lbfgs import minimize_round

    objective, _, x0 = _counted_convex(seed=1)
    x, result = minimize_round(objective, x0, tol=1e-30, max_iter=1000, ftol=1e-12)
    x_margin, result_margin = minimize_round(objective, x0, tol=1e-30, max_iter=1000,
                                              ftol=1e-12, decrement_margin=1e300)
    np.testing.assert_array_equal(x, x_margin)
    assert result.nit == result_margin.nit and result.message == result_margin.message


def test_lbfgs_started_at_its_minimum_returns_it_without_an_iteration():
    """A start that meets the gradient test, or whose decrement is below the
    threshold, is returned as converged after one evaluation (L-BFGS-B's line
    search would fail there and report an abnormal stop)."""
    from skcal.solvers._lbfgs import minimize_round

    objective, calls, x0 = _counted_convex(seed=2)
    x_min, _ = minimize_round(objective, x0, tol=1e-30, max_iter=1000, ftol=1e-16)
    for options in ({"tol": 1e-6}, {"tol": 1e-30, "decrement_margin": 10.0}):
        calls.clear()
        x, result = minimize_round(objective, x_min, max_iter=1000, ftol=1e-12, **options)
        assert result.success and result.nit == 0 and len(calls) == 1
        np.testing.assert_array_equal(x, x_min)


def test_lbfgs_converges_from_a_start_near_its_minimum_far_from_zero():
    """Scaled by a gradient of 1e-6, a start 1000 from the origin is 1e9 units
    from it: counted from the start, the variables keep L-BFGS-B's line search
    working (it stopped abnormally, without a trial step, when they were not)."""
    from skcal.solvers._lbfgs import minimize_round

    target = np.full(10, 1000.0)

    def objective(x):
        return 0.16 + 0.5 * (x - target) @ (x - target), x - target

    x0 = target - 1e-6 / np.sqrt(10.0)
    x, result = minimize_round(objective, x0, tol=1e-12, max_iter=100, ftol=1e-15)
    assert result.success
    assert np.abs(x - target).max() < 1e-9


def test_float32_curvature_pass_agrees_with_the_exact_one():
    Z, y, w = _problem(n=700, k=5)
    k = Z.shape[1]
    theta = np.r_[np.linspace(0.5, 1.5, k), np.linspace(-0.3, 0.3, k)]
    for weight in (None, w):
        n_total = Z.shape[0] if weight is None else weight.sum()
        exact = vector_scaling_loss_grad(theta, Z, y, weight, n_total, curvature=True)
        rough = vector_scaling_loss_grad(theta, Z, y, weight, n_total, curvature=True,
                                         exact=False)
        assert rough[0] == pytest.approx(exact[0], rel=1e-6)
        np.testing.assert_allclose(rough[1], exact[1], rtol=1e-4, atol=1e-6)
        for rough_part, exact_part in zip(rough[2], exact[2]):
            assert rough_part.dtype == np.float64
            np.testing.assert_allclose(rough_part, exact_part, rtol=1e-4, atol=1e-6)
        assert not np.array_equal(rough[1], exact[1])  # it did compute in float32


def _counted_vector_passes(monkeypatch):
    """Counts of vector scaling's passes: curvature in float32, exact curvature, plain."""
    import skcal.solvers._vector_fit as vector_fit

    counts = {"float32": 0, "curvature": 0, "plain": 0}
    original = vector_fit.vector_scaling_loss_grad

    def counted(*args, curvature=False, exact=True, **kwargs):
        counts["plain" if not curvature else "curvature" if exact else "float32"] += 1
        return original(*args, curvature=curvature, exact=exact, **kwargs)

    monkeypatch.setattr(vector_fit, "vector_scaling_loss_grad", counted)
    return counts


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_vector_scaling_float32_start_stops_within_its_relative_decrease(monkeypatch, dtype):
    """On 2^18 values or more, Newton steps from float32 curvature passes start
    L-BFGS: fewer exact passes than from one exact step, and the same
    tolerance to the minimum (the fit run to machine precision)."""
    import skcal.solvers._vector_fit as vector_fit
    from skcal.solvers._temperature_fit import fit_inverse_temperature

    rng = np.random.default_rng(6)
    logits = (3.0 * rng.normal(size=(4000, 80))).astype(dtype)
    y = np.argmax(logits / 2 + rng.gumbel(size=logits.shape), axis=1)
    assert logits.size >= vector_fit._APPROXIMATE_MIN_VALUES
    beta = fit_inverse_temperature(logits, y)[0]
    start = np.r_[np.full(80, beta), np.zeros(80)]

    def penalised(a, b):
        params = np.r_[a, b]
        loss, _ = vector_scaling_loss_grad(params, logits, y, None, logits.shape[0])
        return loss + 0.5 * vector_fit.VECTOR_SCALING_ALPHA * (params - start) @ (params - start)

    options = {"a0": beta, "alpha": vector_fit.VECTOR_SCALING_ALPHA, "tol": 1e-8,
               "max_iter": 1000, "relative_decrease": vector_fit._VECTOR_RELATIVE_DECREASE}
    counts = _counted_vector_passes(monkeypatch)
    a, b, _, converged, *_ = vector_fit._fit_vector_scaling(logits, y, None, **options)
    approximate = dict(counts)
    assert converged and approximate["float32"] >= vector_fit._APPROXIMATE_PASSES
    monkeypatch.setattr(vector_fit, "_APPROXIMATE_MIN_VALUES", logits.size + 1)
    counts.update(dict.fromkeys(counts, 0))
    vector_fit._fit_vector_scaling(logits, y, None, **options)
    assert counts["float32"] == 0
    assert (approximate["curvature"] + approximate["plain"]
            < counts["curvature"] + counts["plain"])
    a_min, b_min, *_ = vector_fit._fit_vector_scaling(
        logits, y, None, **{**options, "tol": 1e-14, "relative_decrease": 1e-16})
    gap = penalised(a, b) - penalised(a_min, b_min)
    assert -objective_rounding(penalised(a_min, b_min)) <= gap
    assert gap <= options["relative_decrease"] * penalised(a_min, b_min)


@pytest.mark.parametrize("failing_from", [1, 2])
def test_vector_scaling_start_survives_float32_passes_that_are_not_finite(monkeypatch,
                                                                          failing_from):
    """A float32 pass that is not finite (logits beyond float32's range) ends
    the float32 steps: from the first pass on, the fit is the exact step's, as
    below the size threshold; from the second, L-BFGS starts where the steps
    had got to and still ends at the minimum."""
    import skcal.solvers._vector_fit as vector_fit

    rng = np.random.default_rng(7)
    logits = 3.0 * rng.normal(size=(3000, 90))
    y = np.argmax(logits / 2 + rng.gumbel(size=logits.shape), axis=1)
    options = {"a0": 0.5, "alpha": 1e-3, "tol": 1e-8, "max_iter": 1000,
               "relative_decrease": 1e-12}
    monkeypatch.setattr(vector_fit, "_APPROXIMATE_MIN_VALUES", logits.size + 1)
    expected = vector_fit._fit_vector_scaling(logits, y, None, **options)
    monkeypatch.setattr(vector_fit, "_APPROXIMATE_MIN_VALUES", 0)
    original = vector_fit.vector_scaling_loss_grad
    float32_passes = []

    def overflowing(*args, exact=True, **kwargs):
        result = original(*args, exact=exact, **kwargs)
        if exact:
            return result
        float32_passes.append(1)
        if len(float32_passes) < failing_from:
            return result
        return result[0], result[1], tuple(np.full_like(h, np.inf) for h in result[2])

    monkeypatch.setattr(vector_fit, "vector_scaling_loss_grad", overflowing)
    fitted = vector_fit._fit_vector_scaling(logits, y, None, **options)
    assert fitted[3]  # converged
    if failing_from == 1:
        np.testing.assert_array_equal(fitted[0], expected[0])
        np.testing.assert_array_equal(fitted[1], expected[1])
    else:
        assert len(float32_passes) == failing_from
        np.testing.assert_allclose(fitted[0], expected[0], rtol=1e-5, atol=1e-6)

        def loss(a, b):
            params = np.r_[a, b]
            start = np.r_[np.full(90, 0.5), np.zeros(90)]
            value, _ = vector_scaling_loss_grad(params, logits, y, None, logits.shape[0])
            return value + 0.5e-3 * (params - start) @ (params - start)

        assert abs(loss(*fitted[:2]) - loss(*expected[:2])) <= 1e-12 * loss(*expected[:2])


def test_vector_scaling_stops_within_its_relative_decrease_of_the_minimum():
    """The default fit (relative decrease 1e-12 and the decrement rule) ends
    within 1e-12 times the penalised NLL of the fit run to machine precision."""
    from skcal.solvers._temperature_fit import fit_inverse_temperature
    from skcal.solvers._vector_fit import VECTOR_SCALING_ALPHA, fit_vector_scaling

    rng = np.random.default_rng(4)
    logits = (3.0 * rng.normal(size=(3000, 40))).astype(np.float32)
    y = np.argmax(logits / 2 + rng.gumbel(size=logits.shape), axis=1)
    beta = fit_inverse_temperature(logits, y)[0]
    start = np.r_[np.full(40, beta), np.zeros(40)]

    def penalised(a, b):
        params = np.r_[a, b]
        loss, _ = vector_scaling_loss_grad(params, logits, y, None, logits.shape[0])
        return loss + 0.5 * VECTOR_SCALING_ALPHA * (params - start) @ (params - start)

    options = dict(a0=beta, alpha=VECTOR_SCALING_ALPHA, tol=1e-8, max_iter=1000)
    a, b, _, converged = fit_vector_scaling(logits, y, None, **options)
    a_min, b_min, _, _ = fit_vector_scaling(logits, y, None, relative_decrease=1e-16,
                                            **options)
    assert converged
    gap = penalised(a, b) - penalised(a_min, b_min)
    assert -objective_rounding(penalised(a_min, b_min)) <= gap <= 1e-12 * penalised(a_min, b_min)
