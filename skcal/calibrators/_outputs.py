"""The calibrated outputs' last steps, on numpy and on device arrays alike."""

import numpy as np
from scipy.special import log_softmax

from ..rows import _device_kernels as device
from ..rows._namespaces import is_device_array


def unflatten(values, leading):
    """Outputs of flattened ``(..., n_classes)`` scores, shaped back."""
    return values if leading is None else values.reshape(tuple(leading) + values.shape[1:])


def unchanged(values):
    """The log-probabilities themselves (``predict_log_proba``, ``predict``)."""
    return values


def exp_of(values):
    """``exp(values)`` in their own array library (``predict_proba``)."""
    return device.exp(values) if is_device_array(values) else np.exp(values)


def log_softmax_of(logits):
    """Row-wise log-softmax of a block of logits, in its own array library."""
    return device.log_softmax(logits) if is_device_array(logits) else log_softmax(logits, axis=1)
