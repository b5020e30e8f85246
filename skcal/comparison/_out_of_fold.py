"""Out-of-fold probabilities of a comparison, pooled in the input rows' order
when first read."""

from collections.abc import Mapping

import numpy as np


class OutOfFoldPredictions(Mapping):
    """Each method's out-of-fold probabilities, by method name.

    A read-only mapping: ``predictions[name]`` is an array of shape
    (n_samples, n_classes) in the order of the input rows, put together from
    the folds' held-out predictions the first time it is read (then kept). A
    comparison that is only ranked never pays for it (a copy of every
    method's probabilities, 8 x 8 MB at 10000 x 100 with the default
    methods).

    Parameters
    ----------
    n_samples : int
    folds : list of (ndarray, dict)
        Per fold: its held-out rows and each method's probabilities on them.

    Examples
    --------
    >>> import numpy as np
    >>> folds = [(np.array([1, 2]), {"a": np.array([[0.1, 0.9], [0.2, 0.8]])}),
    ...          (np.array([0]), {"a": np.array([[0.7, 0.3]])})]
    >>> predictions = OutOfFoldPredictions(3, folds)
    >>> list(predictions), predictions["a"]
    (['a'], array([[0.7, 0.3],
           [0.1, 0.9],
           [0.2, 0.8]]))
    """

    def __init__(self, n_samples, folds):
        self._n_samples = n_samples
        self._folds = folds
        self._names = list(folds[0][1]) if folds else []
        self._pooled = {}

    def __getitem__(self, name):
        if name not in self._pooled:
            if name not in self._names:
                raise KeyError(name)
            first = self._folds[0][1][name]
            pooled = np.empty((self._n_samples,) + first.shape[1:], dtype=first.dtype)
            for test, per_method in self._folds:
                pooled[test] = per_method[name]
            self._pooled[name] = pooled
        return self._pooled[name]

    def __iter__(self):
        return iter(self._names)

    def __len__(self):
        return len(self._names)

    def __repr__(self):
        return f"OutOfFoldPredictions(methods={self._names}, n_samples={self._n_samples})"
