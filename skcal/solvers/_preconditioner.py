"""A change of variables that makes L-BFGS see a nearly round problem.

Vector scaling's NLL in ``(a, b)`` is badly scaled: a class the model rarely
predicts has almost no curvature, a frequent one a lot, and the direction that
scales every ``a_k`` together (the temperature) is much flatter than the
per-class curvatures suggest, because the logits of the likely classes move
together along it. L-BFGS, started with the identity as its Hessian guess,
spends most of its iterations learning these scales.

:class:`Preconditioner` works in ``x = S L^T theta``, where ``L`` is the
Cholesky factor of the Hessian's ``2 x 2`` block of each class (``a_k, b_k``)
and ``S`` corrects it along a few directions whose exact Hessian products are
known (a block BFGS update, which stays positive definite). At the starting
point the Hessian in ``x`` is then the identity on those directions and close
to it elsewhere, and L-BFGS converges in a few iterations. The minimiser is
unchanged: this only re-expresses the same function.
"""

import numpy as np


class Preconditioner:
    """The variables ``x = S L^T theta`` for ``theta = (a, b)`` of ``k`` classes each.

    Parameters
    ----------
    haa, hab, hbb : ndarray of shape (k,)
        The Hessian's entries in ``(a_k, a_k)``, ``(a_k, b_k)`` and ``(b_k, b_k)``.
    directions : ndarray of shape (2k, r)
        Directions along which the exact Hessian product is known.
    hessian_directions : ndarray of shape (2k, r)
        The Hessian times each direction. A direction whose curvature is not
        clearly positive is left out.

    Examples
    --------
    For a quadratic ``theta^T H theta / 2`` whose Hessian has only the 2 x 2
    blocks, the Hessian in ``x`` is the identity:

    >>> import numpy as np
    >>> haa, hab, hbb = np.array([4.0, 9.0, 1.0]), np.array([0.5, 0.5, 0.0]), np.array([2.0, 3.0, 1.0])
    >>> H = np.diag(np.r_[haa, hbb]) + np.diag(hab, 3) + np.diag(hab, -3)
    >>> ones = np.ones((6, 1))
    >>> pre = Preconditioner(haa, hab, hbb, ones, H @ ones)
    >>> J = np.column_stack([pre.to_params(e) for e in np.eye(6)])  # d theta / d x
    >>> bool(np.allclose(J.T @ H @ J, np.eye(6)))
    True

    Coupled along the all-ones direction, it is still 1 along that direction:

    >>> H = H + 0.3 * ones @ ones.T
    >>> pre = Preconditioner(haa, hab, hbb, ones, H @ ones)
    >>> J = np.column_stack([pre.to_params(e) for e in np.eye(6)])
    >>> e = pre.to_x(ones[:, 0])
    >>> round(float(e @ J.T @ H @ J @ e / (e @ e)), 12)
    1.0
    """

    def __init__(self, haa, hab, hbb, directions, hessian_directions):
        floor = 1e-12 * max(float(np.max(haa)), float(np.max(hbb)), 1e-300)
        self.k = haa.shape[0]
        self.l11 = np.sqrt(np.maximum(haa, floor))
        self.l21 = hab / self.l11
        self.l22 = np.sqrt(np.maximum(hbb - self.l21**2, floor))
        self.basis = np.zeros((2 * self.k, 0))
        self.root_minus_one = np.zeros(0)
        U = np.column_stack([self._lower_transpose(v) for v in directions.T])
        curvature = np.einsum("ij,ij->j", directions, hessian_directions)
        keep = curvature > 1e-9 * np.einsum("ij,ij->j", U, U)  # against v^T L L^T v
        if keep.any():
            self._low_rank_update(directions[:, keep], U[:, keep], hessian_directions[:, keep])

    def _low_rank_update(self, V, U, HV):
        """``S`` with ``S^2 = I - U (U^T U)^{-1} U^T + G (V^T H V)^{-1} G^T``,
        ``U = L^T V`` and ``G = L^{-1} H V``: in ``x``, the Hessian along the
        directions is exact and the block guess is kept orthogonally to them."""
        G = np.column_stack([self._lower_solve(hv) for hv in HV.T])
        vhv = V.T @ HV
        Q, _ = np.linalg.qr(np.column_stack([U, G]))
        A, B = Q.T @ U, Q.T @ G
        middle = B @ np.linalg.solve((vhv + vhv.T) / 2, B.T) - A @ np.linalg.solve(U.T @ U, A.T)
        eigenvalues, vectors = np.linalg.eigh((middle + middle.T) / 2)
        if not np.all(1 + eigenvalues > 1e-12):  # rounding broke positive definiteness
            return
        self.basis = Q @ vectors
        self.root_minus_one = np.sqrt(1 + eigenvalues) - 1

    # L^T, L^{-1} and L^{-T} of the 2 x 2 blocks
    def _lower_transpose(self, theta):
        k = self.k
        return np.concatenate([self.l11 * theta[:k] + self.l21 * theta[k:], self.l22 * theta[k:]])

    def _lower_solve(self, g):
        k = self.k
        ga = g[:k] / self.l11
        return np.concatenate([ga, (g[k:] - self.l21 * ga) / self.l22])

    def _lower_transpose_solve(self, x):
        k = self.k
        tb = x[k:] / self.l22
        return np.concatenate([(x[:k] - self.l21 * tb) / self.l11, tb])

    def _root(self, x, power):
        """``S x`` (power 1) or ``S^{-1} x`` (power -1)."""
        factor = self.root_minus_one if power == 1 else 1 / (1 + self.root_minus_one) - 1
        return x + self.basis @ (factor * (self.basis.T @ x))

    def to_x(self, theta):
        """The variables L-BFGS works in, for parameters ``theta``."""
        return self._root(self._lower_transpose(theta), 1)

    def to_params(self, x):
        """The parameters ``theta`` at ``x``."""
        return self._lower_transpose_solve(self._root(x, -1))

    def gradient(self, grad_theta):
        """The gradient in ``x`` from the gradient in ``theta``."""
        return self._root(self._lower_solve(grad_theta), -1)
