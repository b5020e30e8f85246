"""A block's softmax, its NLL and its residual, computed in place: the pieces
vector and matrix scaling (and matrix scaling's class blocks) share.

Each works on one row block of logits, written over a scratch array, so that a
pass keeps no temporary larger than a block; sums across rows are float64.
"""

import numpy as np

from ..rows._blocks import Rows, weighted_sum
from ..rows._row_reductions import row_max, row_sums


def as_rows(Z):
    """``Z`` as :class:`~skcal.rows._blocks.Rows` (an array in memory is wrapped, not copied)."""
    return Z if isinstance(Z, Rows) else Rows(Z)


# exp of values within +-this neither overflows nor underflows: a row's sum of
# them stays a normal float64 for any number of classes
_UNSHIFTED_LOGITS = 600.0


def exp_below_max(logits, y, spread=0.0):
    """``exp(logits - shift)``, written over ``logits`` (a scratch array), and
    each row's true-class logit less the shift.

    The shift is each row's maximum, unless the logits are float64 and every
    value of the block is within ``+-_UNSHIFTED_LOGITS`` with ``spread`` to
    spare below (the range of factors, at most 1, the caller multiplies the
    exponentials by): then it is 0, which saves a row maximum and a
    subtraction (the shift only guards against overflow; the logits' own
    rounding is the same either way).
    """
    if logits.dtype == np.float64 and (-_UNSHIFTED_LOGITS + spread <= logits.min()
                                       and logits.max() <= _UNSHIFTED_LOGITS):
        true_shifted = logits[np.arange(logits.shape[0]), y]
        return np.exp(logits, out=logits), true_shifted
    top = row_max(logits)
    true_shifted = logits[np.arange(logits.shape[0]), y] - top
    logits -= top[:, None]
    return np.exp(logits, out=logits), true_shifted


def softmax_in_place(logits, y, w):
    """Weighted NLL of ``softmax(logits)`` for one block, and the probabilities,
    written over ``logits`` (a scratch array; the NLL is summed in float64)."""
    proba, true_shifted = exp_below_max(logits, y)
    total = row_sums(proba)
    proba /= total[:, None]
    loss = np.log(np.asarray(total, dtype=np.float64)) - true_shifted
    return weighted_sum(loss, w), proba


def residual_in_place(proba, y, w):
    """``w * (proba - onehot(y))``, the NLL's gradient in the logits, over ``proba``."""
    proba[np.arange(proba.shape[0]), y] -= 1.0
    if w is not None:
        proba *= w[:, None]
    return proba
